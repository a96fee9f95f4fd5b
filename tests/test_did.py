"""Staggered DiD: R `did` golden values on mpdta, closed-form errors, planted truth, panel checks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cross_region, did

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(GOLDEN / "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta_gt(mpdta):
    return did.att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg")


def test_group_time_effects_match_r_did(mpdta_gt):
    golden = pd.read_csv(GOLDEN / "did_mpdta.csv")
    reference = golden[golden["kind"] == "att_gt"]
    merged = reference.merge(mpdta_gt.table, on=["group", "time"])
    assert len(merged) == 12
    np.testing.assert_allclose(merged["att"], merged["estimate"], atol=5e-4)


@pytest.mark.parametrize("kind", ["simple", "group", "calendar", "dynamic"])
def test_aggregations_match_r_did(mpdta_gt, kind):
    golden = pd.read_csv(GOLDEN / "did_mpdta.csv")
    aggregate = did.aggte(mpdta_gt, kind)
    assert aggregate.estimate == pytest.approx(golden.loc[golden["kind"] == kind, "estimate"].iloc[0], abs=5e-4)
    if kind == "dynamic":
        reference = golden[golden["kind"] == "dynamic_e"].astype({"time": int})
        merged = reference.merge(aggregate.by.astype({"event_time": int}), left_on="time", right_on="event_time")
        assert len(merged) == 7
        np.testing.assert_allclose(merged["estimate_x"], merged["estimate_y"], atol=5e-4)
        assert (aggregate.by["band_low"] < aggregate.by["ci_low"]).all()  # uniform band wider than pointwise


def test_analytic_standard_error_matches_closed_form(mpdta, mpdta_gt):
    """ATT(2004, 2004) is a 2x2 comparison; its influence-function SE is sqrt(var_T/n_T + var_C/n_C)."""
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    cohort = mpdta.drop_duplicates("countyreal").set_index("countyreal")["first.treat"]
    change = wide[2004] - wide[2003]
    treated, control = change[cohort == 2004], change[cohort == 0]
    att = treated.mean() - control.mean()
    se = np.sqrt(treated.var(ddof=0) / len(treated) + control.var(ddof=0) / len(control))
    row = mpdta_gt.table[(mpdta_gt.table["group"] == 2004) & (mpdta_gt.table["time"] == 2004)].iloc[0]
    assert row["att"] == pytest.approx(att, rel=1e-10)
    assert row["std_error"] == pytest.approx(se, rel=0.01)


def test_twfe_on_mpdta(mpdta):
    static = did.twfe(mpdta, "lemp", "year", "countyreal", "first.treat")
    assert static.estimate == pytest.approx(-0.0365, abs=5e-4)  # the well-known TWFE figure for mpdta
    assert static.ci_low < static.estimate < static.ci_high


def test_bad_arguments(mpdta):
    with pytest.raises(ValueError, match="control_group"):
        did.att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", control_group="everyone")
    with pytest.raises(KeyError, match="'nope'"):
        did.att_gt(mpdta, "nope", "year", "countyreal", "first.treat")


# --- the study on the simulated world ---------------------------------------------------


@pytest.fixture(scope="module")
def world_results(default_world):
    from analysis.data import load

    path = default_world
    dataset = load(path)
    design = cross_region.design(dataset, cross_region.panel(dataset))
    truth = {
        (r["outcome"], r["estimand"]): r["value"]
        for r in json.loads((path / "truth.json").read_text())["estimands"]
        if r["study"] == "cross_region"
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return design, cross_region.estimates(design), truth


def test_callaway_santanna_covers_planted_truth(world_results):
    _, results, truth = world_results
    covered = []
    for outcome, r in results.items():
        simple = r.simple
        assert simple.ci_low <= truth[(outcome, "ATT")] <= simple.ci_high, outcome
        for row in r.dynamic.by.itertuples():
            key = (outcome, f"ATT_e{int(row.event_time)}")
            if key in truth:
                covered.append(row.ci_low <= truth[key] <= row.ci_high)
                assert row.band_low <= truth[key] <= row.band_high, key  # the simultaneous band covers every one
    assert np.mean(covered) >= 0.85, covered  # 27 pointwise 95% intervals


def test_twfe_is_biased_towards_zero_when_effects_grow(world_results):
    _, results, truth = world_results
    for outcome in ("case_rate", "major_hazard_filing_rate"):
        r = results[outcome]
        assert r.twfe.estimate < truth[(outcome, "ATT")] - 2 * r.twfe.std_error, outcome
        assert r.twfe.estimate < r.simple.estimate


def test_no_pre_trends_where_none_are_planted(world_results):
    _, results, _ = world_results
    for outcome, r in results.items():
        assert did.pretrend_test(r.dynamic)["pvalue"] > 0.01, outcome


def test_estimates_rows(world_results):
    design, results, _ = world_results
    frame = cross_region.estimates_frame(results)
    assert set(frame["n_obs"]) == {design.cells["unit"].nunique()} == {112}  # balanced: every region compared
    for outcome in cross_region.OUTCOMES:
        for estimand in ["ATT"] + [f"ATT_e{e}" for e in range(5)]:
            for method in ("twfe", "callaway_santanna"):
                assert (
                    (frame["outcome"] == outcome) & (frame["estimand"] == estimand) & (frame["method"] == method)
                ).sum() == 1


def test_the_default_world_needs_no_fallback_and_leaves_nothing_out(world_results):
    design, results, _ = world_results
    assert design.notes == [
        "22 region(s) that ran a surprise-inspection campaign are left out of the comparison: "
        "that reform moves the same outcomes."
    ]
    for r in results.values():
        assert r.control_group == "nevertreated" and r.notes == [] and r.n_units == 112


def test_regions_with_gaps_are_kept_with_the_unbalanced_estimator(world_results):
    """A balanced panel gives the same point estimates through the unbalanced form (as R did does)."""
    design = world_results[0]
    cells = design.cells
    data = cells[["unit", "t", "g", "case_rate"]]
    balanced = did.aggte(did.att_gt(data, "case_rate", "t", "unit", "g", est_method="reg"), "simple")
    gappy = data.drop(index=data.index[(data["unit"] == data["unit"].iloc[0]) & (data["t"] == 7)])
    unbalanced = did.att_gt(gappy, "case_rate", "t", "unit", "g", est_method="reg", allow_unbalanced_panel=True)
    assert unbalanced.n_units == 112
    assert did.aggte(unbalanced, "simple").estimate == pytest.approx(balanced.estimate, abs=2e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dropped = did.att_gt(gappy, "case_rate", "t", "unit", "g", est_method="reg")  # the default balances the panel
    assert dropped.n_units == 111


def test_thin_cohorts_are_left_out_with_a_note(world_results):
    design = world_results[0]
    cells = design.cells
    thin_cohort = cells["g"].max()
    two = cells.loc[cells["g"] == thin_cohort, "region_id"].unique()[:2]
    keep = cells[(cells["g"] != thin_cohort) | cells["region_id"].isin(two)]
    thinned = cross_region.Design(keep, design.labels, cross_region.adoption_timeline(keep), [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cross_region.estimate(thinned, "case_rate")
    label = design.labels[thin_cohort]
    assert any(f"those adopting in {label} (2 regions)" in note for note in result.notes), result.notes
    assert thin_cohort not in set(result.group_time.table["group"])


def _with_gaps(mpdta: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """mpdta with 10% of county-years missing: an unbalanced panel."""
    rng = np.random.default_rng(seed)
    return mpdta.loc[rng.random(len(mpdta)) > 0.1, ["lemp", "year", "countyreal", "first.treat"]]


def test_unbalanced_standard_errors_do_not_depend_on_how_units_are_labelled(mpdta):
    """moderndid 0.2 pairs influence functions (sorted ids) with cohorts (first appearance) on this path."""
    gappy = _with_gaps(mpdta)
    relabel = dict(zip(gappy["countyreal"].unique(), np.random.default_rng(1).permutation(5000), strict=False))
    labelled = {
        "as published": gappy,
        "permuted numbers": gappy.assign(countyreal=gappy["countyreal"].map(relabel)),
        "text": gappy.assign(countyreal="c" + gappy["countyreal"].map(relabel).astype(str)),
    }
    errors = {}
    for name, data in labelled.items():
        gt = did.att_gt(
            data, "lemp", "year", "countyreal", "first.treat", est_method="reg", allow_unbalanced_panel=True
        )
        errors[name] = [did.aggte(gt, kind).std_error for kind in ("simple", "dynamic", "group")]
    for name, values in errors.items():
        np.testing.assert_allclose(values, errors["as published"], rtol=1e-10, err_msg=name)


def test_unbalanced_standard_errors_equal_moderndid_when_its_two_unit_orders_agree(mpdta):
    """Labelled so sorted ids are already in first-appearance order, moderndid itself is right: match it."""
    import moderndid

    gappy = _with_gaps(mpdta)
    units = gappy.groupby("countyreal").agg(first=("year", "min"), cohort=("first.treat", "first"))
    units["cohort"] = units["cohort"].replace(0, np.inf)
    order = units.sort_values(["first", "cohort"], kind="stable").index
    aligned = gappy.assign(countyreal=gappy["countyreal"].map(dict(zip(order, range(len(order)), strict=True))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = moderndid.att_gt(
            aligned,
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            est_method="reg",
            panel=False,
            allow_unbalanced_panel=True,
            boot=False,
            cband=False,
        )
        expected = float(moderndid.aggte(reference, type="simple", boot=False, cband=False).overall_se)
    shuffled = gappy.assign(countyreal=100_000 - gappy["countyreal"])  # another labelling, reversed order
    gt = did.att_gt(
        shuffled, "lemp", "year", "countyreal", "first.treat", est_method="reg", allow_unbalanced_panel=True
    )
    assert did.aggte(gt, "simple").std_error == pytest.approx(expected, rel=1e-10)


def test_a_unit_with_two_adoption_dates_is_refused(mpdta):
    broken = mpdta.copy()
    row = broken.index[broken["first.treat"] == 0][0]
    broken.loc[row, "first.treat"] = 2006
    with pytest.raises(did.DesignError, match="1 unit.* more than one first-treatment period"):
        did.att_gt(broken, "lemp", "year", "countyreal", "first.treat")


# --- defaults unchanged: every estimate and error as before clustering and the bootstrap ---------


def test_defaults_reproduce_the_recorded_estimates_and_errors(mpdta):
    """tests/golden/did_defaults.csv: what att_gt and aggte gave with default inference, to 1e-12."""
    golden = pd.read_csv(GOLDEN / "did_defaults.csv")
    cases = {
        "mp_reg": (mpdta, {"est_method": "reg"}),
        "mp_dr_x": (mpdta, {"xformla": "~ lpop"}),
        "mp_nyt_univ": (mpdta, {"control_group": "notyettreated", "base_period": "universal"}),
        "gappy": (_with_gaps(mpdta), {"est_method": "reg", "allow_unbalanced_panel": True}),
    }
    for case, (data, options) in cases.items():
        expected = golden[golden["case"] == case]
        gt = did.att_gt(data, "lemp", "year", "countyreal", "first.treat", **options)
        got = [gt.table[["group", "time", "att", "std_error"]].to_numpy(float)]
        for kind in ("simple", "group", "calendar", "dynamic"):
            aggregate = did.aggte(gt, kind)
            got.append([[np.nan, np.nan, aggregate.estimate, aggregate.std_error]])
        bounded = did.aggte(gt, "dynamic", min_e=-2, max_e=2)
        got.append([[np.nan, np.nan, bounded.estimate, bounded.std_error]])
        rows = np.vstack([np.asarray(block, float) for block in got])
        reference = pd.concat(
            [expected[expected["kind"] == "att_gt"]]
            + [
                expected[expected["kind"] == kind]
                for kind in ("simple", "group", "calendar", "dynamic", "dynamic_e-2_2")
            ]
        )[["key", "time", "estimate", "std_error"]].to_numpy(float)
        np.testing.assert_allclose(rows, reference, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=case)
        for kind, aggregate in (
            ("group", did.aggte(gt, "group")),
            ("dynamic", did.aggte(gt, "dynamic")),
            ("dynamic_e-2_2", bounded),
        ):
            by = expected[expected["kind"] == f"{kind}_by"]
            columns = ["estimate", "std_error"] + (["band_low", "band_high"] if kind != "group" else [])
            np.testing.assert_allclose(
                aggregate.by[columns].to_numpy(float),
                by[columns].to_numpy(float),
                rtol=1e-12,
                atol=1e-12,
                err_msg=f"{case} {kind}",
            )


def test_listing_only_the_unit_in_clustervars_changes_nothing(mpdta_gt, mpdta):
    listed = did.att_gt(
        mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg", clustervars=["countyreal"]
    )
    pd.testing.assert_frame_equal(listed.table, mpdta_gt.table)
    assert listed.inference == mpdta_gt.inference == did.Inference()


# --- clustering beyond the unit, and the multiplier bootstrap ------------------------------------


@pytest.fixture(scope="module")
def mpdta_states(mpdta):
    return mpdta.assign(state=mpdta["countyreal"] // 1000)  # counties' FIPS codes start with the state's


def test_clustering_beyond_the_unit_needs_the_bootstrap(mpdta_states):
    with pytest.raises(ValueError, match=r"clustering on 'state' needs the bootstrap \(bstrap=True\)"):
        did.att_gt(mpdta_states, "lemp", "year", "countyreal", "first.treat", clustervars=["countyreal", "state"])


def test_cluster_variables_are_checked(mpdta_states):
    args = (mpdta_states, "lemp", "year", "countyreal", "first.treat")
    with pytest.raises(ValueError, match="one variable to the unit"):
        did.att_gt(*args, clustervars=["state", "year"], bstrap=True)
    with pytest.raises(KeyError, match="'province'"):
        did.att_gt(*args, clustervars=["province"], bstrap=True)
    changing = mpdta_states.assign(state=np.where(mpdta_states["year"] == 2007, 99, mpdta_states["state"]))
    with pytest.raises(did.DesignError, match=r"'state' changes within 500 unit\(s\); it must be constant within"):
        did.att_gt(changing, *args[1:], clustervars=["state"], bstrap=True)
    holes = mpdta_states.assign(state=mpdta_states["state"].where(mpdta_states.index > 2))
    with pytest.raises(ValueError, match=r"'state' is missing in 3 row\(s\)"):
        did.att_gt(holes, *args[1:], clustervars=["state"], bstrap=True)


def _paired_panel(seed: int = 0, pairs: int = 60, periods: int = 5) -> pd.DataFrame:
    """Units in pairs sharing large shocks; the pair's cohort is common (clusters nest in cohorts)."""
    rng = np.random.default_rng(seed)
    pair_cohort = rng.choice([0, 3, 4], size=pairs, p=[0.4, 0.3, 0.3])
    unit_pair = np.repeat(np.arange(pairs), 2)
    shocks = rng.normal(scale=2.0, size=(pairs, periods))[unit_pair]
    y = rng.normal(size=(2 * pairs, periods)) + shocks
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(2 * pairs) + 1, periods),
            "t": np.tile(np.arange(1, periods + 1), 2 * pairs),
            "g": np.repeat(pair_cohort[unit_pair], periods),
            "pair": np.repeat(unit_pair, periods),
            "y": y.ravel(),
        }
    )


