"""Aggregations of a dataset's tables in SQL, run where the rows already are.

A dataset's table is either a data frame in memory (`load` validated the files) or, inside
a report build, a Parquet file of the validated snapshot that has not been read into memory
(`analysis.snapshot`). `query` binds each table the SQL names to whichever it is, restricted
to the dataset's scope, so a notebook can count tens of millions of inspections by region
and quarter without holding them: only the small result comes back.

Two engines run the same SQL:

- DuckDB, in this process (the default). It runs on one thread, so sums of floating-point
  values come out the same, to the last digit, at every run.
- Apache Spark, for snapshot tables on disk, when $ANALYSIS_ENGINE names it (`analysis
  report --engine`): ``spark`` or ``local[N]`` for a local Spark, ``spark://host:7077`` (or
  any master URL) for a cluster, ``sc://host:15002`` for Spark Connect. Small tables in
  memory (regions, staffing) are sent along; rows already in memory stay with DuckDB.

The SQL is therefore written in the dialect both share: ``COUNT``, ``SUM``, ``CASE``,
``CAST(... AS STRING | BIGINT | DOUBLE)``, ``year()``, ``quarter()``, ``||``, joins,
``GROUP BY`` and ``ORDER BY`` by position, plain identifiers, and string literals only for
text the suite makes (`literal` refuses quotes and backslashes, which the two engines escape
differently); text from data never enters the SQL.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .data import Dataset

ENGINE_ENV = "ANALYSIS_ENGINE"
DEFAULT_ENGINE = "duckdb"
_SAFE_TEXT = re.compile(r"^[^'\\]*$")

PERIOD_LABEL = {  # from a year {y} and a quarter of the year {q}
    "quarter": "CAST({y} AS STRING) || 'Q' || CAST({q} AS STRING)",
    "half": "CAST({y} AS STRING) || 'H' || CASE WHEN {q} <= 2 THEN '1' ELSE '2' END",
    "year": "CAST({y} AS STRING)",
}


def period_label(year: str, quarter: str, granularity: str) -> str:
    """SQL for the quarter ("2024Q4"), half-year ("2024H2") or year ("2024") of a year and a quarter of
    the year (1-4) already apart, as in `INSPECTION_CELLS`: labels made after aggregation, not per row."""
    return PERIOD_LABEL[granularity].format(y=year, q=quarter)


def quarter_ordinal(column: str) -> str:
    """SQL for quarters since 1970Q1 (pandas' quarterly ordinal) of a date column."""
    return f"((year({column}) - 1970) * 4 + quarter({column}) - 1)"


def count_where(condition: str) -> str:
    """SQL counting the rows of a group where `condition` holds (an integer; a NULL condition counts 0)."""
    return f"CAST(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS BIGINT)"


@dataclass(frozen=True)
class Summary:
    """A table derived from `base` by `sql`, grouped finely enough that every count the notebooks
    take from `base` follows from it by summing, and still keyed by region so a scope applies.

    A snapshot stores it beside its tables (`analysis.snapshot`), so a kernel sums thousands of
    cells instead of scanning millions of rows; elsewhere `query` derives it on the fly.
    """

    base: str
    sql: str


INSPECTION_CELLS = Summary(  # per region, industry and quarter: ~25,000 cells for 10M inspections
    "inspections",
    f"""SELECT region_id, industry, year(inspection_date) AS inspection_year,
          quarter(inspection_date) AS inspection_quarter,
          COUNT(*) AS inspections,
          {count_where("surprise")} AS surprise,
          {count_where("case_filed")} AS cases,
          {count_where("key_matter AND case_filed")} AS key_matter_cases,
          COUNT(key_matter) AS key_matter_known,
          SUM(CAST(penalty_amount AS DECIMAL(38, 6))) AS penalty_total,
          {count_where("double_penalty")} AS double_penalty_cases,
          CAST(SUM(major_hazards) AS BIGINT) AS major_hazards,
          {count_where("major_hazards > 0")} AS with_major,
          {count_where("major_hazards > 0 AND case_filed")} AS with_major_filed,
          {count_where("cross_region")} AS cross_region
        FROM inspections GROUP BY 1, 2, 3, 4""",
)  # fines summed as exact decimals (to a millionth of a yuan): the same total in any order, on either engine
SUMMARIES = {"inspection_cells": INSPECTION_CELLS}


def literal(value: object) -> str:
    """Text the suite made (a quarter label, say) as a SQL string literal: '2024Q4'."""
    text = str(value)
    if not _SAFE_TEXT.match(text):
        raise ValueError(f"{text!r}: a quote or backslash cannot go into SQL text that both engines read alike")
    return f"'{text}'"


def text_list(values: Sequence[object]) -> str:
    """Values as a SQL list of string literals: ('a', 'b')."""
    return "(" + ", ".join(map(literal, values)) + ")"


_ENGINES = re.compile(
    r"^(duckdb|spark|local(\[(\d+|\*)(,\d+)?\])?|local-cluster\[[\d, ]+\]|yarn|(spark|k8s|mesos|sc)://\S+)$"
)


def check_engine(spec: str) -> str:
    """`spec` if it names an engine, else ParameterError saying which are known."""
    from .errors import ParameterError

    spec = spec.strip()
    if not _ENGINES.match(spec):
        raise ParameterError(
            f"engine {spec!r}: expected duckdb, spark, local[N], a Spark master URL (spark://host:7077, yarn, "
            "k8s://...) or a Spark Connect address (sc://host:15002)"
        )
    return spec


def engine_name() -> str:
    """The engine $ANALYSIS_ENGINE names: "duckdb" (default), "spark", a master URL or an sc:// address."""
    if _IN_PROCESS.get():
        return DEFAULT_ENGINE
    return check_engine(os.environ.get(ENGINE_ENV, "").strip() or DEFAULT_ENGINE)


_IN_PROCESS: contextvars.ContextVar[bool] = contextvars.ContextVar("in_process", default=False)


@contextlib.contextmanager
def in_process() -> Iterator[None]:
    """Within it, queries run on DuckDB in this process whatever $ANALYSIS_ENGINE says (the report
    builder's few counts: Spark is for the notebooks' kernels)."""
    token = _IN_PROCESS.set(True)
    try:
        yield
    finally:
        _IN_PROCESS.reset(token)


def query(dataset: Dataset, sql: str, tables: Sequence[str] = ("inspections",)) -> pd.DataFrame:
    """Run `sql` with each name in `tables` bound to the dataset's accepted rows of that table.

    The rows are the dataset's as `Dataset.tables` gives them (within its scope), whether they
    are in memory or still in the snapshot's Parquet file; region columns come as text. Spark
    runs the query when $ANALYSIS_ENGINE names it and a table is on disk; DuckDB otherwise.
    A name in `SUMMARIES` reads the snapshot's stored summary, or is derived from its base table.
    """
    sql, tables = _deriving_summaries(dataset, sql, tables)
    on_disk = any(dataset.parquet_source(name) is not None for name in tables)
    if engine_name() != DEFAULT_ENGINE and on_disk:
        from . import spark

        return spark.query(dataset, sql, tables, engine_name())
    return _on_duckdb(dataset, sql, tables, lambda result: result.df())


def summary(dataset: Dataset, name: str):
    """The dataset's `SUMMARIES` table `name`, as an Arrow table (its decimal sums kept exact), computed by
    DuckDB: what a snapshot stores."""
    sql, tables = _deriving_summaries(dataset, f"SELECT * FROM {name}", [name])
    return _on_duckdb(dataset, sql, tables, lambda result: result.to_arrow_table())


def _on_duckdb(dataset: Dataset, sql: str, tables: Sequence[str], fetch):
    with _LOCK:  # the views' names are shared by every query of the process
        cursor = _connection().cursor()
        try:
            for name in tables:
                _bind(cursor, dataset, name)
            return fetch(cursor.sql(sql))
        finally:
            for name in [*tables, "scope_regions"]:
                cursor.execute(f"DROP VIEW IF EXISTS {name}")
            cursor.close()


_LOCK = threading.Lock()


def _deriving_summaries(dataset: Dataset, sql: str, tables: Sequence[str]) -> tuple[str, list[str]]:
    """`sql` and its tables, with each summary the snapshot does not store derived in a WITH clause."""
    derived = [name for name in tables if name in SUMMARIES and dataset.parquet_source(name) is None]
    if not derived:
        return sql, list(tables)
    bound = [name for name in tables if name not in derived]
    bound += [SUMMARIES[name].base for name in derived if SUMMARIES[name].base not in bound]
    clauses = ", ".join(f"{name} AS ({SUMMARIES[name].sql})" for name in derived)
    body = sql.strip()
    if body[:4].upper() == "WITH":
        return f"WITH {clauses}, {body[4:].lstrip()}", bound
    return f"WITH {clauses} {body}", bound


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
    return bool(query(dataset, f"SELECT COUNT({column}) AS n FROM {table}", [table])["n"].iloc[0])


def contract_columns(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns of the data contract: a column a user added (of any type) is not the SQL's."""
    from .contract import TABLES_BY_NAME

    known = set(TABLES_BY_NAME[name].column_names) if name in TABLES_BY_NAME else set(frame.columns)
    return frame[[column for column in frame.columns if column in known]]


def in_memory(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as both engines read it from memory: quarters (pandas periods) as their labels."""
    periods = [c for c, dtype in frame.dtypes.items() if isinstance(dtype, pd.PeriodDtype)]
    if not periods:
        return frame
    return frame.assign(**{c: frame[c].astype("str").where(frame[c].notna(), None) for c in periods})


def _bind(cursor, dataset: Dataset, name: str) -> None:
    source = dataset.parquet_source(name)
    if source is None:
        relation = cursor.from_df(in_memory(contract_columns(name, dataset.tables[name])))
    else:
        path, regions = source
        relation = cursor.read_parquet(str(path))
        if regions is not None:
            cursor.from_df(pd.DataFrame({"region_id": sorted(regions)}, dtype=object)).create_view("scope_regions")
            relation = relation.filter("CAST(region_id AS STRING) IN (SELECT region_id FROM scope_regions)")
    relation.project(_categories_as_text(relation)).create_view(name)


def _categories_as_text(relation) -> str:
    """Categorical columns (DuckDB ENUMs) as text, so both kinds of source give the same SQL types."""
    return ", ".join(
        f"CAST({q} AS STRING) AS {q}" if str(t).startswith("ENUM") else q
        for q, t in zip(map(_quoted, relation.columns), relation.types, strict=True)
    )


def _quoted(name: str) -> str:  # DuckDB's quoting, for names this module did not write
    return '"' + name.replace('"', '""') + '"'
