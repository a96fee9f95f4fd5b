"""Estimates from cell statistics equal the row-level estimates.

Every number `compressed.estimate_many_compressed` returns (estimate, standard error,
interval, control mean, propensity diagnostics) must equal `ate.estimate_many`'s on the
rows to 1e-9 relative (|compressed - rows| <= 1e-9 |rows|, no absolute slack), and the
words (notes, vcov, n, clusters, errors) must be the same, for every method x estimand x
propensity model x clustered or not. The algebra is exact, so the only differences are the
order of floating-point sums: the largest relative difference measured is printed (run
with -s) and is of order 1e-14.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import ate, compressed, surprise
from analysis.compressed import (
    NotCompressible,
    cell_statistics,
    estimate_compressed,
    estimate_many_compressed,
)

RTOL = 1e-9  # relative, no absolute tolerance
NUMBERS = ("estimate", "std_error", "ci_low", "ci_high", "control_mean")
WORDS = ("outcome", "estimand", "method", "n_obs", "n_clusters", "vcov", "notes", "alpha")
COMBINATIONS = [(model, cluster) for model in ("logit", "probit") for cluster in (None, "cluster")]


def relative(value: float, reference: float) -> float:
    return 0.0 if value == reference else abs(value - reference) / abs(reference)


def assert_same(from_cells: ate.Estimates, rows: ate.Estimates, label: str) -> dict[str, float]:
    """Every estimate equal to RTOL and every word identical; returns the largest relative difference per method."""
    assert len(from_cells) == len(rows)
    worst: dict[str, float] = {}
    for fast, slow in zip(from_cells, rows, strict=True):
        for name in WORDS:
            assert getattr(fast, name) == getattr(slow, name), (label, slow.method, slow.estimand, name)
        assert fast.diagnostics.keys() == slow.diagnostics.keys()
        pairs = [(getattr(fast, name), getattr(slow, name)) for name in NUMBERS]
        pairs += [(fast.diagnostics[key], slow.diagnostics[key]) for key in slow.diagnostics]
        for value, reference in pairs:
            np.testing.assert_allclose(value, reference, rtol=RTOL, atol=0, err_msg=f"{label} {slow.method}")
        worst[fast.method] = max(worst.get(fast.method, 0.0), *(relative(v, r) for v, r in pairs))
    print(f"\n{label}: largest relative difference " + ", ".join(f"{m} {d:.1e}" for m, d in worst.items()))
    return worst


# --- (a) a small synthetic table with a planted effect ------------------------------------------


def synthetic(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Categorical covariates a, b; c is redundant given a; `flag` only occurs among the treated, so the
    untreated arm's outcome model leaves it out. The effect on y is 2 + 0.5 (b == "b3"); z is binary."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["a0", "a1", "a2"], n)
    b = rng.choice(["b0", "b1", "b2", "b3"], n)
    score = -0.3 + 0.6 * (a == "a1") - 0.5 * (a == "a2") + 0.4 * (b == "b2") + 0.8 * (b == "b3")
    treated = rng.random(n) < 1 / (1 + np.exp(-score))
    flag = (treated & (rng.random(n) < 0.2)).astype(float)
    effect = 2.0 + 0.5 * (b == "b3")
    y = 1.0 + 1.5 * (a == "a2") - 0.7 * (b == "b1") + effect * treated + 0.3 * flag + rng.normal(size=n)
    z = (rng.random(n) < 0.2 + 0.1 * treated + 0.2 * (a == "a1")).astype(float)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "c": np.where(a == "a0", "low", "high"),
            "flag": flag,
            "treated": treated,
            "cluster": rng.integers(0, 25, n).astype(str),
            "y": y,
            "z": z,
        }
    )


SYNTHETIC = {"covariates": ["a", "b", "c", "flag"], "propensity_covariates": ["a", "b", "c"]}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return synthetic()


@pytest.fixture(scope="module")
def synthetic_cells(table) -> dict[str | None, pd.DataFrame]:
    return {
        cluster: cell_statistics(table, ["y", "z"], "treated", **SYNTHETIC, cluster=cluster)
        for cluster in (None, "cluster")
    }


@pytest.mark.parametrize(("propensity_model", "cluster"), COMBINATIONS)
def test_synthetic_estimates_equal_the_rows(table, synthetic_cells, propensity_model, cluster):
    options = {**SYNTHETIC, "propensity_model": propensity_model, "cluster": cluster}
    rows = ate.estimate_many(table, ["y", "z"], "treated", methods=ate.METHODS, estimands=ate.ESTIMANDS, **options)
    cells = synthetic_cells[cluster]
    fast = estimate_many_compressed(
        cells, ["y", "z"], "treated", methods=ate.METHODS, estimands=ate.ESTIMANDS, **options
    )
    assert_same(fast, rows, f"synthetic, {propensity_model}, cluster={cluster}")
    # the redundant column and the arm-specific one are left out with the rows' notes
    aipw = next(r for r in fast if r.method == "aipw")
    assert "c_low left out of the outcome model: constant, or determined by the other covariates" in aipw.notes
    assert any(note.startswith("flag left out of the outcome model of the untreated arm") for note in aipw.notes)


def test_a_finer_table_gives_the_same_estimates(table, synthetic_cells):
    """Cells split by cluster serve an unclustered estimate too: they are summed to the design's cells."""
    assert len(synthetic_cells[None]) <= 3 * 4 * 2 * 2  # a x b x flag x arm (c is a's)
    options = {**SYNTHETIC, "propensity_model": "logit"}
    coarse = estimate_many_compressed(synthetic_cells[None], ["y"], "treated", estimands=ate.ESTIMANDS, **options)
    fine = estimate_many_compressed(synthetic_cells["cluster"], ["y"], "treated", estimands=ate.ESTIMANDS, **options)
    assert_same(fine, coarse, "synthetic, cells split by cluster vs not")


