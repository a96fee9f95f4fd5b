"""Studies 2 and 3 on contract-valid data that lacks what they need: a sentence, never a traceback.

Each case is a variant of a small simulated world (tests/variants.py) or a small edit of
it. The study functions either give their estimates with notes saying what was left out,
or raise `limits.Unavailable` / a design error whose message is the sentence a reviewer
reads; one end-to-end build checks that both notebooks finish and show those sentences.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from variants import (
    BASE_SCALE,
    BASE_SEED,
    VARIANTS_BY_NAME,
    Variant,
    base_world,
    drop_columns,
    without_programs,
    write_variant,
)

from analysis import cross_region, did, panel, results, team
from analysis.data import load
from analysis.limits import Limitations, Missing, Unavailable


@pytest.fixture(scope="module")
def world(world_factory):
    return base_world(world_factory(seed=BASE_SEED, scale=BASE_SCALE))


@pytest.fixture(scope="module")
def variant(world, tmp_path_factory):
    """A loaded variant by name (or a Variant), written once per module."""
    tables, truth = world
    loaded = {}

    def make(which: str | Variant):
        chosen = VARIANTS_BY_NAME[which] if isinstance(which, str) else which
        if chosen.name not in loaded:
            loaded[chosen.name] = load(write_variant(chosen, tables, truth, tmp_path_factory.mktemp(chosen.name)))
        return loaded[chosen.name]

    return make


def design_of(dataset, period="2024Q4"):
    return cross_region.design(dataset, cross_region.panel(dataset, last_period=period))


def quietly(step, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return step(*args, **kwargs)


# --- study 2: cross-region enforcement ----------------------------------------------------------


NO_PROGRAMME = (
    "the programs table has no cross_region programme, so no region is known to have adopted "
    "cross-region enforcement and there is nothing to compare"
)


@pytest.mark.parametrize("name", ["no-cross-region", "programs-empty"])
def test_no_cross_region_programme_is_a_sentence(variant, name):
    limits = Limitations()
    dataset = variant(name)
    result = limits.run("Adoption", cross_region.design, dataset, cross_region.panel(dataset))
    assert isinstance(result, Missing) and result.reason == NO_PROGRAMME + "."
    assert limits.items == [("Adoption", NO_PROGRAMME + ".")]


def test_everyone_adopting_in_the_first_quarter_is_a_sentence(variant):
    with pytest.raises(cross_region.PanelError) as raised:
        design_of(variant("everyone-adopts-at-once"))
    assert str(raised.value) == (
        "every region in the comparison that adopted cross-region enforcement had done so by 2019Q1, the first "
        "quarter in the data, so no adopter is observed before adoption and no region went without it; there is "
        "nothing to compare"
    )
    with pytest.raises(
        cross_region.PanelError,
        match="had done so by 2023Q1, the first quarter in the data, so no "
        "adopter is observed before adoption; there is nothing",
    ):
        design_of(variant("eight-quarters-late"))


def test_no_never_treated_regions_fall_back_to_not_yet_treated_and_say_so(variant):
    design = design_of(variant("no-never-treated"))
    assert (
        "No region in the comparison went without cross-region enforcement, so adopters are compared with regions "
        "that had not yet adopted (the not-yet-treated comparison) instead of regions that never adopted."
    ) in design.notes
    result = quietly(cross_region.estimate, design, "case_rate")
    assert result.control_group == "notyettreated"
    assert result.notes[0] == (
        "The last cohort, adopting in 2023Q1, serves only as a comparison, and quarters from "
        "2023Q1 on are not compared."
    )
    assert np.isfinite(result.simple.estimate) and result.simple.std_error > 0
    with pytest.raises(Unavailable) as raised:
        cross_region.require_never_adopters({"case_rate": result})
    assert str(raised.value) == (
        "too few regions that never adopted cross-region enforcement have the case rate, so adopters are compared "
        "with regions that had not yet adopted (the not-yet-treated comparison) instead"
    )
    assert cross_region.comparison({"case_rate": result})["compared_with"].tolist() == ["not yet adopted"]


def test_few_never_adopters_with_an_outcome_fall_back_for_that_outcome(variant):
    design = design_of(variant("base"))
    cells = design.cells.copy()
    keep = cells.loc[cells["g"] == 0, "region_id"].unique()[:3]
    cells.loc[(cells["g"] == 0) & ~cells["region_id"].isin(keep), "avg_case_value"] = np.nan
    edited = cross_region.Design(cells, design.labels, cross_region.adoption_timeline(cells), [])
    result = quietly(cross_region.estimate, edited, "avg_case_value")
    assert result.control_group == "notyettreated"
    assert (
        "Only 3 region(s) that never adopted cross-region enforcement have the average case value (at least 5 are "
        "needed), so adopters are compared with regions that had not yet adopted (the not-yet-treated comparison) "
        "instead."
    ) in result.notes
    assert (
        quietly(cross_region.estimate, edited, "case_rate").control_group == "nevertreated"
    )  # other outcomes keep theirs


def campaign_everywhere(tables):
    counties = tables["regions"].loc[tables["regions"]["level"] == "county", "region_id"]
    others = tables["programs"][tables["programs"]["program"] != "surprise_campaign"]
    campaign = pd.DataFrame({"region_id": counties, "program": "surprise_campaign", "start_period": "2023Q1"})
    return {**tables, "programs": pd.concat([others, campaign], ignore_index=True)}


def test_adopters_that_cannot_be_compared_are_a_sentence(variant):
    with pytest.raises(Unavailable) as raised:
        design_of(variant("base"), period="2019Q4")
    assert str(raised.value) == (
        "no region started cross-region enforcement by 2019Q4 (the earliest start in the programs table is 2020Q1), "
        "so there is no adopter to study"
    )
    with pytest.raises(Unavailable) as raised:
        design_of(variant(Variant("campaign-everywhere", campaign_everywhere)))
    assert str(raised.value) == (
        "every region that adopted cross-region enforcement by 2024Q4 also ran a surprise-inspection campaign, a "
        "reform that moves the same outcomes, so no adopter is left to compare"
    )


def test_a_single_cohort_without_never_adopters_has_no_comparison_group(variant):
    with pytest.raises(cross_region.PanelError) as raised:
        design_of(variant("one-province"))
    assert str(raised.value) == (
        "every region in the comparison adopted cross-region enforcement in 2020Q1 and none went without it, so "
        "there is no comparison group (no region that never adopted, or had not yet adopted)"
    )


def test_quarters_without_inspections_keep_every_region(variant):
    """Two quarters without any inspection: no region is dropped, and the never-adopters stay the comparison."""
    design = design_of(variant("zero-inspection-quarters"))
    assert (
        "The data has no inspections in 2020Q2 and 2022Q4; comparisons step over those quarters to the nearest "
        "earlier one with data."
    ) in design.notes
    regions = design.cells["region_id"].nunique()
    for outcome in ("case_rate", "avg_case_value"):
        result = quietly(cross_region.estimate, design, outcome)
        assert result.control_group == "nevertreated"
        assert result.n_units == regions, outcome  # nobody left out, although nearly every region has gaps
    gaps = quietly(cross_region.estimate, design, "avg_case_value").notes
    assert any(
        n.endswith(
            "regions lack the average case value in some quarters (quarters without cases); they are "
            "kept, and each comparison uses the regions observed in both of its quarters."
        )
        for n in gaps
    )
    assert design.labels[24] == "2024Q4" and design.timeline["g"].max() == 17  # quarters keep their calendar numbers


def test_thin_and_empty_cohorts_are_left_out_with_a_note(variant):
    design = design_of(variant("base"))
    cells = design.cells.copy()
    last, before = sorted(design.timeline.loc[design.timeline["g"] > 0, "g"].unique())[-2:][::-1]
    last_regions = cells.loc[cells["g"] == last, "region_id"].unique()
    cells = cells[(cells["g"] != last) | cells["region_id"].isin(last_regions[:2])]
    cells.loc[cells["g"] == before, "case_rate"] = np.nan  # a cohort with no value at all
    edited = cross_region.Design(cells, design.labels, cross_region.adoption_timeline(cells), [])
    result = quietly(cross_region.estimate, edited, "case_rate")
    assert (
        f"Cohort(s) with fewer than 5 regions with the case rate are left out, since effects resting on so few "
        f"regions are not reliable: those adopting in {design.labels[before]} (0 regions) and "
        f"{design.labels[last]} (2 regions)."
    ) in result.notes
    assert not {before, last} & set(result.group_time.table["group"])


def test_too_few_inspections_is_a_sentence_naming_what_is_missing(variant):
    design = design_of(variant("tiny"))
    with pytest.raises(Unavailable) as raised:
        quietly(cross_region.estimate, design, "case_rate")
    message = str(raised.value)
    assert message.startswith("the case rate could not be estimated: only ")
    assert "region-quarters in" in message and message.endswith(
        "quarters per region), too few to compare adopters with regions that never adopted before and after adoption"
    )


def test_a_single_quarter_is_a_sentence(variant):
    dataset = variant(VARIANTS_BY_NAME["period-first-quarter"])
    with pytest.raises(Unavailable) as raised:
        design_of(dataset, period="2019Q1")
    assert str(raised.value) == (
        "the data has inspections in only one quarter (2019Q1) up to the report quarter; "
        "comparing quarters before and after adoption needs at least two"
    )
    with pytest.raises(
        Unavailable,
        match="no region and quarter had inspections by both outside and local teams up "
        "to 2019Q1, so the two cannot be compared",
    ):
        cross_region.capture_check(dataset, last_period="2019Q1")


def test_regions_never_having_an_outcome_are_counted_and_small_ones_not_named(variant):
    design = design_of(variant("base"))
    cells = design.cells.copy()
    never = cells.loc[cells["g"] == 0, "region_id"].unique()[:2]
    cells.loc[cells["region_id"].isin(never), "case_rate"] = np.nan
    cells.loc[cells["region_id"] == never[1], "inspections"] = 0  # fewer than min_cell_size inspections
    edited = cross_region.Design(cells, design.labels, cross_region.adoption_timeline(cells), [])
    result = quietly(cross_region.estimate, edited, "case_rate", min_cell_size=5)
    assert (
        f"2 region(s) have no quarter with inspections ({never[0]}; 1 with fewer than 5 inspections, not named), so "
        "the case rate is never defined for them; they are left out."
    ) in result.notes
    assert never[1] not in " ".join(result.notes) and result.withheld.names == 1


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"model": "another project", "estimands": {"x": 1}}),
        json.dumps([1, 2, 3]),
        "these are not the droids\n",
        "\xff\xfe",
    ],
)
def test_a_truth_file_of_another_layout_is_ignored(tmp_path, content):
    (tmp_path / "truth.json").write_text(content, encoding="latin-1")
    assert results.planted_truth(tmp_path, "surprise") is None
    assert cross_region.event_truth(tmp_path, "case_rate") is None


def test_the_suites_own_truth_is_still_read(world, tmp_path):
    (tmp_path / "truth.json").write_text(json.dumps(world[1]))
    assert set(results.planted_truth(tmp_path, "surprise")) == {
        "hazards_found",
        "major_hazard_found",
        "case_filed",
        "penalty_amount",
    }
    assert 0 in cross_region.event_truth(tmp_path, "case_rate")
    broken = {**world[1], "estimands": [{"study": "cross_region", "outcome": "case_rate", "estimand": "ATT"}]}
    (tmp_path / "truth.json").write_text(json.dumps(broken))  # a row without a value: not our layout
    assert results.planted_truth(tmp_path, "cross_region") is None


# --- study 3: team expansion -------------------------------------------------------------------


def test_trainees_not_recorded_is_a_sentence(variant):
    cells = team.panel(variant("no-staffing.trainees"))
    with pytest.raises(Unavailable) as raised:
        team.training_intensity(cells)
    assert str(raised.value) == (
        "trainees are not recorded (the staffing table has no trainees values), so training "
        "intensity cannot be related to inspections"
    )
    assert len(quietly(team.elasticities, cells).frame) == 4  # the rest of the study is unaffected


def test_technical_inspectors_not_recorded_say_so_never_zero(variant):
    cells = team.panel(variant("no-staffing.technical_inspectors"))
    with pytest.raises(Unavailable) as raised:
        team.technical_inspector_standard(cells)
    assert str(raised.value) == (
        "technical inspectors are not recorded (the staffing table has no technical_inspectors "
        "values), so the 1:2 standard cannot be checked"
    )
    partly = team.panel(variant("base"))
    beijing = partly["province"] == "Beijing"
    partly.loc[beijing, "technical_inspectors"] = pd.NA
    standard = team.technical_inspector_standard(partly)
    row = standard.frame.set_index("province").loc["Beijing"]
    assert np.isnan(row["regions_meeting_standard"]) and row["regions_recorded"] == 0
    assert "not recorded" in standard._repr_html_()
    assert any(
        n.startswith(
            f"Technical inspectors are not recorded for {int(beijing[partly['quarter'] == '2024Q4'].sum())} of the"
        )
        for n in standard.notes
    )


def test_a_single_quarter_stops_the_team_panel_with_a_sentence(variant):
    with pytest.raises(Unavailable) as raised:
        team.panel(variant("period-first-quarter"), last_period="2019Q1")
    assert str(raised.value) == (
        "the data has staffing and inspections in only one quarter (2019Q1) up to 2019Q1; "
        "following a region's team over time needs at least two quarters"
    )


def test_no_officers_and_too_short_a_window_are_sentences(variant):
    def no_officers(tables):
        return {**tables, "staffing": tables["staffing"].assign(officers=0)}

    with pytest.raises(Unavailable) as raised:
        team.panel(variant(Variant("no-officers", no_officers)))
    assert str(raised.value) == "every staffing row records zero officers, so output cannot be related to staff"
    short = team.panel(variant("base"), last_period="2019Q4")
    with pytest.raises(Unavailable) as raised:
        team.lag_profile(short)
    assert str(raised.value) == (
        "no region has staffing in five consecutive quarters, which comparing its response over the three quarters "
        "after a staffing change needs"
    )
    assert 0 <= quietly(team.leads_test, short)["pvalue"] <= 1  # four quarters are enough for the leads


def test_constant_officers_are_a_sentence(variant):
    cells = team.panel(variant("base"))
    cells["log_officers"] = cells.groupby("region_id")["log_officers"].transform("first")
    cells["officers"] = np.exp(cells["log_officers"])
    with pytest.raises(Unavailable) as raised:
        team.elasticities(cells)
    assert str(raised.value) == (
        "no outcome's elasticity with respect to officers can be estimated: officers never "
        "change within a region in the quarters with inspections, so output cannot be related "
        "to staffing changes"
    )
    with pytest.raises(Unavailable, match="officers never change within a region, so output cannot be compared"):
        team.dose_response(cells)
    assert "Officers never change within any region" in team.coverage(cells).markup


def test_staffing_gaps_leave_lags_missing_not_shifted(variant):
    cells = team.panel(variant("staffing-gaps"))
    cells_without, regions_without = cells.attrs["without_staffing"]
    assert (cells_without, regions_without) == (81, 27)
    assert (
        "81 region-quarter(s) with inspections have no staffing row (27 region(s)) and are left out; lags and "
        "leads across those quarters are missing, not shifted."
    ) in team.coverage(cells).markup
    ordinal = pd.PeriodIndex(cells["quarter"], freq="Q-DEC").asi8
    previous = pd.Series(
        cells["log_officers"].to_numpy(), index=pd.MultiIndex.from_arrays([cells["region_id"], ordinal])
    )
    expected = previous.reindex(pd.MultiIndex.from_arrays([cells["region_id"], ordinal - 1])).to_numpy()
    observed = cells["log_officers_lag1"].to_numpy()
    has_both = ~np.isnan(expected)
    np.testing.assert_array_equal(observed[has_both], expected[has_both])
    standard = team.technical_inspector_standard(cells)
    assert "27 region(s) have no staffing row (or no inspections) in 2024Q4 and are not counted here." in standard.notes
    assert len(quietly(team.lag_profile, cells)) == 5


def test_one_province_says_errors_rest_on_few_clusters(variant):
    cells = team.panel(variant("one-province"))
    notes = team.coverage(cells).markup
    assert (
        "Standard errors are clustered by region and rest on only 12 regions (fewer than 30), so they may be too "
        "small; the elasticities also give a wild cluster bootstrap p-value, which holds up with few clusters."
    ) in notes
    assert "Cross-region enforcement started in the same quarter everywhere" in notes
    elasticities = quietly(team.elasticities, cells)
    assert (
        elasticities.frame["regions"].eq(12).all() and elasticities.frame["wild_bootstrap_pvalue"].between(0, 1).all()
    )
    assert (
        "The elasticities of inspections, cases, major hazards found and fines rest on fewer than 30 regions, so "
        "clustered standard errors may be too small; read the wild cluster bootstrap p-value instead."
    ) in elasticities.notes


def test_outcomes_too_thin_for_an_elasticity_are_said_and_listed(variant):
    elasticities = quietly(team.elasticities, team.panel(variant("tiny")))
    assert set(elasticities.frame["outcome"]) == {"inspections", "penalty_total"}
    thin = [n for n in elasticities.notes if n.startswith("The elasticity of cases cannot be estimated")]
    assert thin and thin[0].endswith(
        "region-quarters in 48 regions have cases with the staffing this needs, too few to "
        "compare each region with itself over time."
    )
    with pytest.raises(
        Unavailable,
        match="^the elasticity of cases cannot be estimated: only .* the elasticity of major "
        "hazards found cannot be estimated",
    ):
        team.require_every_outcome(elasticities)


def test_eight_quarters_are_enough_for_lags_and_leads(variant):
    cells = team.panel(variant("eight-quarters-late"))
    assert len(quietly(team.lag_profile, cells)) == 5
    assert 0 <= quietly(team.leads_test, cells)["pvalue"] <= 1


@pytest.mark.parametrize(
    "edit, sentence",
    [
        (lambda d: d.assign(x=np.nan), "x is missing in every row, so the regression has no data"),
        (
            lambda d: d[d["t"] == 0],
            "every row is alone in its group of u or t (one observation per group), so the fixed "
            "effects leave nothing to compare",
        ),
        (lambda d: d[d["u"] == 0], "every row is alone in its group of u or t"),
        (
            lambda d: d.assign(x=1.0),
            "x takes a single value in the 40 usable rows, so its coefficient cannot be estimated",
        ),
        (lambda d: d[d["u"] < 2].assign(x=lambda e: e["u"] * 1.0), "x never changes within a u"),
    ],
)
def test_inputs_that_would_kill_the_kernel_are_design_errors(edit, sentence):
    """pyfixest's compiled demeaning aborts the process on these; the check comes first."""
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"u": np.repeat(range(10), 4), "t": np.tile(range(4), 10)})
    data["x"] = rng.normal(size=len(data))
    data["y"] = data["x"] + rng.normal(size=len(data))
    with pytest.raises(did.DesignError) as raised:
        panel.feols(edit(data), "y", ["x"], ["u", "t"], cluster="u")
    assert str(raised.value).startswith(sentence)


