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


pytestmark = pytest.mark.xdist_group("did")


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
    relabel = dict(zip(gappy["countyreal"].unique(), np.random.default_rng(1).permutation(5000)))
    labelled = {
        "as published": gappy,
        "permuted numbers": gappy.assign(countyreal=gappy["countyreal"].map(relabel)),
        "text": gappy.assign(countyreal="c" + gappy["countyreal"].map(relabel).astype(str)),
    }
    errors = {}
    for name, data in labelled.items():
        gt = did.att_gt(data, "lemp", "year", "countyreal", "first.treat", est_method="reg", allow_unbalanced_panel=True)
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
    aligned = gappy.assign(countyreal=gappy["countyreal"].map(dict(zip(order, range(len(order))))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = moderndid.att_gt(
            aligned, yname="lemp", tname="year", idname="countyreal", gname="first.treat", est_method="reg",
            panel=False, allow_unbalanced_panel=True, boot=False, cband=False,
        )
        expected = float(moderndid.aggte(reference, type="simple", boot=False, cband=False).overall_se)
    shuffled = gappy.assign(countyreal=100_000 - gappy["countyreal"])  # another labelling, reversed order
    gt = did.att_gt(shuffled, "lemp", "year", "countyreal", "first.treat", est_method="reg", allow_unbalanced_panel=True)
    assert did.aggte(gt, "simple").std_error == pytest.approx(expected, rel=1e-10)


def test_a_unit_with_two_adoption_dates_is_refused(mpdta):
    broken = mpdta.copy()
    row = broken.index[broken["first.treat"] == 0][0]
    broken.loc[row, "first.treat"] = 2006
    with pytest.raises(did.DesignError, match="1 unit.* more than one first-treatment period"):
        did.att_gt(broken, "lemp", "year", "countyreal", "first.treat")