def test_clustered_bootstrap_error_matches_the_closed_form_cluster_robust_error():
    """ATT(3,3) is a 2x2 comparison; clustered by pair its error is sqrt(sum over pairs of (summed IF)^2) / n."""
    df = _paired_panel()
    gt = did.att_gt(
        df, "y", "t", "unit", "g", est_method="reg", clustervars=["unit", "pair"], bstrap=True, biters=20_000
    )
    wide = df.pivot(index="unit", columns="t", values="y")
    units = df.drop_duplicates("unit").set_index("unit")
    change = wide[3] - wide[2]
    treated, control = units["g"] == 3, units["g"] == 0
    contribution = np.where(treated, (change - change[treated].mean()) / treated.sum(), 0.0) - np.where(
        control, (change - change[control].mean()) / control.sum(), 0.0
    )
    clustered = np.sqrt(pd.Series(contribution, index=units.index).groupby(units["pair"]).sum().pow(2).sum())
    by_unit = np.sqrt(np.sum(contribution**2))
    row = gt.table[(gt.table["group"] == 3) & (gt.table["time"] == 3)].iloc[0]
    assert row["std_error"] == pytest.approx(clustered, rel=0.05)
    assert clustered > 1.3 * by_unit  # the pairs' shocks matter: clustering by unit alone would be wrong
    assert gt.inference.cluster == "pair" and gt.inference.n_clusters == 60


