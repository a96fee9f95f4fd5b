"""Read the raw tables of a dataset: a directory of CSV/Parquet files or a DuckDB file.

Readers do no validation beyond "can this be read at all, and where is each row in
the file"; they hand back each table untyped enough that every bad value can still be
reported as it was written. CSV is read as text; Parquet and DuckDB keep their native
column types, which the validator accepts when they already match the contract (the
fast path).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from pandas.api.types import union_categoricals

from .contract import CATEGORY, DATE, ENUM, SNAKE, TABLES, TABLES_BY_NAME
from .errors import DataContractError

TABLE_SUFFIXES = (".csv", ".parquet")
BATCH_ROWS = 131_072
ARROW_POOL = pa.system_memory_pool()
DUCKDB_SUFFIXES = (".duckdb", ".db")
QUOTE, COMMA, NEWLINE, CR = (ord(ch) for ch in '",\n\r')
SCAN_BLOCK = 1 << 24  # bytes of a CSV file examined at a time


@dataclass
class RawTable:
    name: str
    file: str  # what to call the source in messages: a path, or "file.duckdb:table"
    frame: pd.DataFrame  # one column per header name, one row per record after the header
    lines: np.ndarray | None = None  # CSV: physical line of each row (header = 1); else None: row numbers
    field_counts: np.ndarray | None = None  # CSV: fields each row has as written; 0 for a blank line
    extra_fields: dict[int, str] = field(default_factory=dict)  # CSV: fields past the header's width, by row

    def line_numbers(self, positions) -> np.ndarray:
        """Physical line (CSV) or row number (Parquet, DuckDB) of rows at `positions`."""
        positions = np.asarray(positions, dtype=np.int64)
        return self.lines[positions] if self.lines is not None else positions + 1


@dataclass
class RawDataset:
    tables: dict[str, RawTable]
    ignored: list[str]  # files (or DuckDB tables) that are not contract tables
    notes: list[str]  # plain sentences about how the input was read


def read_dataset(path: str | Path, skip: Collection[str] = ()) -> RawDataset:
    """Read every contract table found at `path`, except the tables named in `skip` (a
    directory's files only: their caller reads them in chunks, `parquet_chunks`)."""
    path = Path(path)
    if not path.exists():
        raise DataContractError(f"{path}: no such dataset (expected a directory or a .duckdb file)", file=str(path))
    if path.is_file():
        if path.suffix.lower() not in DUCKDB_SUFFIXES:
            raise DataContractError(
                f"{path}: unknown dataset format {path.suffix!r}; give a directory of "
                "CSV/Parquet tables or a DuckDB file (*.duckdb)",
                file=str(path),
            )
        return _read_duckdb(path)
    return _read_directory(path, skip)


def _list_directory(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except OSError as err:
        raise DataContractError(f"{directory}: cannot list the dataset directory: {err}", file=str(directory)) from err


def _read_directory(directory: Path, skip: Collection[str] = ()) -> RawDataset:
    ignored: list[str] = []
    candidates: dict[str, list[Path]] = {}
    for file in _list_directory(directory):
        stem = file.name.split(".")[0]
        if stem not in TABLES_BY_NAME:
            ignored.append(file.name)
            continue
        suffix = "".join(file.suffixes).lower()
        if suffix not in TABLE_SUFFIXES:
            raise DataContractError(
                f"{file}: unknown table format {suffix or '(none)'!r} for table {stem!r}; use NAME.csv or NAME.parquet",
                file=str(file),
            )
        if file.is_dir():
            raise DataContractError(f"{file}: is a directory, not a {suffix} file", file=str(file))
        candidates.setdefault(stem, []).append(file)
    tables: dict[str, RawTable] = {}
    notes: list[str] = []
    for name, files in candidates.items():
        if len(files) > 1:
            raise DataContractError(
                f"{directory}: table {name!r} is given twice ({', '.join(f.name for f in files)}); keep one",
                file=str(files[0]),
            )
        if name not in skip:
            tables[name] = _read_file(name, files[0], notes)
        elif files[0].suffix.lower() == ".parquet":  # its notes still come in the order of the files
            notes.extend(_time_zone_notes(name, str(files[0]), pq.read_schema(files[0]), "in that zone"))
    return RawDataset(tables, ignored, notes)


def _read_file(name: str, file: Path, notes: list[str]) -> RawTable:
    try:
        if file.suffix.lower() == ".csv":
            return _read_csv(name, file)
        return _read_parquet(name, file, notes)
    except DataContractError:
        raise
    except (
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        csv.Error,
        pa.ArrowException,
        OSError,
    ) as err:
        raise DataContractError(f"{file}: unreadable {file.suffix} file: {err}", file=str(file)) from err


def _column_names(file: str, names, where: str) -> list[str]:
    """Column names without surrounding whitespace; a name given twice is structural,
    since either copy could be the one meant."""
    stripped = [str(name).strip() for name in names]
    repeated = [name for name, count in Counter(stripped).items() if count > 1]
    if repeated:
        name = repeated[0]
        raise DataContractError(
            f"{file}: column {name!r} appears {stripped.count(name)} times in {where}; keep one",
            file=file,
            column=name,
        )
    return stripped


# --- CSV -------------------------------------------------------------------------


@dataclass
class _Layout:
    """Where each CSV record starts (physical line) and how many fields it has."""

    lines: np.ndarray
    fields: np.ndarray
    open_quote_line: int | None = None  # a quote that is never closed, if the scan saw one


def _read_csv(name: str, file: Path) -> RawTable:
    """Read every field as text, nothing guessed ("NA" stays "NA", empty stays ""), so
    the validator sees exactly what was written; keep each row's physical line, its
    field count, and blank lines, so that no row can vanish or be misplaced."""
    data = file.read_bytes()
    if not data:
        raise DataContractError(f"{file}: the file is empty; its first line must be the header", file=str(file))
    layout = _scan_records(data) or _scan_records_exactly(data)
    del data
    cells = _parse_cells(file, layout)
    fields = layout.fields.copy()
    fields[_whitespace_only(cells, fields)] = 0  # a line of spaces is a blank line too
    if not fields.any():
        raise DataContractError(f"{file}: the file is empty; its first line must be the header", file=str(file))
    if fields[0] == 0:
        raise DataContractError(f"{file}: line 1 is blank; the first line must be the header", file=str(file))
    width = int(fields[0])
    header = [value if value.strip() else f"Unnamed: {i}" for i, value in enumerate(cells.iloc[0, :width])]
    frame = cells.iloc[1:, :width].reset_index(drop=True)
    frame.columns = _column_names(str(file), header, "the header")
    return RawTable(
        name,
        str(file),
        frame,
        lines=layout.lines[1:],
        field_counts=fields[1:],
        extra_fields=_extra_fields(cells, fields, width),
    )


def _parse_cells(file: Path, layout: _Layout) -> pd.DataFrame:
    """Every record (header included) as text, padded with "" to the widest record."""
    try:
        cells = pd.read_csv(
            file,
            header=None,
            names=range(max(int(layout.fields.max()), 1)),
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,  # a blank line is a row, held in quarantine at its line
            encoding="utf-8",
        )
    except pd.errors.ParserError as err:
        if layout.open_quote_line is not None:
            raise DataContractError(
                f"{file}: unreadable .csv file: the quote opened on line {layout.open_quote_line} is never closed",
                file=str(file),
            ) from err
        raise
    if len(cells) != len(layout.lines):  # the scan and the parser disagree: no line could be trusted
        raise DataContractError(
            f"{file}: unreadable .csv file: irregular quoting; {len(cells)} records parsed but "
            f"{len(layout.lines)} found by line",
            file=str(file),
        )
    return cells


def _scan_records(data: bytes) -> _Layout | None:
    """Record lines and field counts from a vectorised scan of the bytes.

    A newline or comma ends a record or field unless an odd number of quotes comes
    before it (it is inside a quoted field). That parity rule holds only for regular
    quoting, so the scan gives up (None) on a quote inside an unquoted field or on a
    bare carriage return, and `_scan_records_exactly` takes over.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    quotes = _positions(buf, QUOTE)
    if not _quotes_are_regular(buf, quotes) or _has_bare_carriage_return(buf):
        return None
    newlines = _positions(buf, NEWLINE)
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    starts = np.concatenate(([0], ends + 1)).astype(np.int64)
    if starts[-1] == len(buf):  # nothing after the last newline
        starts = starts[:-1]
    stops = np.append(ends, len(buf))[: len(starts)]
    fields = _commas_outside_quotes(buf, quotes, starts) + 1
    length = stops - starts
    fields[(length == 0) | ((length == 1) & (buf[starts] == CR))] = 0
    open_quote = int(1 + np.searchsorted(newlines, quotes[-1])) if len(quotes) % 2 else None
    return _Layout(1 + np.searchsorted(newlines, starts), fields, open_quote)


def _quotes_are_regular(buf: np.ndarray, quotes: np.ndarray) -> bool:
    """Every opening quote starts a field and every closing quote ends one (a doubled
    quote "" inside a quoted field counts as a close and a reopen)."""
    boundary = (COMMA, NEWLINE, CR, QUOTE)
    opens, closes = quotes[0::2], quotes[1::2]
    opens_ok = (opens == 0) | np.isin(buf[np.maximum(opens - 1, 0)], boundary)
    closes_ok = (closes == len(buf) - 1) | np.isin(buf[np.minimum(closes + 1, len(buf) - 1)], boundary)
    return bool(opens_ok.all() and closes_ok.all())


def _positions(buf: np.ndarray, byte: int) -> np.ndarray:
    """Sorted positions of `byte`, found block by block so that no full-size temporary
    (a bool or int64 per byte of the file) is ever held."""
    dtype = np.int32 if len(buf) < 2**31 else np.int64
    found = [
        (np.flatnonzero(buf[lo : lo + SCAN_BLOCK] == byte) + lo).astype(dtype) for lo in range(0, len(buf), SCAN_BLOCK)
    ]
    return np.concatenate(found) if found else np.zeros(0, dtype=dtype)


def _has_bare_carriage_return(buf: np.ndarray) -> bool:
    returns = _positions(buf, CR)
    following = returns + 1
    return bool(((following >= len(buf)) | (buf[np.minimum(following, len(buf) - 1)] != NEWLINE)).any())


def _commas_outside_quotes(buf: np.ndarray, quotes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Delimiting commas in each record (those with an even number of quotes before
    them), counted block by block: a file's commas can outnumber its bytes / 8."""
    before = np.zeros(len(starts), dtype=np.int64)  # delimiting commas before each record's start
    for lo in range(0, len(buf), SCAN_BLOCK):
        hi = min(lo + SCAN_BLOCK, len(buf))
        commas = np.flatnonzero(buf[lo:hi] == COMMA) + lo
        if len(quotes):
            commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
        first, last = np.searchsorted(starts, [lo, hi])
        before[first:last] += np.searchsorted(commas, starts[first:last])
        before[last:] += len(commas)
    return np.diff(before, append=before[-1] + _commas_after(buf, quotes, starts[-1]))


def _commas_after(buf: np.ndarray, quotes: np.ndarray, start: int) -> int:
    commas = np.flatnonzero(buf[start:] == COMMA) + start
    return int((np.searchsorted(quotes, commas) % 2 == 0).sum()) if len(quotes) else len(commas)


def _scan_records_exactly(data: bytes) -> _Layout:
    """Record lines and field counts from Python's CSV parser, which reads quotes the
    way pandas does. One Python step per record: only for irregularly quoted files."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    lines, fields = [], []
    line = 0
    for record in reader:
        lines.append(line + 1)
        fields.append(len(record))
        line = reader.line_num
    return _Layout(np.asarray(lines, dtype=np.int64), np.asarray(fields, dtype=np.int64))


def _whitespace_only(cells: pd.DataFrame, fields: np.ndarray) -> np.ndarray:
    single = np.flatnonzero(fields == 1)
    if not len(single):
        return single
    return single[cells.iloc[single, 0].str.strip().eq("").to_numpy(dtype=bool)]


def _extra_fields(cells: pd.DataFrame, fields: np.ndarray, width: int) -> dict[int, str]:
    """The fields past the header's width, as written, for each row that has them."""
    long_rows = np.flatnonzero(fields[1:] > width)
    return {int(p): ",".join(cells.iloc[p + 1, width : fields[p + 1]]) for p in long_rows}


# --- Parquet ---------------------------------------------------------------------


def _low_cardinality(name: str) -> set[str]:
    return {c.name for c in TABLES_BY_NAME[name].columns if c.kind in (CATEGORY, ENUM, SNAKE)}


def _read_parquet(name: str, file: Path, notes: list[str]) -> RawTable:
    """Read and convert batch by batch, so peak memory stays near the final frame.

    Low-cardinality text columns are read straight from Parquet's dictionary pages
    as categoricals, with no hashing of a million strings. Arrow allocates from the
    system allocator here: its default pool keeps freed pages, which numpy cannot
    reuse, and would double the peak.
    """
    schema = pq.read_schema(file)
    names = _column_names(str(file), schema.names, "the schema")
    notes.extend(_time_zone_notes(name, str(file), schema, "in that zone"))
    dataset = _dictionary_dataset(name, file)
    parts = [
        _arrow_to_pandas(name, pa.Table.from_batches([batch]))
        for batch in dataset.to_batches(memory_pool=ARROW_POOL, batch_size=BATCH_ROWS)
        if batch.num_rows
    ]
    frame = _concat(parts) if parts else _arrow_to_pandas(name, dataset.schema.empty_table())
    frame.columns = names
    return RawTable(name, str(file), frame)


def parquet_rows(file: Path) -> int:
    """Rows of a Parquet file, from its footer (nothing else is read)."""
    return pq.ParquetFile(file).metadata.num_rows


def parquet_chunks(name: str, file: Path, chunk_rows: int) -> Iterator[RawTable]:
    """A Parquet table as consecutive raw tables of about `chunk_rows` rows each, read as
    `read_dataset` reads the whole file; each chunk's rows are numbered in the whole file."""
    try:
        schema = pq.read_schema(file)
        names = _column_names(str(file), schema.names, "the schema")
        # ParquetFile's batches, not a dataset scanner's: over a large file the scanner's memory
        # grows by about 12 MiB per million rows read.
        parquet = pq.ParquetFile(file, read_dictionary=_dictionary_columns(name, schema))
        pending: list[pa.RecordBatch] = []
        first_row = 0
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= chunk_rows:
                yield _chunk(name, file, names, pending, first_row)
                first_row += sum(b.num_rows for b in pending)
                pending = []
        if pending:
            yield _chunk(name, file, names, pending, first_row)
    except (pa.ArrowException, OSError) as err:
        raise DataContractError(f"{file}: unreadable .parquet file: {err}", file=str(file)) from err


def parquet_rows_at(name: str, file: Path, positions: np.ndarray) -> RawTable:
    """The rows of a Parquet table at `positions` (0-based, ascending), numbered in the whole file."""
    names = _column_names(str(file), pq.read_schema(file).names, "the schema")
    frame = _arrow_to_pandas(name, _dictionary_dataset(name, file).take(pa.array(positions, pa.int64())))
    frame.columns = names
    return RawTable(name, str(file), frame, lines=np.asarray(positions, dtype=np.int64) + 1)


def _chunk(name: str, file: Path, names: list[str], batches: list[pa.RecordBatch], first_row: int) -> RawTable:
    frame = _arrow_to_pandas(name, pa.Table.from_batches(batches))  # a chunk at once: faster than batch by batch
    frame.columns = names
    lines = np.arange(first_row + 1, first_row + len(frame) + 1, dtype=np.int64)  # row numbers, as for a whole file
    return RawTable(name, str(file), frame, lines=lines)


def _dictionary_columns(name: str, schema: pa.Schema) -> list[str]:
    """The file's low-cardinality text columns (named as in the file), read as dictionaries."""
    wanted = _low_cardinality(name)
    return [field.name for field in schema if field.name.strip() in wanted]


def _dictionary_dataset(name: str, file: Path) -> pads.Dataset:
    file_format = pads.ParquetFileFormat(
        read_options=pads.ParquetReadOptions(dictionary_columns=sorted(_low_cardinality(name)))
    )
    return pads.dataset(file, format=file_format)


def _time_zone_notes(name: str, source: str, schema: pa.Schema, zone_rule: str) -> list[str]:
    dates = {c.name for c in TABLES_BY_NAME[name].columns if c.kind == DATE}
    return [
        f"{source}: column {f.name} holds time-zone-aware timestamps ({f.type.tz}); "
        f"each value counts as its calendar date {zone_rule}"
        for f in schema
        if f.name.strip() in dates and pa.types.is_timestamp(f.type) and f.type.tz
    ]


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate frames column by column, keeping categoricals categorical.

    Each part's column is released as soon as it is copied into the result.
    """
    if len(parts) == 1:
        return parts[0]
    columns = {}
    for column in list(parts[0].columns):
        pieces = [part.pop(column) for part in parts]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in pieces):
            columns[column] = pd.Series(union_categoricals([_text_categories(p.array) for p in pieces]))
        else:
            columns[column] = pd.concat(pieces, ignore_index=True)
        del pieces
    return pd.DataFrame(columns, copy=False)


def _text_categories(values: pd.Categorical) -> pd.Categorical:
    """A batch whose text column is all missing has categories of no particular type; make them text,
    as every other batch's are, so that the batches can be joined."""
    if len(values.categories) or isinstance(values.categories.dtype, pd.StringDtype):
        return values
    return pd.Categorical.from_codes(values.codes, pd.Index([], dtype="str"))


# Integers become pandas' nullable integers, so that a column with a missing value does not turn
# into floats (2 shown as "2.0", an id 1 read as "1.0") in some batches or chunks and not in others.
_NULLABLE = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


def _arrow_to_pandas(name: str, table: pa.Table) -> pd.DataFrame:
    """Convert with low-cardinality strings dictionary-encoded (cheap categoricals)."""
    low_cardinality = _low_cardinality(name)
    columns = []
    for field_name, column in zip(table.column_names, table.columns, strict=False):
        is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if field_name.strip() in low_cardinality and is_text:
            column = column.dictionary_encode()
        columns.append(column)
    table = pa.table(columns, names=table.column_names)
    return table.to_pandas(
        date_as_object=False,
        ignore_metadata=True,
        split_blocks=True,
        self_destruct=True,
        memory_pool=ARROW_POOL,
        types_mapper=_NULLABLE.get,
    )


# --- DuckDB ----------------------------------------------------------------------


def _read_duckdb(file: Path) -> RawDataset:
    import duckdb

    try:
        con = duckdb.connect(str(file), read_only=True)
    except duckdb.Error as err:
        raise DataContractError(f"{file}: unreadable DuckDB file: {err}", file=str(file)) from err
    try:
        _show_instants_in_utc(con)
        found = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by table_schema, table_name"
        ).fetchall()
        chosen, notes = _choose_duckdb_tables(file, found)
        tables = {name: _read_duckdb_table(con, file, name, place, notes) for name, place in chosen.items()}
    except (duckdb.Error, pa.ArrowException) as err:
        raise DataContractError(f"{file}: unreadable DuckDB file: {err}", file=str(file)) from err
    finally:
        con.close()
    taken = set(chosen.values())
    ignored = [
        table if schema == "main" else f"{schema}.{table}" for schema, table in found if (schema, table) not in taken
    ]
    return RawDataset(tables, ignored, notes)


def _show_instants_in_utc(con) -> None:
    """TIMESTAMPTZ values are instants without their zone; fix the zone they are
    shown in, so that a date does not depend on the machine that loads the file."""
    import duckdb

    with contextlib.suppress(duckdb.Error):  # no time-zone support in this build: it shows instants in UTC anyway
        con.execute("SET TimeZone = 'UTC'")


def _choose_duckdb_tables(file: Path, found: list[tuple[str, str]]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Match contract tables ignoring letter case and schema; main.NAME wins outright.

    Identifiers in DuckDB are case-insensitive, so `Programs` is the programs table to
    anyone writing SQL against the file; the note says it was read that way.
    """
    chosen: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    for spec in TABLES:
        matches = [(schema, table) for schema, table in found if table.lower() == spec.name]
        if ("main", spec.name) in matches:
            chosen[spec.name] = ("main", spec.name)
        elif len(matches) == 1:
            chosen[spec.name] = matches[0]
            notes.append(f"{file}: table {'.'.join(matches[0])} is read as {spec.name}")
        elif matches:
            places = ", ".join(".".join(m) for m in matches)
            raise DataContractError(
                f"{file}: table {spec.name!r} is found more than once ({places}); keep one, "
                f"or name the one to use main.{spec.name}",
                file=str(file),
            )
    return chosen, notes


def _read_duckdb_table(con, file: Path, name: str, place: tuple[str, str], notes: list[str]) -> RawTable:
    quoted = ".".join('"' + part.replace('"', '""') + '"' for part in place)
    arrow = con.sql(f"select * from {quoted}").to_arrow_table()
    names = _column_names(f"{file}:{name}", arrow.column_names, "the table")
    notes.extend(
        _time_zone_notes(name, f"{file}:{name}", arrow.schema, "in UTC (DuckDB keeps no zone with a TIMESTAMPTZ)")
    )
    frame = _arrow_to_pandas(name, arrow)
    frame.columns = names
    return RawTable(name, f"{file}:{name}", frame)
