"""Counting in SQL where the rows lie (analysis.engine): the same numbers from rows in memory and from a
snapshot's Parquet file that is never read into memory, and the same as pandas counts them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from variants import BASE_SCALE, BASE_SEED, VARIANTS_BY_NAME, base_world, write_variant

from analysis import cross_region, engine, metrics, notice, quality, snapshot
from analysis.data import load
from analysis.errors import ParameterError
from analysis.scorecard import indicators

CASES = ("base", "no-optional-columns", "zero-inspection-quarters", "one-province", "tiny", "opaque-ids")
ALL_CASES = (*CASES, "odd-names")


@pytest.fixture(scope="module")
def datasets(world_factory, tmp_path_factory):
    """{variant: (dataset in memory, the same dataset from its snapshot, inspections not read)}."""
    tables, truth = base_world(world_factory(seed=BASE_SEED, scale=BASE_SCALE))
    root = tmp_path_factory.mktemp("engine")
    pairs = {}
    for name in CASES:
        dataset = load(write_variant(VARIANTS_BY_NAME[name], tables, truth, root / name))
        pairs[name] = dataset, snapshot.read(snapshot.write(dataset, root / f"{name}-snapshot"))
    # Names with a quote and a backslash reach the SQL engines only as data, never as SQL text.
    odd = {name: frame.copy() for name, frame in tables.items()}
    odd["regions"]["province"] = odd["regions"]["province"].astype("str").str.replace("a", "a'\\", n=1)
    for name in ("regions", "inspections", "staffing", "programs", "accidents"):
        for column in ("region_id", "parent_id", "inspecting_region_id"):
            if column in odd[name].columns:
                odd[name][column] = odd[name][column].astype("str").where(odd[name][column].notna()) + "'"
    dataset = load(write_variant(VARIANTS_BY_NAME["base"], odd, truth, root / "odd-names"))
    assert dataset.quarantine.empty and dataset.inspections["region_id"].astype("str").str.endswith("'").all()
    pairs["odd-names"] = dataset, snapshot.read(snapshot.write(dataset, root / "odd-names-snapshot"))
    return pairs


def scopes(dataset) -> list[list[str]]:
    provinces = sorted(dataset.regions["province"].astype("str").unique())
    return [[], provinces[-2:]]


def on_disk(dataset) -> bool:
    return dataset.parquet_source("inspections") is not None


def summaries(dataset) -> dict[str, object]:
    """Everything the notebooks count from inspections without needing the rows."""
    out: dict[str, object] = {
        f"trend {by} {granularity}": metrics.trend(dataset, by, granularity)
        for by in (None, "province", "region", "industry")
        for granularity in ("quarter", "half", "year")
    }
    out["coverage"] = quality.coverage(dataset)
    out["missingness"] = quality.missingness(dataset)
    out["span"] = quality.period_span(dataset)
    out["reconciliation"] = dataset.reconciliation()
    out["capture cells"] = cross_region._mixed_team_cells(dataset, "2024Q4")
    last = metrics.quarter_span(dataset)
    if last is not None:
        out["scorecard counts"] = indicators.counts(dataset, last[1])
        for province in dataset.regions["province"].astype("str").unique()[:2]:
            period = metrics.parse_period(f"{last[1].year}")
            out[f"notice {province}"] = notice._inspection_counts(dataset, province, period)
    out["lacking"] = {metric: indicators.lacking(dataset, metric) for metric in indicators.METRICS}
    out["has values"] = {
        column: engine.has_values(dataset, "inspections", column)
        for column in ("key_matter", "risk_level", "officers", "not_a_column")
    }
    return out


def assert_same(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for key, a in left.items():
        b = right[key]
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=key)
        else:
            assert a == b, key


@pytest.mark.parametrize("case", ALL_CASES)
def test_a_snapshot_counts_on_disk_what_memory_counts_and_never_reads_the_rows(datasets, case):
    in_memory, from_snapshot = datasets[case]
    for scope in scopes(in_memory):
        scoped = from_snapshot.within(scope)
        assert on_disk(scoped)
        assert_same(summaries(in_memory.within(scope)), summaries(scoped))
        assert on_disk(scoped), "a summary read the inspections into memory"
    assert on_disk(from_snapshot)


@pytest.mark.parametrize("case", ["base", "one-province"])
def test_rows_read_from_a_scoped_snapshot_are_the_scoped_rows(datasets, case):
    in_memory, from_snapshot = datasets[case]
    for scope in scopes(in_memory):
        scoped = from_snapshot.within(scope)
        expected = in_memory.within(scope)
        assert scoped.outside_scope == expected.outside_scope
        pd.testing.assert_frame_equal(scoped.inspections, expected.inspections, check_exact=True)
        assert not on_disk(scoped)


def test_the_sql_counts_are_pandas_counts(datasets):
    dataset = datasets["base"][0]
    rows = dataset.inspections
    quarter = rows["inspection_date"].dt.to_period("Q").astype("str")
    case = rows["case_filed"].astype(bool)
    major = rows["major_hazards"] > 0
    expected = (
        pd.DataFrame(
            {
                "region_id": rows["region_id"].astype("str"),
                "period": quarter,
                "inspections": 1,
                "cases": case,
                "penalty_total": rows["penalty_amount"],
                "with_major": major,
                "with_major_filed": major & case,
                "surprise": rows["surprise"].astype(bool),
            }
        )
        .groupby(["region_id", "period"])
        .sum()
    )
    counted = metrics.trend(dataset, "region", "quarter").set_index(["region_id", "period"])
    assert counted.index.equals(expected.index)
    np.testing.assert_array_equal(counted["inspections"], expected["inspections"])
    np.testing.assert_array_equal(counted["cases"], expected["cases"])
    np.testing.assert_allclose(counted["penalty_total"], expected["penalty_total"], rtol=1e-12)
    np.testing.assert_allclose(counted["surprise_share"], expected["surprise"] / expected["inspections"], rtol=1e-12)
    filing = expected["with_major_filed"] / expected["with_major"].where(expected["with_major"] > 0)
    np.testing.assert_allclose(counted["major_hazard_filing_rate"], filing, rtol=1e-12)


def test_a_snapshot_stores_the_inspection_cells_and_reads_them_while_the_rows_stay_on_disk(datasets):
    in_memory = datasets["base"][0]
    from_snapshot = snapshot.read(datasets["base"][1].tables.folder)  # fresh: other tests may read the rows
    scope = scopes(in_memory)[1]
    stored = from_snapshot.within(scope).parquet_source("inspection_cells")
    assert stored is not None and stored[0].parent.name == "summaries" and stored[1] is not None
    assert in_memory.parquet_source("inspection_cells") is None  # derived from the rows in memory
    every_cell = "SELECT * FROM inspection_cells ORDER BY 1, 2, 3, 4"
    derived = engine.query(in_memory.within(scope), every_cell, ["inspection_cells"])
    read = engine.query(from_snapshot.within(scope), every_cell, ["inspection_cells"])
    pd.testing.assert_frame_equal(read, derived, check_exact=True)
    assert derived["inspections"].sum() == len(in_memory.within(scope).inspections)
    assert len(derived) < len(in_memory.inspections) / 10  # cells, not rows


def test_fines_of_any_precision_total_the_same_from_memory_and_from_the_stored_cells(datasets, tmp_path):
    """Cells hold exact decimal sums, so a total does not depend on the order rows or cells are added."""
    dataset = datasets["base"][0]
    rows = dataset.inspections.copy()
    rng = np.random.default_rng(11)
    rows["penalty_amount"] = rows["case_filed"] * rng.uniform(0, 1e5, len(rows)) / 3  # full double precision
    awkward = dataclasses.replace(dataset, tables={**dataset.tables, "inspections": rows})
    stored = snapshot.read(snapshot.write(awkward, tmp_path / "snapshot"))
    assert stored.parquet_source("inspection_cells") is not None
    for by in (None, "province", "region"):
        pd.testing.assert_frame_equal(metrics.trend(awkward, by), metrics.trend(stored, by), check_exact=True)
    total = metrics.trend(stored, None, "year")["penalty_total"].sum()
    np.testing.assert_allclose(total, rows["penalty_amount"].sum(), rtol=1e-12)


def test_a_summary_joins_a_query_that_has_its_own_with_clause(datasets):
    dataset = datasets["tiny"][0]
    sql = "WITH q AS (SELECT 1 AS one) SELECT CAST(SUM(c.inspections) AS BIGINT) AS n FROM inspection_cells AS c, q"
    assert engine.query(dataset, sql, ["inspection_cells"])["n"].iloc[0] == len(dataset.inspections)


def test_only_text_the_suite_made_goes_into_sql():
    assert engine.text_list(["2024Q4", "2024H2"]) == "('2024Q4', '2024H2')"
    for text in ("it's", "b'; DROP TABLE x; --", "back\\slash"):
        with pytest.raises(ValueError, match="quote or backslash"):
            engine.literal(text)


def test_the_capture_check_from_cells_is_the_regression_on_the_rows(datasets):
    from analysis import panel

    dataset = datasets["base"][0]
    rows = dataset.inspections
    data = pd.DataFrame(
        {
            "region": rows["region_id"].astype("str"),
            "cell": rows["region_id"].astype("str") + "|" + rows["inspection_date"].dt.to_period("Q").astype("str"),
            "outside_team": rows["cross_region"].astype(float),
            "case_filed": rows["case_filed"].astype(float),
            "penalty_amount": rows["penalty_amount"].astype(float),
        }
    )
    share = data.groupby("cell")["outside_team"].transform("mean")
    data = data[(share > 0) & (share < 1)]
    check = cross_region.capture_check(dataset, min_cell_size=1).frame.set_index("outcome")
    for outcome in ("case_filed", "penalty_amount"):
        expected = panel.feols(data, outcome, ["outside_team"], ["cell"], cluster="region").term("outside_team")
        for key in ("estimate", "std_error", "ci_low", "ci_high"):
            assert check.loc[outcome, key] == pytest.approx(float(expected[key]), rel=1e-9), (outcome, key)
        assert check.loc[outcome, "n_obs"] == len(data)


def test_a_column_a_researcher_added_does_not_reach_the_sql(datasets):
    dataset = datasets["base"][0]
    rows = dataset.inspections.copy()
    rows["hazard_band"] = pd.cut(rows["hazards_found"], [-1, 0, 5, 10_000])  # a type DuckDB cannot read
    added = dataclasses.replace(dataset, tables={**dataset.tables, "inspections": rows})
    pd.testing.assert_frame_equal(metrics.trend(added, "province"), metrics.trend(dataset, "province"))


def test_in_process_queries_stay_on_duckdb_whatever_the_kernels_use(datasets, monkeypatch):
    from analysis import spark

    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(spark, "query", no_spark)
    monkeypatch.setenv(engine.ENGINE_ENV, "local[2]")
    fresh = snapshot.read(datasets["tiny"][1].tables.folder)
    with engine.in_process():
        assert engine.engine_name() == "duckdb"
        assert metrics.quarter_span(fresh) == metrics.quarter_span(datasets["tiny"][0])
    assert engine.engine_name() == "local[2]"
    with pytest.raises(AssertionError, match="Spark was started"):
        metrics.quarter_span(fresh)


def test_an_unknown_engine_is_named_in_the_error(monkeypatch):
    monkeypatch.setenv(engine.ENGINE_ENV, "DuckDB; rm -rf")
    with pytest.raises(ParameterError, match="engine 'DuckDB; rm -rf'"):
        engine.engine_name()
    for spec in ("duckdb", "spark", "local[4]", "local[*,3]", "local-cluster[2, 1, 1024]", "sc://host:15002"):
        assert engine.check_engine(spec) == spec
