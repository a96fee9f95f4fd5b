"""Read the raw tables of a dataset: a directory of CSV/Parquet files or a DuckDB file.

Readers do no validation beyond "can this be read at all"; they hand back each
table untyped enough that every bad value can still be reported as it was
written. CSV is read as text; Parquet and DuckDB keep their native column types,
which the validator accepts when they already match the contract (the fast path).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
from pandas.api.types import union_categoricals

from .contract import CATEGORY, ENUM, SNAKE, TABLES, TABLES_BY_NAME
from .errors import DataContractError

TABLE_SUFFIXES = (".csv", ".parquet")
BATCH_ROWS = 131_072
ARROW_POOL = pa.system_memory_pool()
DUCKDB_SUFFIXES = (".duckdb", ".db")


@dataclass
class RawTable:
    name: str
    file: str  # what to call the source in messages: a path, or "file.duckdb:table"
    frame: pd.DataFrame
    first_line: int  # line (CSV, header = line 1) or row number of the frame's first row


def read_dataset(path: str | Path) -> tuple[dict[str, RawTable], list[str]]:
    """Read every contract table found at `path`; return them and the ignored files."""
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
        return _read_duckdb(path), []
    return _read_directory(path)


def _read_directory(directory: Path) -> tuple[dict[str, RawTable], list[str]]:
    tables: dict[str, RawTable] = {}
    ignored: list[str] = []
    candidates: dict[str, list[Path]] = {}
    for file in sorted(directory.iterdir()):
        stem = file.name.split(".")[0]
        if stem not in TABLES_BY_NAME:
            ignored.append(file.name)
            continue
        suffix = "".join(file.suffixes).lower()
        if suffix not in TABLE_SUFFIXES:
            raise DataContractError(
                f"{file}: unknown table format {suffix or '(none)'!r} for table {stem!r}; "
                "use NAME.csv or NAME.parquet",
                file=str(file),
            )
        candidates.setdefault(stem, []).append(file)
    for name, files in candidates.items():
        if len(files) > 1:
            raise DataContractError(
                f"{directory}: table {name!r} is given twice ({', '.join(f.name for f in files)}); keep one",
                file=str(files[0]),
            )
        tables[name] = _read_file(name, files[0])
    return tables, ignored


def _read_file(name: str, file: Path) -> RawTable:
    try:
        if file.suffix.lower() == ".csv":
            return RawTable(name, str(file), _read_csv(file), first_line=2)
        return RawTable(name, str(file), _read_parquet(name, file), first_line=1)
    except DataContractError:
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, pa.ArrowException, OSError) as err:
        raise DataContractError(f"{file}: unreadable {file.suffix} file: {err}", file=str(file)) from err


def _read_csv(file: Path) -> pd.DataFrame:
    # Everything as text, nothing guessed: empty stays "", "NA" stays "NA",
    # so the validator sees exactly what was written.
    frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    frame.columns = [str(c).strip() for c in frame.columns]
    # A short row leaves missing trailing fields as NaN; treat them as empty.
    return frame.fillna("")


def _low_cardinality(name: str) -> set[str]:
    return {c.name for c in TABLES_BY_NAME[name].columns if c.kind in (CATEGORY, ENUM, SNAKE)}


def _read_parquet(name: str, file: Path) -> pd.DataFrame:
    """Read and convert batch by batch, so peak memory stays near the final frame.

    Low-cardinality text columns are read straight from Parquet's dictionary pages
    as categoricals, with no hashing of a million strings. Arrow allocates from the
    system allocator here: its default pool keeps freed pages, which numpy cannot
    reuse, and would double the peak.
    """
    file_format = pads.ParquetFileFormat(
        read_options=pads.ParquetReadOptions(dictionary_columns=sorted(_low_cardinality(name)))
    )
    dataset = pads.dataset(file, format=file_format)
    parts = [
        _arrow_to_pandas(name, pa.Table.from_batches([batch]))
        for batch in dataset.to_batches(memory_pool=ARROW_POOL, batch_size=BATCH_ROWS)
        if batch.num_rows
    ]
    return _concat(parts) if parts else _arrow_to_pandas(name, dataset.schema.empty_table())


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
            columns[column] = pd.Series(union_categoricals([p.array for p in pieces]))
        else:
            columns[column] = pd.concat(pieces, ignore_index=True)
        del pieces
    return pd.DataFrame(columns, copy=False)


def _arrow_to_pandas(name: str, table: pa.Table) -> pd.DataFrame:
    """Convert with low-cardinality strings dictionary-encoded (cheap categoricals)."""
    low_cardinality = _low_cardinality(name)
    columns = []
    for field_name, column in zip(table.column_names, table.columns):
        is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if field_name in low_cardinality and is_text:
            column = column.dictionary_encode()
        columns.append(column)
    table = pa.table(columns, names=table.column_names)
    return table.to_pandas(
        date_as_object=False, ignore_metadata=True, split_blocks=True, self_destruct=True, memory_pool=ARROW_POOL
    )


def _read_duckdb(file: Path) -> dict[str, RawTable]:
    import duckdb

    try:
        con = duckdb.connect(str(file), read_only=True)
    except duckdb.Error as err:
        raise DataContractError(f"{file}: unreadable DuckDB file: {err}", file=str(file)) from err
    try:
        present = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        tables = {}
        for spec in TABLES:
            if spec.name in present:
                arrow = con.sql(f'select * from "{spec.name}"').to_arrow_table()
                tables[spec.name] = RawTable(spec.name, f"{file}:{spec.name}", _arrow_to_pandas(spec.name, arrow), 1)
        return tables
    finally:
        con.close()