# --- end to end: both notebooks on data without the programme and without trainees -------------------


@pytest.mark.slow  # two real notebooks on data of its own
def test_report_on_data_without_cross_region_or_trainees(world, tmp_path):
    from analysis.report import build

    tables, truth = world
    lacking = Variant(
        "no-cross-region-no-trainees",
        lambda t: drop_columns(("staffing", "trainees"))(without_programs("cross_region")(t)),
    )
    data = write_variant(lacking, tables, truth, tmp_path / "data")
    result = build(
        data,
        "2024Q4",
        out=tmp_path / "report",
        only=["03_cross_region_enforcement", "04_team_expansion"],
        log=lambda *_: None,
    )
    assert {n.name: n.status for n in result.notebooks} == {
        "03_cross_region_enforcement": "ok",
        "04_team_expansion": "ok",
    }
    pages = {
        name: (result.out / f"{name}.html").read_text() for name in ("03_cross_region_enforcement", "04_team_expansion")
    }
    training = (
        "trainees are not recorded (the staffing table has no trainees values), so training intensity cannot "
        "be related to inspections."
    )
    assert NO_PROGRAMME.replace("'", "&#x27;") in pages["03_cross_region_enforcement"]
    assert (
        pages["03_cross_region_enforcement"].count('class="unavailable"') >= 2
    )  # in its section and in the conclusion
    assert training in pages["04_team_expansion"]
    limitations = json.loads((result.out / "manifest.json").read_text())["limitations"]
    assert {"section": "Adoption", "reason": NO_PROGRAMME + "."} in limitations["03_cross_region_enforcement"]
    assert {"section": "Training", "reason": training} in limitations["04_team_expansion"]
    estimates = pd.read_csv(result.out / "estimates.csv")
    assert set(estimates.loc[estimates["study"] == "team", "outcome"]) == set(team.OUTCOMES)
    assert not (estimates["study"] == "cross_region").any()
