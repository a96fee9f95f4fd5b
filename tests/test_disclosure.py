"""Disclosure control: no reviewer page shows a statistic built from fewer than k inspections."""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from analysis import disclosure, display, plots
from analysis.results import RESULTS_ENV

FRACTION = r"$\frac{$"  # a province name that mathtext cannot parse
DISTINCTIVE_FINE = 123457


def provinces(counts, cases=None):
    """One row per province, as metrics.compute gives it: counts, cases, a rate and an average fine."""
    counts = np.asarray(counts)
    cases = np.asarray(cases if cases is not None else counts // 2)
    return pd.DataFrame(
        {
            "province": [f"P{i}" for i in range(len(counts))],
            "inspections": counts,
            "cases": cases,
            "case_rate": np.where(counts > 0, cases / np.maximum(counts, 1), np.nan),
            "avg_case_value": np.where(cases > 0, 1000.0 + np.arange(len(counts)), np.nan),
            "officers": 10 * (np.arange(len(counts)) + 1),
        }
    )


# --- primary suppression ------------------------------------------------------------------------


def test_cells_below_k_are_withheld_and_empty_cells_are_shown():
    table = provinces([0, 1, 4, 5, 20], cases=[0, 1, 2, 5, 10])
    out, withheld = disclosure.suppress(table, "inspections", ["case_rate", "avg_case_value"], 5)

    small = table["inspections"].between(1, 4)
    assert out.loc[small, ["inspections", "case_rate", "avg_case_value"]].isna().all().all()
    assert out.loc[0, "inspections"] == 0  # no inspections: shown, not withheld
    assert not withheld.mask.loc[0].any()
    assert out.loc[~small, "inspections"].tolist() == [0, 5, 20]
    assert out.loc[3, "case_rate"] == table.loc[3, "case_rate"]
    assert out["officers"].tolist() == table["officers"].tolist()  # staff, not inspections: shown
    assert withheld.primary == 2 * 3 and withheld.secondary == 0
    assert "fewer than 5 inspections" in withheld.legend
    html = str(display.table(out, withheld=withheld))
    assert html.count(disclosure.SYMBOL) == 2 * 3 + 1  # six cells and the legend
    assert "n/a" in html  # not defined (no inspections) is not the same as withheld


def test_an_average_fine_counts_its_cases_not_the_inspections():
    table = provinces([50, 60, 70], cases=[1, 10, 20])
    out, withheld = disclosure.suppress_metrics(table, ["inspections", "case_rate", "avg_case_value"], 5)
    assert np.isnan(out.loc[0, "avg_case_value"])  # one case: its fine would be shown
    assert out.loc[0, "case_rate"] == table.loc[0, "case_rate"]
    assert withheld.primary == 1


def test_min_cell_size_is_checked():
    with pytest.raises(ValueError, match="at least 1"):
        disclosure.suppress(provinces([3]), "inspections", [], 0)
    from analysis.errors import ParameterError
    from analysis.report.schema import NOTEBOOKS

    for spec in NOTEBOOKS:
        assert spec.param("min_cell_size").default == 5
        with pytest.raises(ParameterError, match="min_cell_size"):
            spec.resolve({"min_cell_size": 0})


# --- secondary suppression ----------------------------------------------------------------------


def test_secondary_suppression_keeps_a_small_cell_out_of_reach_of_the_total():
    table = provinces([2, 40, 9, 300, 12])
    national = table["inspections"].sum()  # published on the report index
    primary_only, _ = disclosure.suppress(table, "inspections", ["case_rate"], 5)
    shown = primary_only["inspections"].dropna().astype(int)
    assert national - shown.sum() == 2  # without secondary suppression the difference gives the cell away

    out, withheld = disclosure.suppress(table, "inspections", ["case_rate"], 5, group_totals=())
    hidden = out["inspections"].isna()
    assert hidden.sum() >= 2 and table.loc[hidden, "inspections"].sum() >= 5
    assert hidden[2] and not hidden[1]  # the next-smallest province (9) hides the small one, not a larger one
    assert (
        national - out["inspections"].dropna().sum() == table.loc[hidden, "inspections"].sum()
    )  # only a sum is revealed
    assert withheld.secondary == 2  # its count and its case rate
    assert withheld.entries()[1]["rule"].startswith("secondary")


def test_secondary_suppression_works_within_each_group():
    table = pd.DataFrame(
        {
            "period": ["Q1"] * 3 + ["Q2"] * 3,
            "province": list("ABC") * 2,
            "inspections": [1, 20, 30, 20, 30, 40],
            "case_rate": [0.5] * 6,
        }
    )
    out, _ = disclosure.suppress(table, "inspections", ["case_rate"], 5, group_totals=["period"])
    assert out["inspections"].isna().tolist() == [True, True, False, False, False, False]


def _grid_is_protected(counts: np.ndarray, withheld: np.ndarray, k: int) -> None:
    assert not withheld[counts == 0].any()
    assert withheld[(counts > 0) & (counts < k)].all()
    for line_counts, line_held in [*zip(counts, withheld, strict=False), *zip(counts.T, withheld.T, strict=False)]:
        if not line_held.any():
            continue
        shown_nonzero = (~line_held & (line_counts > 0)).any()
        protected = line_held.sum() >= 2 and line_counts[line_held].sum() >= k
        assert protected or not shown_nonzero, (line_counts, line_held)


@pytest.mark.parametrize("seed", range(25))
def test_grid_suppression_protects_every_row_and_column(seed):
    rng = np.random.default_rng(seed)
    counts = rng.choice([0, 1, 2, 3, 6, 10, 40], size=(rng.integers(2, 7), rng.integers(2, 9)))
    out, withheld = disclosure.suppress_grid(pd.DataFrame(counts), 5)
    held = out.isna().to_numpy()
    assert (held == withheld.mask.to_numpy()).all()
    _grid_is_protected(counts, held, 5)
    assert withheld.primary == int(((counts > 0) & (counts < 5)).sum())


def test_a_table_with_nothing_small_is_unchanged():
    table = provinces([0, 5, 9, 120])
    out, withheld = disclosure.suppress(table, "inspections", ["case_rate", "avg_case_value"], 5, group_totals=())
    pd.testing.assert_frame_equal(out, table)
    assert withheld.cells == 0 and withheld.legend == "" and withheld.entries() == []
    grid = pd.DataFrame([[0, 7], [12, 5]], index=["A", "B"], columns=["2022Q1", "2022Q2"])
    grid_out, grid_withheld = disclosure.suppress_grid(grid, 5)
    pd.testing.assert_frame_equal(grid_out, grid.astype(float))
    assert grid_withheld.cells == 0
    assert "disclosure" not in str(display.table(out, withheld=withheld))


# --- names ---------------------------------------------------------------------------------------


def test_region_lists_leave_out_small_regions_and_say_how_many():
    shown, withheld = disclosure.region_names(
        ["JS-01", "XX-01", "JS-02", "YY-09"], {"JS-01": 40, "XX-01": 2, "JS-02": 5}, 5
    )
    assert shown == ["JS-01", "JS-02"]
    assert withheld.names == 2
    text = disclosure.name_list(shown, withheld)
    assert "XX-01" not in text and "YY-09" not in text
    assert text == "JS-01, JS-02; 2 with fewer than 5 inspections, not named"
    assert withheld.entries() == [
        {"where": "", "cells": 2, "rule": "region names with fewer than 5 inspections not listed"}
    ]


def test_cross_region_messages_do_not_name_small_regions():
    from analysis import cross_region

    cells = pd.DataFrame(
        {
            "region_id": ["BIG-01"] * 3 + ["BIG-02"] * 2 + ["TINY-01"],
            "t": [1, 2, 3, 1, 2, 1],
            "g": [0, 0, 0, 2, 2, 2],
            "inspections": [30, 30, 30, 30, 30, 2],
            "case_rate": [0.1] * 6,
        }
    )
    with pytest.raises(cross_region.PanelError) as raised:
        cross_region.check(cells, "case_rate", 5)
    assert "BIG-02" in str(raised.value) and "TINY-01" not in str(raised.value)
    assert "1 with fewer than 5 inspections" in str(raised.value)


# --- the run record -----------------------------------------------------------------------------


def test_record_suppressed_writes_only_inside_a_report_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    _, withheld = disclosure.suppress(
        provinces([1, 30, 40]), "inspections", ["case_rate"], 5, group_totals=(), where="t"
    )
    entries = disclosure.record_suppressed(withheld)
    assert entries and not list(tmp_path.rglob("*"))  # interactively: nothing written

    results = tmp_path / "results" / "01_reform_overview"
    monkeypatch.setenv(RESULTS_ENV, str(results))
    disclosure.record_suppressed([withheld])
    disclosure.record_suppressed([])  # nothing withheld elsewhere: the file still says the check ran
    disclosure.record_suppressed(disclosure.region_names(["A"], {"A": 1}, 5, where="names")[1])
    recorded = json.loads((results / "disclosure.json").read_text())
    assert isinstance(recorded, list)
    secondary = "secondary: withheld so that a published total does not reveal a cell of fewer than 5 inspections"
    assert recorded == [
        {"where": "t", "cells": 2, "rule": "fewer than 5 inspections"},
        {"where": "t", "cells": 2, "rule": secondary},
        {"where": "names", "cells": 1, "rule": "region names with fewer than 5 inspections not listed"},
    ]


def test_an_empty_record_is_an_empty_list(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path / "04"))
    disclosure.record_suppressed([])
    assert json.loads((tmp_path / "04" / "disclosure.json").read_text()) == []