def test_clustered_errors_do_not_depend_on_how_units_are_labelled(mpdta_states):
    """The cluster of each unit must follow moderndid's unit order, on the unbalanced path too."""
    gappy = mpdta_states.loc[np.random.default_rng(7).random(len(mpdta_states)) > 0.1]
    relabel = dict(zip(gappy["countyreal"].unique(), np.random.default_rng(2).permutation(5000), strict=False))
    errors = []
    for data in (gappy, gappy.assign(countyreal=gappy["countyreal"].map(relabel))):
        gt = did.att_gt(
            data,
            "lemp",
            "year",
            "countyreal",
            "first.treat",
            est_method="reg",
            allow_unbalanced_panel=True,
            clustervars=["state"],
            bstrap=True,
            seed=5,
        )
        errors.append([gt.table["std_error"].to_numpy(), did.aggte(gt, "dynamic").by["std_error"].to_numpy()])
    for before, after in zip(*errors, strict=True):
        np.testing.assert_allclose(before, after, rtol=1e-10)


def test_bootstrap_is_reproducible_with_a_seed(mpdta):
    def run(seed):
        gt = did.att_gt(
            mpdta,
            "lemp",
            "year",
            "countyreal",
            "first.treat",
            est_method="reg",
            bstrap=True,
            cband=True,
            biters=500,
            seed=seed,
        )
        return gt, did.aggte(gt, "dynamic"), did.aggte(gt, "group")

    first, again, other = run(11), run(11), run(12)
    for a, b in zip(first, again, strict=True):
        table_a, table_b = (a.table, b.table) if isinstance(a, did.GroupTimeEffects) else (a.by, b.by)
        pd.testing.assert_frame_equal(table_a, table_b)
    assert not np.allclose(first[0].table["std_error"], other[0].table["std_error"])
    assert not np.allclose(first[1].by["band_low"], other[1].by["band_low"])
    assert first[1].inference.seed == 11 and first[1].inference.biters == 500  # inherited from att_gt
    assert not np.isclose(did.aggte(first[0], "dynamic", seed=3).std_error, first[1].std_error)


