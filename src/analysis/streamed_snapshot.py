"""Validate a dataset straight into a snapshot, reading a large inspections file chunk by chunk.

`write(path, folder)` writes the same snapshot as ``snapshot.write(load(path), folder)``. When
the inspections are a Parquet file of more than `CHUNK_ROWS` rows, they are read, validated
and written a chunk at a time, so memory stays bounded whatever the file's size (a hundred
million rows validate in the memory one million take). Every promise of the contract holds
as in `load`:

- each chunk is validated by the same code as a whole table (`data.Validation.chunk`), its
  faulty rows quarantined with their row number in the whole file;
- an inspection_id given twice is found across chunks by DuckDB on the accepted rows: the
  first accepted occurrence stays, the later ones go to quarantine with the line of the first,
  as `load` does (their raw rows are read back from the file to show them as written);
- the row accounting reconciles: rows read = accepted + quarantined.

CSV and DuckDB inputs, and small Parquet files, go through `load` unchanged.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import contract as c
from . import snapshot
from .data import Dataset, Validation, load, require_tables
from .readers import parquet_chunks, parquet_rows, parquet_rows_at, read_dataset
from .validation import DateWindow

CHUNK_ROWS = 1_000_000
CHUNKED_TABLE = "inspections"
DUCKDB_MEMORY = "1GB"  # the repeated-key search spills to disk beyond this
FILTERED_COLUMNS = ("region_id", "inspection_date")  # the columns whose statistics let readers skip row groups


def write(path: str | Path, folder: str | Path, chunk_rows: int | None = None) -> Path:
    """Validate the dataset at `path` and write its snapshot at `folder` (kept if already complete);
    `chunk_rows` defaults to `CHUNK_ROWS`."""
    folder, chunk_rows = Path(folder), _chunk_rows(chunk_rows)
    if snapshot.reuse(folder):
        return folder
    large = large_inspections_file(Path(path), chunk_rows)
    if large is None:
        return snapshot.write(load(path), folder)
    stage = folder.with_name(f"{folder.name}.stage-{uuid.uuid4().hex[:6]}")
    (stage / "tables").mkdir(parents=True)
    try:
        return snapshot.write(_validate_in_chunks(Path(path), large, stage, chunk_rows), folder)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def validated(path: str | Path) -> Iterator[Dataset]:
    """The dataset at `path`, validated: by `load`, or, when its inspections are a large Parquet
    file, chunk by chunk into a temporary snapshot (removed on exit) whose inspections stay on disk."""
    if large_inspections_file(Path(path)) is None:
        yield load(path)
        return
    with tempfile.TemporaryDirectory(prefix="analysis-validated-") as folder:
        yield snapshot.read(write(path, Path(folder) / "snapshot"))


def large_inspections_file(path: Path, chunk_rows: int | None = None) -> Path | None:
    """The dataset's inspections Parquet file when it holds more than `chunk_rows` (default
    `CHUNK_ROWS`) rows; else None.

    Anything doubtful (no such file, two of them, an unreadable footer) is None: `load` then
    reads the dataset and reports the fault as it always does."""
    try:
        files = [f for f in path.iterdir() if f.name.split(".")[0] == CHUNKED_TABLE] if path.is_dir() else []
        if len(files) != 1 or "".join(files[0].suffixes).lower() != ".parquet" or not files[0].is_file():
            return None
        return files[0] if parquet_rows(files[0]) > _chunk_rows(chunk_rows) else None
    except (OSError, pa.ArrowException):
        return None


def _chunk_rows(chunk_rows: int | None) -> int:
    if chunk_rows is None:
        return CHUNK_ROWS
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows: expected a positive number of rows, got {chunk_rows}")
    return chunk_rows


def _validate_in_chunks(source: Path, inspections_file: Path, stage: Path, chunk_rows: int) -> Dataset:
    raw = read_dataset(source, skip={CHUNKED_TABLE})
    require_tables(source, {*raw.tables, CHUNKED_TABLE})
    files = {name: table.file for name, table in raw.tables.items()} | {CHUNKED_TABLE: str(inspections_file)}
    validation = Validation(DateWindow.default(), raw.notes)
    tables: dict[str, pd.DataFrame] = {}
    for spec in c.TABLES:
        if spec.name == CHUNKED_TABLE:
            staged = _ChunkWriter(spec, inspections_file, stage / "tables" / f"{spec.name}.parquet")
            staged.write(validation, chunk_rows)
            _quarantine_repeated_keys(spec, inspections_file, staged.target, validation)
        else:
            tables[spec.name] = validation.table(spec, raw.tables.pop(spec.name, None))
    names = [spec.name for spec in c.TABLES]
    on_disk = snapshot.SnapshotTables(
        stage, names, {CHUNKED_TABLE: staged.datetimes}, loaded=tables, categories={CHUNKED_TABLE: staged.categories}
    )
    in_file_order = dict(sorted(files.items(), key=lambda item: Path(item[1]).name))  # as `load` lists them
    return validation.dataset(source, on_disk, in_file_order, raw.ignored)


class _ChunkWriter:
    """Validates a table's file chunk by chunk and appends the accepted rows to one Parquet file.

    Every chunk is written with one schema: the contract's columns as typed, categorical ones as
    dictionaries of text; other columns as the file holds them (a chunk alone may not show their
    type, if all its values are missing). Each categorical column's categories are kept in the
    order they were met, also from chunks with no accepted row, for `snapshot` to restore.
    A thread writes each chunk while the next is validated (Parquet encoding releases the GIL);
    at most one chunk waits to be written."""

    def __init__(self, spec: c.Table, file: Path, target: Path):
        self.spec, self.file, self.target = spec, file, target
        self.datetimes: dict[str, str] = {}
        self.met: dict[str, dict[str, None]] = {}  # each categorical column's categories, in order met
        as_stored = {field.name.strip(): field.type for field in pq.read_schema(file)}
        self.outside_contract = {name: kind for name, kind in as_stored.items() if name not in spec.column_names}
        self.writer: pq.ParquetWriter | None = None

    @property
    def categories(self) -> dict[str, list[str]]:
        return {name: list(met) for name, met in self.met.items()}

    def write(self, validation: Validation, chunk_rows: int) -> None:
        with ThreadPoolExecutor(max_workers=1) as background:
            writing: Future | None = None
            try:
                for raw in parquet_chunks(self.spec.name, self.file, chunk_rows):
                    table = self._arrow(validation.chunk(self.spec, raw))
                    del raw
                    if writing is not None:
                        writing.result()
                    writing = background.submit(self._writer(table.schema).write_table, table)
                if writing is not None:
                    writing.result()
            finally:
                if writing is not None:
                    wait([writing])  # never close the file under a write still running
                if self.writer is not None:
                    self.writer.close()

    def _writer(self, schema: pa.Schema) -> pq.ParquetWriter:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.target, schema, write_statistics=list(FILTERED_COLUMNS))
        return self.writer

    def _arrow(self, accepted: pd.DataFrame) -> pa.Table:
        if not self.datetimes:
            self.datetimes = snapshot.datetime_units(accepted)
        for name, values in accepted.items():
            if isinstance(values.dtype, pd.CategoricalDtype) and snapshot.all_text(values.cat.categories):
                self.met.setdefault(str(name), {}).update(dict.fromkeys(values.cat.categories))
        table = pa.Table.from_pandas(accepted, preserve_index=False)
        metadata = (self.writer.schema if self.writer else table.schema).metadata  # a file has one schema
        return table.cast(pa.schema([self._stored_type(field) for field in table.schema], metadata=metadata))

    def _stored_type(self, field: pa.Field) -> pa.Field:
        if field.name in self.outside_contract:
            return field.with_type(self.outside_contract[field.name])
        if pa.types.is_dictionary(field.type):
            return field.with_type(pa.dictionary(pa.int32(), pa.large_string()))
        return field


def _quarantine_repeated_keys(spec: c.Table, file: Path, staged: Path, validation: Validation) -> None:
    """Move the later accepted occurrences of each repeated key to quarantine, as `load` does."""
    repeats = _repeated_key_rows(staged, spec.key)
    if not len(repeats):
        return
    quarantined = validation.quarantined_positions(spec.name)
    later = repeats[repeats[:, 0] != repeats[:, 1]]
    positions = _file_positions(later[:, 0], quarantined)
    first_lines = _file_positions(later[:, 1], quarantined) + 1
    validation.repeated_keys(spec, parquet_rows_at(spec.name, file, positions), first_lines.tolist())
    _drop_rows(staged, later[:, 0])


def _repeated_key_rows(staged: Path, key: tuple[str, ...]) -> np.ndarray:
    """(accepted row, first accepted row with its key) for every accepted row whose key repeats, by row."""
    import duckdb

    columns = ", ".join(f'"{name}"' for name in key)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'; SET preserve_insertion_order = false")
        con.execute("SET temp_directory = ?", [str(staged.parent / "duckdb-spill")])
        path = _keys_only(staged, key).as_posix().replace("'", "''")
        source = f"read_parquet('{path}', file_row_number = true)"
        any_repeat = f"SELECT 1 FROM {source} GROUP BY {columns} HAVING COUNT(*) > 1 LIMIT 1"
        if not con.execute(any_repeat).fetchall():
            return np.zeros((0, 2), dtype=np.int64)
        rows = con.execute(
            f"WITH repeated AS (SELECT {columns} FROM {source} GROUP BY {columns} HAVING COUNT(*) > 1) "
            f"SELECT file_row_number, MIN(file_row_number) OVER (PARTITION BY {columns}) "
            f"FROM {source} SEMI JOIN repeated USING ({columns}) ORDER BY 1"
        ).fetchnumpy()
    finally:
        con.close()
    return np.column_stack([np.asarray(v, dtype=np.int64) for v in rows.values()])


def _keys_only(staged: Path, key: tuple[str, ...]) -> Path:
    """The staged file, or, when a column of the data is called file_row_number (DuckDB's name for
    the row number it adds), a copy of just its key columns."""
    if "file_row_number" not in pq.read_schema(staged).names:
        return staged
    keys = staged.with_name(f"keys-{staged.name}")
    source = pq.ParquetFile(staged)
    with pq.ParquetWriter(keys, source.schema_arrow.empty_table().select(list(key)).schema) as writer:
        for batch in source.iter_batches(columns=list(key)):
            writer.write_batch(batch)
    return keys


def _file_positions(accepted_rows: np.ndarray, quarantined: np.ndarray) -> np.ndarray:
    """Positions in the file of accepted rows, given the sorted positions of the quarantined ones.

    Row a of the accepted rows is file position a + k, k being the number of quarantined rows
    before it; quarantined row i has i quarantined rows before it and position q_i, so it
    precedes accepted row a exactly when q_i - i <= a."""
    k = np.searchsorted(quarantined - np.arange(len(quarantined)), accepted_rows, side="right")
    return accepted_rows + k


def _drop_rows(staged: Path, rows: np.ndarray) -> None:
    """Rewrite the staged file without the rows at `rows` (a few repeated keys: rarely needed)."""
    kept = staged.with_name(f"kept-{staged.name}")
    source = pq.ParquetFile(staged)
    with pq.ParquetWriter(kept, source.schema_arrow) as writer:
        first = 0
        for batch in source.iter_batches():
            drop = rows[(rows >= first) & (rows < first + batch.num_rows)] - first
            keep = np.ones(batch.num_rows, dtype=bool)
            keep[drop] = False
            writer.write_table(pa.Table.from_batches([batch]).filter(pa.array(keep)))
            first += batch.num_rows
    kept.replace(staged)