def test_a_formula_and_one_estimate_equal_the_rows(table):
    formula = "C(a) * C(b)"
    cells = cell_statistics(table, ["y"], "treated", formula, propensity_covariates="C(a) + C(b)", cluster="cluster")
    for method, estimand in [("regression", "ATT"), ("aipw", "ATE"), ("aipw", "ATT")]:
        options = {"method": method, "estimand": estimand, "propensity_covariates": "C(a) + C(b)", "cluster": "cluster"}
        fast = estimate_compressed(cells, "y", "treated", formula, propensity_model="probit", **options)
        slow = ate.estimate_ate(table, "y", "treated", formula, propensity_model="probit", **options)
        assert_same(ate.Estimates([fast]), ate.Estimates([slow]), f"formula, {method} {estimand}")


def test_the_planted_effect_is_recovered(table, synthetic_cells):
    """The effect is 2 + 0.5 where b is b3: the ATE and ATT (of this sample) are within 3 standard errors."""
    b3 = table["b"] == "b3"
    truth = {"ATE": 2.0 + 0.5 * b3.mean(), "ATT": 2.0 + 0.5 * b3[table["treated"]].mean()}
    for estimand, true in truth.items():
        est = estimate_compressed(
            synthetic_cells["cluster"], "y", "treated", ["a", "b"], "aipw", estimand=estimand, cluster="cluster"
        )
        assert abs(est.estimate - true) < 3 * est.std_error, (estimand, est.estimate, est.std_error, true)


# --- (b) the study's table from the simulated world ---------------------------------------------


@pytest.fixture(scope="module")
def study(world_factory, tmp_path_factory) -> tuple[pd.DataFrame, str]:
    from analysis.data import load

    table, _ = surprise.study_table(load(world_factory(scale=0.05)))
    path = tmp_path_factory.mktemp("compressed") / "study.parquet"
    table.to_parquet(path, index=False)
    return table, str(path)


@pytest.mark.parametrize(("propensity_model", "cluster"), COMBINATIONS)
def test_study_estimates_equal_the_rows(study, propensity_model, cluster):
    table, path = study
    cluster = "region_id" if cluster else None
    design = surprise.Design(propensity_model=propensity_model, cluster=cluster)
    outcomes, covariates = list(design.outcomes), list(design.covariates)
    options = design.fit_options()
    # the small world: about half as many region x cell groups as inspections, so allow any share
    cells = cell_statistics(
        path, outcomes, surprise.TREATMENT, covariates, propensity_covariates=options["propensity_covariates"],
        cluster=cluster, max_share=1.0,
    )  # fmt: skip
    rows = ate.estimate_many(table, outcomes, surprise.TREATMENT, covariates, ate.METHODS, ate.ESTIMANDS, **options)
    fast = estimate_many_compressed(
        cells, outcomes, surprise.TREATMENT, covariates, ate.METHODS, ate.ESTIMANDS, **options
    )
    assert_same(fast, rows, f"study, {propensity_model}, cluster={cluster}")


@pytest.mark.parametrize("propensity_model", ["logit", "probit"])
def test_study_propensity_scores_equal_the_rows(study, propensity_model):
    """The overlap plot's scores: fitted on cells (`surprise.propensity_scores`) as on the rows."""
    from analysis.diagnostics import propensity_scores

    table, _ = study
    design = surprise.Design(propensity_model=propensity_model)
    rows = propensity_scores(table, surprise.TREATMENT, list(design.propensity_covariates), propensity_model)
    np.testing.assert_allclose(surprise.propensity_scores(table, design), rows, rtol=RTOL, atol=0)


@pytest.mark.parametrize("by", ["industry", "risk_level", "province"])
def test_study_subgroup_effects_equal_the_rows(study, monkeypatch, by):
    """`surprise.heterogeneity` compresses once and splits the cells by level: each level's estimate
    equals the one from that level's rows (here forced by making every compression refuse)."""
    table, _ = study
    design = surprise.Design(cluster="region_id")
    from_cells = surprise.heterogeneity(table, "case_filed", by, min_group=50, design=design)
    assert from_cells["estimate"].notna().sum() >= 3  # several levels estimated, so the split is tested

    def refuse(*args, **kwargs):
        raise NotCompressible("forced: use the rows")

    monkeypatch.setattr(compressed, "cell_statistics", refuse)
    from_rows = surprise.heterogeneity(table, "case_filed", by, min_group=50, design=design)
    pd.testing.assert_frame_equal(from_cells, from_rows, rtol=RTOL, atol=0)