def test_bootstrap_errors_are_close_to_the_analytic_ones(mpdta, mpdta_gt):
    boot = did.att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg", bstrap=True, biters=4000)
    np.testing.assert_allclose(boot.table["std_error"], mpdta_gt.table["std_error"], rtol=0.1)
    np.testing.assert_allclose(boot.table["att"], mpdta_gt.table["att"], rtol=1e-12)
    simple = did.aggte(boot, "simple")
    assert simple.inference.bstrap and simple.std_error == pytest.approx(
        did.aggte(mpdta_gt, "simple").std_error, rel=0.1
    )
    assert not did.aggte(boot, "simple", bstrap=False).inference.bstrap


def test_uniform_bands_cover_the_pointwise_intervals(mpdta, mpdta_gt):
    for bstrap in (False, True):
        gt = did.att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg", bstrap=bstrap, cband=True)
        assert gt.inference.cband and gt.inference.biters == 1000 and gt.inference.seed == did.BOOTSTRAP_SEED
        assert (gt.table["band_low"] < gt.table["ci_low"]).all() and (gt.table["band_high"] > gt.table["ci_high"]).all()
        group = did.aggte(gt, "group")  # inherits the band
        assert (group.by["band_low"] < group.by["ci_low"]).all()
    assert "band_low" not in did.aggte(mpdta_gt, "group").by.columns  # as before: only the dynamic one by default
    assert "band_low" not in did.aggte(mpdta_gt, "dynamic", cband=False).by.columns


