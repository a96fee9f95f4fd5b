"""Apache Spark as the engine of `analysis.engine`: the same SQL, on a snapshot's Parquet files.

`analysis report --engine spark` (or ``local[N]``, a master URL such as
``spark://host:7077``, or a Spark Connect address ``sc://host:15002``) makes every kernel
count inspections through Spark instead of DuckDB. The table that is on disk is read by Spark
from its Parquet file (restricted to the report's scope); small tables in memory (regions)
are sent along. Needs pyspark (installed with the project's dev extras) and Java 17.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .engine import contract_columns
from .errors import ParameterError

if TYPE_CHECKING:
    from .data import Dataset


def query(dataset: Dataset, sql: str, tables: Sequence[str], spec: str) -> pd.DataFrame:
    """Run `sql` on Spark with each name in `tables` bound to the dataset's rows of that table."""
    from pyspark.sql import functions as F

    spark = session(spec)
    with _LOCK:  # the views' names are shared by every query of the session
        for name in tables:
            source = dataset.parquet_source(name)
            if source is None:
                frame = spark.createDataFrame(_as_arrow(contract_columns(name, dataset.tables[name])))
            else:
                path, regions = source
                frame = spark.read.parquet(_literal_path(path))
                if regions is not None:
                    frame = frame.filter(F.col("region_id").isin(sorted(regions)))
            frame.createOrReplaceTempView(name)
        return spark.sql(sql).toArrow().to_pandas()  # via Arrow: pyspark's pandas conversion predates pandas 3


def on_parquet(sql: str, files: dict[str, str], spec: str) -> pd.DataFrame:
    """Run `sql` on Spark with each name of `files` bound to that Parquet file (or folder, or glob).

    With `compressed.cell_sql(..., quote="`")` this computes a study's cell statistics on a cluster.
    """
    spark = session(spec)
    with _LOCK:
        for name, path in files.items():
            spark.read.parquet(str(path)).createOrReplaceTempView(name)
        return spark.sql(sql).toArrow().to_pandas()


_LOCK = threading.Lock()


def _literal_path(path) -> str:
    """A file path as Spark reads it literally (Spark takes [ ] { } * ? in paths as a glob)."""
    return re.sub(r"([\[\]{}*?\\])", r"\\\1", str(path))


@functools.cache
def session(spec: str):
    """The Spark session of `spec`, started once per process (a local Spark takes about 5 s to start)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise ParameterError(
            f"engine {spec!r} needs pyspark (pip install 'pyspark>=4,<5') and Java 17; use --engine duckdb without"
        ) from err
    builder = SparkSession.builder.appName("enforcement-reform-lab").config("spark.sql.session.timeZone", "UTC")
    if spec.startswith("sc://"):
        return builder.remote(spec).getOrCreate()
    master = "local[*]" if spec == "spark" else spec
    spark = (
        builder.master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # no progress bars in a notebook's output
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _as_arrow(frame: pd.DataFrame):
    """A small table for Spark: categories and quarters as text, via Arrow."""
    import pyarrow as pa

    from .engine import in_memory

    frame = in_memory(frame)
    categorical = [c for c, dtype in frame.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)]
    frame = frame.assign(**{c: frame[c].astype("str").where(frame[c].notna(), None) for c in categorical})
    return pa.Table.from_pandas(frame, preserve_index=False)