# --- (c) DuckDB from Parquet and from pandas give the same table -----------------------------


def test_parquet_and_pandas_cells_are_identical(tmp_path):
    """Exactly equal: the outcomes are multiples of 1/4, so every sum is exact in any order."""
    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], n),
            "k": rng.integers(0, 4, n),
            "treated": rng.random(n) < 0.4,
            "g": rng.choice(["g1", "g2", "g3"], n),
            "y": rng.integers(-400, 400, n) / 4,
            "hit": rng.random(n) < 0.3,
        }
    )
    df.to_parquet(tmp_path / "rows.parquet", index=False)
    args = (["y", "hit"], "treated", ["a", "k"])
    from_pandas = cell_statistics(df, *args, cluster="g")
    from_parquet = cell_statistics(tmp_path / "rows.parquet", *args, cluster="g")
    pd.testing.assert_frame_equal(from_parquet, from_pandas, check_exact=True)
    relation = duckdb.connect().read_parquet(str(tmp_path / "rows.parquet"))
    pd.testing.assert_frame_equal(cell_statistics(relation, *args, cluster="g"), from_pandas, check_exact=True)

    values = df.assign(hit=df["hit"].astype(float))
    grouped = values.groupby(["a", "k", "treated", "g"])
    reference = grouped.size().rename("n").to_frame()
    for y in ("y", "hit"):
        reference[f"sum_{y}"] = grouped[y].sum()
        reference[f"sumsq_{y}"] = (values[y] ** 2).groupby([values[c] for c in ["a", "k", "treated", "g"]]).sum()
    pd.testing.assert_frame_equal(from_pandas, reference.reset_index(), check_exact=True, check_dtype=False)
    assert list(from_pandas.columns) == ["a", "k", "treated", "g", "n", "sum_y", "sumsq_y", "sum_hit", "sumsq_hit"]


# --- (d) a design that does not compress says why ------------------------------------------------


def test_a_continuous_covariate_falls_back_to_the_rows_with_a_sentence(table):
    rows = table.assign(age=np.random.default_rng(1).uniform(20, 60, len(table)))
    with pytest.raises(NotCompressible) as raised:
        cell_statistics(rows, ["y"], "treated", ["a", "age"])
    assert str(raised.value) == (
        f"The covariate age is continuous ({len(rows):,} distinct values among {len(rows):,} rows), "
        "so the estimate uses the rows."
    )
    crossed = cell_statistics(table, ["y"], "treated", ["a", "b"], cluster="cluster", max_share=0.5)
    with pytest.raises(NotCompressible, match=r"^The covariates a, b combine into more than 30 cells within clusters"):
        cell_statistics(table, ["y"], "treated", ["a", "b"], cluster="cluster", max_share=0.01)
    assert len(crossed) > 30


# --- (e) errors are the rows' errors --------------------------------------------------------------


@pytest.mark.parametrize("propensity_model", ["logit", "probit"])
def test_an_overlap_failure_is_the_rows_overlap_error(table, propensity_model):
    one_way = table.assign(treated=table["treated"] | (table["a"] == "a2"))  # every a2 site treated
    options = {"propensity_covariates": ["a", "b"], "propensity_model": propensity_model}
    with pytest.raises(ate.OverlapError) as rows:
        ate.estimate_ate(one_way, "y", "treated", ["a", "b"], "aipw", **options)
    cells = cell_statistics(one_way, ["y"], "treated", ["a", "b"])
    with pytest.raises(ate.OverlapError) as from_cells:
        estimate_compressed(cells, "y", "treated", ["a", "b"], "aipw", **options)
    assert str(from_cells.value) == str(rows.value)
    assert "units have a propensity score within" in str(rows.value)


def test_missing_values_are_refused_as_on_the_rows(table):
    gap = table.assign(y=table["y"].where(table.index != 5))
    with pytest.raises(ValueError) as rows:
        ate.estimate_ate(gap, "y", "treated", ["a"], "naive")
    with pytest.raises(ValueError) as from_cells:
        cell_statistics(gap, ["y"], "treated", ["a"])
    assert str(from_cells.value) == str(rows.value) == "missing values in y; impute or filter them explicitly first"


def test_cells_without_the_cluster_are_refused(synthetic_cells):
    with pytest.raises(KeyError, match="'cluster' is not a column of the cell statistics"):
        estimate_compressed(synthetic_cells[None], "y", "treated", ["a"], "aipw", cluster="cluster")


def test_docstring_examples_run():
    import doctest

    failures, tried = doctest.testmod(compressed, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 10 and failures == 0