def test_clustered_results_refuse_analytic_aggregation(mpdta_states):
    gt = did.att_gt(
        mpdta_states,
        "lemp",
        "year",
        "countyreal",
        "first.treat",
        est_method="reg",
        clustervars=["state"],
        bstrap=True,
        biters=200,
    )
    with pytest.raises(ValueError, match="clustered by state, which needs the bootstrap"):
        did.aggte(gt, "simple", bstrap=False)
    assert did.aggte(gt, "simple").inference.cluster == "state"


def test_aggregations_stay_clustered_when_the_unit_is_listed_first(mpdta_states):
    """moderndid 0.2 takes the first of clustervars for aggte: ["countyreal", "state"] would cluster by county."""
    errors = []
    for clustervars in (["countyreal", "state"], ["state"]):
        gt = did.att_gt(
            mpdta_states,
            "lemp",
            "year",
            "countyreal",
            "first.treat",
            est_method="reg",
            clustervars=clustervars,
            bstrap=True,
            biters=500,
            seed=1,
        )
        errors.append([did.aggte(gt, kind).std_error for kind in ("simple", "dynamic", "group")])
    np.testing.assert_allclose(errors[0], errors[1], rtol=1e-12)


@pytest.mark.parametrize("bad", [{"biters": 0}, {"biters": 2.5}, {"seed": "abc"}])
def test_bad_bootstrap_arguments(mpdta, bad):
    with pytest.raises(ValueError, match="biters|seed"):
        did.att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", bstrap=True, **bad)


