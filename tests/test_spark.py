"""Spark runs the engine's SQL and gets DuckDB's numbers: the metrics and the capture check's cells from a
snapshot, and the surprise study's cell statistics from Parquet (slow: a local Spark starts in seconds)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from test_engine import summaries
from variants import BASE_SCALE, BASE_SEED, VARIANTS_BY_NAME, base_world, write_variant

from analysis import compressed, engine, snapshot, surprise
from analysis.data import load

pytestmark = pytest.mark.slow
pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)

LOCAL = "local[2]"


@pytest.fixture(scope="module")
def snapshot_dataset(world_factory, tmp_path_factory):
    tables, truth = base_world(world_factory(seed=BASE_SEED, scale=BASE_SCALE))
    root = tmp_path_factory.mktemp("spark")
    dataset = load(write_variant(VARIANTS_BY_NAME["base"], tables, truth, root / "base"))
    return snapshot.read(snapshot.write(dataset, root / "snapshot"))


def assert_close(left: dict, right: dict) -> None:
    """Counts equal; sums of fines equal to rounding (Spark adds in another order)."""
    assert left.keys() == right.keys()
    for key, a in left.items():
        b = right[key]
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-12, obj=key)
        else:
            assert a == b, key


def test_spark_counts_what_duckdb_counts(snapshot_dataset, monkeypatch):
    provinces = sorted(snapshot_dataset.regions["province"].astype("str").unique())
    for scope in ([], provinces[:2]):
        dataset = snapshot_dataset.within(scope)
        monkeypatch.setenv(engine.ENGINE_ENV, "duckdb")
        by_duckdb = summaries(dataset)
        monkeypatch.setenv(engine.ENGINE_ENV, LOCAL)
        by_spark = summaries(dataset)
        assert_close(by_duckdb, by_spark)
        assert dataset.parquet_source("inspections") is not None  # Spark read the file, not memory


def test_spark_computes_the_surprise_studys_cell_statistics(snapshot_dataset, tmp_path):
    from analysis import spark

    table, _ = surprise.study_table(snapshot_dataset, last_period="2024Q4")
    rows = tmp_path / "study.parquet"
    table.to_parquet(rows, index=False)
    design = surprise.DEFAULT
    columns = list(dict.fromkeys([*design.covariates, *design.propensity_covariates]))
    outcomes = list(design.outcomes)
    by_duckdb = compressed.cell_statistics(
        str(rows), outcomes, "surprise", design.covariates,
        propensity_covariates=design.propensity_covariates, cluster=design.cluster,
    )  # fmt: skip
    sql = compressed.cell_sql(outcomes, "surprise", columns, design.cluster, quote="`")
    by_spark = spark.on_parquet(sql, {compressed.SOURCE_NAME: str(rows)}, LOCAL)
    by_spark = by_spark.drop(columns=[f"count_{y}" for y in outcomes])
    assert len(by_duckdb) > 1000  # thousands of cells: a real comparison
    keys = [*columns, "surprise", design.cluster]
    left, right = (frame.sort_values(keys).reset_index(drop=True) for frame in (by_duckdb, by_spark))
    pd.testing.assert_frame_equal(left[keys].astype("str"), right[keys].astype("str"))
    for column in [c for c in left.columns if c not in keys]:
        np.testing.assert_allclose(right[column].to_numpy(float), left[column].to_numpy(float), rtol=1e-12)


def test_spark_counts_the_surprise_studys_cells(snapshot_dataset, monkeypatch):
    """`surprise.study_cells` is SQL both engines run: a join to the programs table, dates compared."""
    provinces = sorted(snapshot_dataset.regions["province"].astype("str").unique())
    dataset = snapshot_dataset.within(provinces[:3])
    monkeypatch.setenv(engine.ENGINE_ENV, "duckdb")
    by_duckdb, notes_duckdb = surprise.study_cells(dataset, last_period="2023Q4")
    monkeypatch.setenv(engine.ENGINE_ENV, LOCAL)
    by_spark, notes_spark = surprise.study_cells(dataset, last_period="2023Q4")
    assert len(by_duckdb) > 1000 and by_duckdb["campaign_active"].nunique() == 2  # campaigns in force: a real test
    assert by_duckdb.attrs["left_out"] == by_spark.attrs["left_out"] and by_duckdb.attrs["left_out"]
    assert notes_duckdb == notes_spark
    keys = ["region_id", "risk_level", "industry", "enterprise_size", "surprise", "campaign_active"]
    left, right = (frame.sort_values(keys).reset_index(drop=True) for frame in (by_duckdb, by_spark))
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-12)
