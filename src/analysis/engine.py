"""Aggregations of a dataset's tables in SQL, run by DuckDB where the rows already are.

A dataset's table is either a data frame in memory (`load` validated the files) or, inside
a report build, a Parquet file of the validated snapshot that has not been read into memory
(`analysis.snapshot`). `query` binds each table the SQL names to whichever it is, restricted
to the dataset's scope, so a notebook can count tens of millions of inspections by region
and quarter without holding them: only the small result comes back.

The SQL kept here is plain (``COUNT``, ``SUM``, ``CASE``, ``CAST``, ``year()``,
``quarter()``, ``GROUP BY``), which Spark SQL also runs. DuckDB runs it on one thread:
sums of floating-point values then come out the same, to the last digit, at every run.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .data import Dataset

QUARTER_LABEL = "CAST(year({d}) AS VARCHAR) || 'Q' || CAST(quarter({d}) AS VARCHAR)"
PERIOD_LABEL = {
    "quarter": QUARTER_LABEL,
    "half": "CAST(year({d}) AS VARCHAR) || 'H' || CASE WHEN quarter({d}) <= 2 THEN '1' ELSE '2' END",
    "year": "CAST(year({d}) AS VARCHAR)",
}


def period_label(column: str, granularity: str) -> str:
    """SQL for the quarter ("2024Q4"), half-year ("2024H2") or year ("2024") of a date column."""
    return PERIOD_LABEL[granularity].format(d=column)


def quarter_ordinal(column: str) -> str:
    """SQL for quarters since 1970Q1 (pandas' quarterly ordinal) of a date column."""
    return f"((year({column}) - 1970) * 4 + quarter({column}) - 1)"


def literal(value: object) -> str:
    """A value as a SQL string literal: 'it''s'."""
    return "'" + str(value).replace("'", "''") + "'"


def text_list(values: Sequence[object]) -> str:
    """Values as a SQL list of string literals: ('a', 'b')."""
    return "(" + ", ".join(map(literal, values)) + ")"


def query(dataset: Dataset, sql: str, tables: Sequence[str] = ("inspections",)) -> pd.DataFrame:
    """Run `sql` with each name in `tables` bound to the dataset's accepted rows of that table.

    The rows are the dataset's as `Dataset.tables` gives them (within its scope), whether they
    are in memory or still in the snapshot's Parquet file; region columns come as text.
    """
    with _LOCK:  # the views' names are shared by every query of the process
        cursor = _connection().cursor()
        try:
            for name in tables:
                _bind(cursor, dataset, name)
            return cursor.sql(sql).df()
        finally:
            for name in tables:
                cursor.execute(f"DROP VIEW IF EXISTS {_quoted(name)}")
            cursor.close()


_LOCK = threading.Lock()


@functools.cache
def _connection():
    """The process's in-memory DuckDB database (connecting costs more than most queries here)."""
    import duckdb

    connection = duckdb.connect(config={"threads": 1})  # one thread: float sums in a fixed order
    with contextlib.suppress(duckdb.Error):  # in Jupyter, DuckDB refuses the setting (and draws no bar)
        connection.execute("SET enable_progress_bar = false")
    return connection


def has_values(dataset: Dataset, table: str, column: str) -> bool:
    """Whether `column` of `table` exists and has at least one value that is not missing."""
    source = dataset.parquet_source(table)
    if source is None:
        frame = dataset.tables[table]
        return column in frame.columns and bool(frame[column].notna().any())
    import pyarrow.parquet as pq

    if column not in pq.read_schema(source[0]).names:
        return False
    return bool(query(dataset, f"SELECT COUNT({_quoted(column)}) AS n FROM {table}", [table])["n"].iloc[0])


def _bind(connection, dataset: Dataset, name: str) -> None:
    source = dataset.parquet_source(name)
    if source is None:
        relation = connection.from_df(_periods_as_text(dataset.tables[name]))
    else:
        path, regions = source
        relation = connection.read_parquet(str(path))
        if regions is not None:
            kept = f"CAST(region_id AS VARCHAR) IN {text_list(sorted(regions))}" if regions else "FALSE"
            relation = relation.filter(kept)
    relation.project(_categories_as_text(relation)).create_view(name)


def _periods_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Quarter columns (pandas periods, which DuckDB does not read) as their labels: "2024Q4"."""
    periods = [c for c, dtype in frame.dtypes.items() if isinstance(dtype, pd.PeriodDtype)]
    if not periods:
        return frame
    return frame.assign(**{c: frame[c].astype("str").where(frame[c].notna(), None) for c in periods})


def _categories_as_text(relation) -> str:
    """Categorical columns (DuckDB ENUMs) as text, so both kinds of source give the same SQL types."""
    return ", ".join(
        f"CAST({q} AS VARCHAR) AS {q}" if str(t).startswith("ENUM") else q
        for q, t in zip(map(_quoted, relation.columns), relation.types, strict=True)
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