# --- figures and identifiers ------------------------------------------------------------------


def _draw(fig) -> None:
    fig.canvas.draw()
    fig.savefig(io.BytesIO(), format="png")


def test_mathtext_in_data_labels_fails_in_plain_matplotlib():
    """The hazard the figures guard against (so the next test can fail)."""
    fig, ax = plt.subplots()
    ax.set_yticks([0], [FRACTION])
    with pytest.raises(ValueError):
        _draw(fig)
    plt.close(fig)


def test_figures_draw_labels_from_data_literally():
    coverage = pd.DataFrame([[12, 3], [40, 0]], index=[FRACTION, "Hunan"], columns=["2022Q1", "2022Q2"])
    masked, withheld = disclosure.suppress_grid(coverage, 5)
    trend = pd.DataFrame(
        {
            "province": [FRACTION, FRACTION, "Hunan", "Hunan"],
            "period": ["2022Q1", "2022Q2"] * 2,
            "case_rate": [0.1, np.nan, 0.2, 0.3],
            "officers": [10, 11, 20, 22],
        }
    )
    subgroups = pd.DataFrame(
        {"industry": [FRACTION, "mining"], "estimate": [0.1, 0.2], "ci_low": [0.0, 0.1], "ci_high": [0.2, 0.3]}
    )
    figures = {
        "coverage": plots.coverage_heatmap(masked, title=FRACTION, withheld=withheld.legend),
        "trends": plots.metric_trends(trend, ["case_rate"], highlight=(FRACTION,), withheld=FRACTION),
        "staffing": plots.staffing_growth(trend, highlight=FRACTION),
        "subgroups": plots.subgroup_effects(subgroups, "industry", FRACTION),
    }
    for name, fig in figures.items():
        _draw(fig)  # outside the figure function: texts must stay literal when drawn later
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert FRACTION in texts, name
        plt.close(fig)


