"""Study 1 on the simulated world: adjusted estimates recover the planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import surprise
from analysis.columns import as_text, quarter_labels
from analysis.data import Dataset
from analysis.quarter import Quarter
from analysis.synth import simulate


def as_dataset(world) -> Dataset:
    """The in-memory world through the same typing the loader gives (via CSV-free route)."""
    import tempfile
    from pathlib import Path

    from analysis.data import load

    directory = Path(tempfile.mkdtemp())
    for name, frame in world.tables.items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    return load(directory)


@pytest.fixture(scope="module")
def default_study():
    world = simulate()
    table, notes = surprise.study_table(as_dataset(world))
    truth = {(r["outcome"], r["estimand"]): r["value"] for r in world.truth if r["study"] == "surprise"}
    return table, notes, surprise.estimates(table, estimands=("ATE", "ATT")), truth


@pytest.fixture(scope="module")
def default_results(default_study):
    _, _, results, truth = default_study
    return results, truth


def test_default_world_keeps_every_inspection_and_adjusts_for_all_four(default_study):
    table, notes, results, _ = default_study
    assert notes == [] and not (table[["risk_level", "enterprise_size"]] == surprise.NOT_RECORDED).any().any()
    assert all(r.notes == [] for r in results)
    adjusted = "The comparison adjusts for risk grade, industry, size and campaigns."
    assert surprise.adjustment(table, results) == [adjusted]
    assert all(
        "once risk grade, industry, size and campaigns are accounted for" in s
        for s in surprise.reading(results, table=table)
    )


def test_adjusted_intervals_cover_truth_and_naive_does_not(default_results):
    results, truth = default_results
    for r in results:
        true = truth[(r.outcome, r.estimand)]
        if r.method == "naive":
            assert not r.ci_low <= true <= r.ci_high, (r.outcome, r.estimand)  # confounding planted
            assert abs(r.estimate - true) > 5 * r.std_error
        else:
            assert r.ci_low <= true <= r.ci_high, (r.outcome, r.estimand, r.method, r.estimate, true)


def test_recorded_rows_have_the_contract_shape(default_results):
    frame = surprise.estimates_frame(default_results[0])
    required = {(o, "ATE", m) for o in surprise.OUTCOMES for m in ("naive", "regression", "ipw", "aipw")}
    assert required <= set(zip(frame["outcome"], frame["estimand"], frame["method"], strict=False))
    assert list(frame.columns) == [
        "study",
        "outcome",
        "estimand",
        "method",
        "estimate",
        "std_error",
        "ci_low",
        "ci_high",
        "n_obs",
    ]


@pytest.mark.slow
def test_aipw_interval_covers_truth_about_95_percent_of_the_time():
    """Monte Carlo over 30 seeds of a small world: 4 outcomes x 30 = 120 intervals."""
    hits = []
    for seed in range(100, 130):
        world = simulate(seed=seed, scale=0.15)
        table, _ = surprise.study_table(as_dataset(world))
        truth = {r["outcome"]: r["value"] for r in world.truth if r["study"] == "surprise" and r["estimand"] == "ATE"}
        for r in surprise.estimates(table, methods=("aipw",), estimands=("ATE",)):  # clustered by region
            hits.append(r.ci_low <= truth[r.outcome] <= r.ci_high)
    coverage = np.mean(hits)
    # 120 Bernoulli(0.95) draws: sd 0.02; accept 0.88-1.0 (about -3.5 sd)
    assert coverage >= 0.88, coverage


def test_text_columns_are_built_per_distinct_value_as_per_row():
    """`study_table`'s text columns (`analysis.columns.as_text`) equal converting every row: categories,
    optional integers with gaps, a mapping, and the label for a missing value."""
    grades = pd.Series([3, None, 1, 3, None], dtype="Int64", index=[10, 11, 12, 13, 14])
    assert as_text(grades, missing="not recorded").tolist() == ["3", "not recorded", "1", "3", "not recorded"]
    regions = pd.Series(["b", "a", "b", None], dtype="category")
    text = as_text(regions)
    assert text.dtype == "str" and text.iloc[:3].tolist() == ["b", "a", "b"] and pd.isna(text.iloc[3])
    provinces = as_text(regions, {"a": "Hunan", "b": "Jiangsu"})
    assert provinces.iloc[:3].tolist() == ["Jiangsu", "Hunan", "Jiangsu"]
    quarters = quarter_labels(np.array([Quarter.parse("2024Q4").ordinal, Quarter.parse("2019Q1").ordinal]))
    assert quarters.tolist() == ["2024Q4", "2019Q1"]
    assert as_text(grades, missing="?").index.tolist() == grades.index.tolist()


def test_joined_text_is_what_adding_the_columns_gives():
    from analysis.columns import joined

    rng = np.random.default_rng(3)
    risk = pd.Series(rng.choice(["1", "2", "4", None], 500), dtype="str")
    industry = pd.Series(rng.choice(["mining", "trade", "a:b", None], 500), dtype="str")
    for made, expected in [
        (joined(risk, ":", industry), risk + ":" + industry),
        (joined("campaign:", risk), "campaign:" + risk),
        (joined(risk, ":*"), risk + ":*"),
    ]:
        assert isinstance(made.dtype, pd.CategoricalDtype)
        assert list(made.cat.categories) == sorted(expected.dropna().unique())
        pd.testing.assert_series_equal(made.astype("str"), expected)


def test_categories_and_where_keep_every_value():
    from analysis.columns import as_category, where

    regions = pd.Series(["b", "a", "b", None, "c"], dtype="str", index=[5, 6, 7, 8, 9])
    provinces = as_category(regions, {"a": "Hunan", "b": "Jiangsu", "c": "Hunan"}, missing="none")
    assert provinces.index.equals(regions.index) and list(provinces.cat.categories) == ["Hunan", "Jiangsu", "none"]
    assert provinces.astype("str").tolist() == ["Jiangsu", "Hunan", "Jiangsu", "none", "Hunan"]
    unmapped = as_category(regions, {"a": "Hunan"})  # a region the mapping lacks: missing, not a category
    assert unmapped.isna().tolist() == [True, False, True, True, True] and list(unmapped.cat.categories) == ["Hunan"]
    keep = np.array([True, False, True, False, True])
    assert where(keep, provinces, "*").astype("str").tolist() == ["Jiangsu", "*", "Jiangsu", "*", "Hunan"]
    other = pd.Series(list("vwxyz"), dtype="str", index=regions.index)
    mixed = where(keep, provinces, other)
    assert mixed.astype("str").tolist() == ["Jiangsu", "w", "Jiangsu", "y", "Hunan"]
    assert list(mixed.cat.categories) == sorted(mixed.cat.categories) and mixed.index.equals(regions.index)


def test_a_subset_of_the_categorical_table_estimates_as_the_same_rows_as_text(default_study):
    """A subset keeps every category; a formula design must not see levels without rows."""
    table = default_study[0]
    subset = table[table["province"] == table["province"].iloc[0]]
    assert (subset["province"].cat.categories.size > 1) and subset["region_id"].nunique() > 1
    as_text = subset.astype({c: "str" for c in subset.columns if isinstance(subset[c].dtype, pd.CategoricalDtype)})
    design = surprise.Design.of(
        covariates="C(risk_by_industry) + C(enterprise_size) + C(campaign_by_risk)",
        propensity_covariates="C(risk_level) + C(industry) + C(enterprise_size)",
        methods=["regression", "aipw"],
        estimands=["ATE"],
    )
    from_categories = surprise.estimates_frame(surprise.estimates(subset, ["case_filed"], design=design))
    from_text = surprise.estimates_frame(surprise.estimates(as_text, ["case_filed"], design=design))
    pd.testing.assert_frame_equal(from_categories, from_text, rtol=1e-12)


def test_lookup_is_a_left_join_on_unique_keys():
    from analysis.columns import lookup

    rng = np.random.default_rng(5)
    rows = pd.DataFrame(
        {"grade": pd.Series(rng.choice(["1", "2", "3"], 400), dtype="str"), "treated": rng.random(400) < 0.4}
    )
    table = rows.drop_duplicates().reset_index(drop=True)
    table = table.iloc[1:].assign(score=rng.random(len(table) - 1))  # one key has no score
    strangers = pd.DataFrame({"grade": ["9", "8"], "treated": [True, True], "score": [1.0, 2.0]})
    table = pd.concat([table, strangers], ignore_index=True)  # keys no row has: never matched, never clash
    expected = rows.merge(table, on=["grade", "treated"], how="left")["score"].to_numpy()
    np.testing.assert_array_equal(lookup(rows, table, ["grade", "treated"], "score"), expected)
    with pytest.raises(ValueError, match="not unique"):
        lookup(rows, pd.concat([table, table]), ["grade", "treated"], "score")