# --- the pre-trend tests ---------------------------------------------------------------------------


def test_reported_pretest_is_the_small_sample_test_on_the_group_time_cells(mpdta_gt):
    test = did.pretrend_test(mpdta_gt)
    assert test == mpdta_gt.pretest and test["pvalue"] == mpdta_gt.pretest_pvalue
    assert test["df"] == int((~mpdta_gt.table["post"]).sum()) == 5
    # R did prints 0.16812 for its chi-squared Wald test on these cells (moderndid's, kept in raw); the
    # degrees-of-freedom correction makes the chi-squared test a little less extreme, the F reference more so
    assert mpdta_gt.raw.wald_pvalue == pytest.approx(0.16812, abs=1e-5)
    assert mpdta_gt.raw.wald_pvalue < test["chi2_pvalue"] < test["pvalue"]


def test_pretrend_test_of_the_event_study(mpdta_gt):
    dynamic = did.aggte(mpdta_gt, "dynamic")
    test = did.pretrend_test(dynamic)
    assert test["df"] == 3 and test["n_groups"] == 500 and 0 < test["pvalue"] < 1
    with pytest.raises(ValueError, match="dynamic aggregation"):
        did.pretrend_test(did.aggte(mpdta_gt, "group"))


# --- covariate formulas ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def covariate_panel():
    rng = np.random.default_rng(4)
    units, periods = 150, 6
    index = np.arange(units)
    cohort = np.where(index < 50, 0, np.where(index < 100, 4, 5))
    x = rng.normal(size=units)
    industry = rng.choice(["mining", "trade", "works"], size=units)
    df = pd.DataFrame(
        {
            "unit": np.repeat(index + 1, periods),
            "t": np.tile(np.arange(1, periods + 1), units),
            "g": np.repeat(cohort, periods),
            "x": np.repeat(x, periods),
            "industry": np.repeat(industry, periods),
        }
    )
    trend = 0.3 * df["x"] ** 2 + np.where(df["industry"] == "mining", 0.4, 0.0)
    df["y"] = rng.normal(size=len(df)) + trend * df["t"] + ((df["g"] > 0) & (df["t"] >= df["g"])) * 1.0
    return df


def test_formula_transformations_are_applied(covariate_panel):
    """moderndid 0.2 reads only the names of a formula: I(x**2) would silently be x."""
    df = covariate_panel.assign(x_squared=covariate_panel["x"] ** 2)
    by_formula = did.att_gt(df, "y", "t", "unit", "g", xformla="~ x + I(x**2)")
    by_hand = did.att_gt(df, "y", "t", "unit", "g", xformla="~ x + x_squared")
    linear = did.att_gt(df, "y", "t", "unit", "g", xformla="~ x")
    for column in ("att", "std_error"):
        np.testing.assert_allclose(by_formula.table[column], by_hand.table[column], rtol=1e-10)
    assert not np.allclose(by_formula.table["att"], linear.table["att"], atol=1e-3)
    assert by_formula.notes == []


def test_categorical_covariates_become_dummies(covariate_panel):
    df = covariate_panel.assign(
        mining=(covariate_panel["industry"] == "mining").astype(float),
        works=(covariate_panel["industry"] == "works").astype(float),
    )
    by_hand = did.att_gt(df, "y", "t", "unit", "g", xformla="~ mining + works + x")
    for formula in ("~ C(industry) + x", "~ industry + x"):
        result = did.att_gt(df, "y", "t", "unit", "g", xformla=formula)
        np.testing.assert_allclose(result.table["att"], by_hand.table["att"], rtol=1e-10, err_msg=formula)
        np.testing.assert_allclose(result.table["std_error"], by_hand.table["std_error"], rtol=1e-10, err_msg=formula)
    unbalanced = did.att_gt(
        df.drop(index=df.index[:2]), "y", "t", "unit", "g", xformla="~ C(industry) + x", allow_unbalanced_panel=True
    )
    assert unbalanced.n_units == 150 and unbalanced.table["att"].notna().all()


def test_redundant_formula_terms_are_left_out_with_a_note(covariate_panel):
    result = did.att_gt(covariate_panel, "y", "t", "unit", "g", xformla="~ x + I(2 * x) + C(industry)")
    assert result.notes == ["covariate I(2 * x) left out: constant, or determined by the other covariates"]
    with pytest.raises(KeyError, match="'nope'"):
        did.att_gt(covariate_panel, "y", "t", "unit", "g", xformla="~ x + I(nope**2)")