def test_identifier_columns_never_reach_a_table():
    frame = pd.DataFrame({"enterprise_id": ["E0001"], "inspection_id": ["I9"], "province": ["A"], "inspections": [2]})
    out, withheld = disclosure.suppress(frame, "inspections", [], 5)
    html = str(display.table(out, withheld=withheld))
    assert "E0001" not in html and "I9" not in html and "enterprise_id" not in html
    assert disclosure.SYMBOL in html


# --- end to end: a province with one inspection, through the report builder ---------------------


def tiny_world(directory: Path) -> Path:
    """Four provinces over 2021-2022; 'Lonely' has one inspection (2022Q4) with a distinctive fine.

    Province sizes are chosen so that every quarter of the others has at least k inspections;
    one province is called $\\frac{$ to check that data never reaches mathtext.
    """
    rng = np.random.default_rng(7)
    counties = {"Jiangsu": ["JS-01", "JS-02"], "Hunan": ["HN-01"], FRACTION: ["FR-01"], "Lonely": ["LO-01"]}
    regions = [
        {
            "region_id": r,
            "name": f"{p} county {r[-2:]}",
            "province": p,
            "level": "county",
            "parent_id": "",
            "enterprises": "50",
            "population": "100000",
        }
        for p, rs in counties.items()
        for r in rs
    ]
    quarters = pd.period_range("2021Q1", "2022Q4", freq="Q")
    rows = []

    def inspection(region, day, fine, case):
        rows.append(
            {
                "inspection_id": f"I{len(rows):05d}",
                "region_id": region,
                "inspection_date": str(day),
                "enterprise_id": f"SECRETENT{len(rows):05d}",
                "industry": "manufacturing",
                "enterprise_size": "small",
                "risk_level": "2",
                "surprise": str(bool(len(rows) % 3 == 0)).lower(),
                "cross_region": "false",
                "inspecting_region_id": "",
                "officers": "2",
                "technical_inspector": "false",
                "key_matter": "false",
                "hazards_found": "2",
                "major_hazards": "1" if len(rows) % 4 == 0 else "0",
                "case_filed": str(case).lower(),
                "penalty_amount": str(fine),
                "double_penalty": "false",
            }
        )

    for quarter in quarters:
        for region in ["JS-01", "JS-02", "HN-01", "FR-01"]:
            for i in range(8):
                case = bool(rng.random() < 0.5)
                inspection(
                    region, quarter.start_time.date() + pd.Timedelta(days=3 * i), 2000 * (i + 1) if case else 0, case
                )
    inspection("LO-01", "2022-11-15", DISTINCTIVE_FINE, True)
    staffing = [
        {
            "region_id": r["region_id"],
            "period": str(q),
            "officers": "20",
            "technical_inspectors": "8",
            "social_supervisors": "1",
            "trainings": "1",
            "trainees": "5",
        }
        for r in regions
        for q in quarters
    ]
    tables = {
        "regions": pd.DataFrame(regions),
        "inspections": pd.DataFrame(rows),
        "staffing": pd.DataFrame(staffing),
        "programs": pd.DataFrame(
            {"region_id": ["JS-01"], "program": ["surprise_campaign"], "start_period": ["2022Q1"]}
        ),
        "accidents": pd.DataFrame({"region_id": ["JS-01"], "period": ["2022Q1"], "accidents": ["0"], "deaths": ["0"]}),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return directory


@pytest.mark.slow  # two real notebooks on data of its own
def test_a_single_inspection_never_reaches_a_reviewer_page(tmp_path):
    from analysis.report import build

    data = tiny_world(tmp_path / "tiny")
    out = tmp_path / "reports" / "2022Q4"
    notebooks = ["00_data_quality", "01_reform_overview"]
    result = build(data, "2022Q4", out=out, jobs=2, only=notebooks, cache_dir=tmp_path / "cache", log=lambda *_: None)
    assert result.ok, [(n.name, n.status, n.message) for n in result.notebooks]

    overview = (out / "01_reform_overview.html").read_text(encoding="utf-8")
    assert "Lonely" in overview  # the province's row is there ...
    for shown in (f"{DISTINCTIVE_FINE}", f"{DISTINCTIVE_FINE:,}"):
        assert shown not in overview, shown  # ... but not its one inspection's fine
    assert "fewer than 5 inspections" in overview
    assert overview.count("data:image/png") == 3  # every figure still shows (Jiangsu, trends, staffing)
    for page in out.glob("*.html"):
        assert "SECRETENT" not in page.read_text(encoding="utf-8"), page.name

    recorded = json.loads((out / "results" / "01_reform_overview" / "disclosure.json").read_text())
    assert isinstance(recorded, list)
    latest = [e for e in recorded if e["where"] == "2022Q4 by province"]
    assert {e["rule"].split(":")[0] for e in latest} == {"fewer than 5 inspections", "secondary"}
    assert all(e["cells"] > 0 for e in latest)
    coverage = json.loads((out / "results" / "00_data_quality" / "disclosure.json").read_text())
    assert coverage and coverage[0]["where"].startswith("coverage") and coverage[0]["cells"] == 1