# --- one result shape: tidy() and summary() -------------------------------------------------------


def test_tidy_tables(mpdta, mpdta_gt):
    cells = mpdta_gt.tidy()
    assert list(cells.columns) == ["group", "time", "event_time", "estimate", "std_error", "ci_low", "ci_high", "post"]
    assert len(cells) == 12 and (cells["event_time"] == cells["time"] - cells["group"]).all()
    np.testing.assert_array_equal(cells["estimate"], mpdta_gt.table["att"])
    for kind, key in (("dynamic", "event_time"), ("group", "group"), ("calendar", "time")):
        aggregate = did.aggte(mpdta_gt, kind)
        table = aggregate.tidy()
        assert list(table.columns[:6]) == ["term", key, "estimate", "std_error", "ci_low", "ci_high"]
        assert table["term"].iloc[0] == "ATT" and table["estimate"].iloc[0] == aggregate.estimate
        assert len(table) == len(aggregate.by) + 1 and pd.isna(table[key].iloc[0])
    assert list(did.aggte(mpdta_gt, "dynamic").tidy().columns[-2:]) == ["band_low", "band_high"]
    simple = did.aggte(mpdta_gt, "simple").tidy()
    assert simple.to_dict("records")[0]["term"] == "ATT" and len(simple) == 1
    static = did.twfe(mpdta, "lemp", "year", "countyreal", "first.treat").tidy()
    assert static["term"].tolist() == ["treated_post"] and static["n_obs"].tolist() == [2500]
    study = did.twfe_event_study(mpdta, "lemp", "year", "countyreal", "first.treat").tidy()
    assert study["term"].tolist()[:2] == ["event_time=-4", "event_time=-3"]
    assert list(study.columns) == ["term", "event_time", "estimate", "std_error", "ci_low", "ci_high", "n_obs"]


def test_summaries_say_what_was_estimated(mpdta, mpdta_gt):
    text = mpdta_gt.summary()
    assert "500 units, 3 cohorts, 12 cells (5 before adoption)" in text
    assert "Analytic standard errors (influence functions), clustered by unit" in text
    assert f"p = {mpdta_gt.pretest_pvalue:.3f}" in text and "2004   2004   -0.0105" in text
    dynamic = did.aggte(mpdta_gt, "dynamic").summary()
    assert "ATT, average of the event-time effects e >= 0: -0.0772 (std. error 0.0200)" in dynamic
    assert "simultaneous band from the multiplier bootstrap (999 draws, seed 20220824)" in dynamic
    assert "uniform band" in dynamic and "Pre-trend test" in dynamic
    assert "-0.0400 (std. error 0.0120)" in did.aggte(mpdta_gt, "simple").summary()
    fixed = did.twfe(mpdta, "lemp", "year", "countyreal", "first.treat").summary()
    assert "2,500 observations" in fixed and "treated_post   -0.0365" in fixed


def test_fixed_effects_rows_are_the_estimation_sample(mpdta):
    """n_obs without pyfixest's private attributes: a unit seen once is a singleton and is dropped."""
    import pyfixest as pf

    data = mpdta.drop(index=mpdta.index[(mpdta["countyreal"] == mpdta["countyreal"].iloc[0]) & (mpdta["year"] > 2003)])
    data = data.assign(treated_post=((data["first.treat"] > 0) & (data["year"] >= data["first.treat"])).astype(float))
    fit = pf.feols("lemp ~ treated_post | countyreal + year", data=data, vcov={"CRV1": "countyreal"})
    static = did.twfe(data, "lemp", "year", "countyreal", "first.treat")
    assert static.n_obs == len(fit.resid()) == 2500 - 5
    assert did.twfe_event_study(data, "lemp", "year", "countyreal", "first.treat").n_obs == 2495


def test_docstring_examples_run():
    import doctest

    finder, failures = doctest.DocTestFinder(), []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        examples = [
            test
            for module in (did.group_time, did.twfe, did.wald)
            for test in finder.find(module, module.__name__, globs={**vars(module), **vars(did)})
            if test.examples
        ]
        assert len(examples) >= 5  # att_gt, aggte, pretrend_test, twfe, twfe_event_study at least
        for test in examples:
            result = runner.run(test, out=failures.append)
            assert result.failed == 0, "".join(failures)
