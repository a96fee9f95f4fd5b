"""Every figure says what it shows: a title with words (not code names), alt text written from its data,
and the data plotted (without identifiers or values withheld under disclosure control).

The figure functions are found by introspection (every public function of `plots` and
`scorecard.figures` that returns a Figure), so a new one without inputs here fails
`test_every_figure_function_has_inputs_here` until it is added to `CASES`.
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Callable
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_rgb
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from analysis import disclosure, display, plots
from analysis.display import FigureNote
from analysis.scorecard import figures

MODULES = (plots, figures)
CODE_NAME = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]")
OKABE_ITO = {to_rgb(c) for c in ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "k")}


def figure_functions() -> dict[str, Callable[..., plt.Figure]]:
    """Public functions that return a Figure and do not take one (`note` attaches to a figure)."""
    found = {}
    for module in MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            signature = inspect.signature(function)
            if signature.return_annotation in ("plt.Figure", plt.Figure) and "fig" not in signature.parameters:
                found[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = function
    return found


# --- small synthetic inputs ---------------------------------------------------------------------

QUARTERS = ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]


def coverage() -> dict:
    counts = pd.DataFrame(
        [[120, 80, 95, 101], [60, 70, 0, 66], [44, 52, 61, 58]],
        index=pd.Index(["Hunan", "Beijing", "Jiangsu"], name="province"),
        columns=pd.Index(QUARTERS, name="quarter"),
    )
    return {"counts": counts}


def trends() -> dict:
    rows = []
    for i, province in enumerate(["Hunan", "Beijing", "Jiangsu"]):
        for j, period in enumerate(QUARTERS):
            rows.append(
                {
                    "province": province,
                    "period": period,
                    "inspections": 100 + 10 * j,
                    "case_rate": 0.20 + 0.01 * i + 0.005 * j,
                    "avg_case_value": 20_000 + 500 * i - 100 * j,
                    "officers": 50 + 5 * i + 2 * j,
                }
            )
    frame = pd.DataFrame(rows)
    frame.loc[(frame["province"] == "Jiangsu") & (frame["period"] == "2022Q2"), "case_rate"] = np.nan  # a gap
    return {"trend": frame, "metrics": ["case_rate", "avg_case_value"], "highlight": ("Hunan", "Beijing")}


def staffing() -> dict:
    trend = trends()["trend"]
    return {"officers": trend[["province", "period", "officers"]], "highlight": "Hunan"}


def notice_comparison() -> dict:
    comparison = pd.DataFrame(
        {
            "metric": ["key_matter_cases", "penalty_total", "avg_case_value"],
            "notice": [2.7, 1.12, 1.236],
            "data": [2.69, 1.13, np.nan],
        }
    )
    return {"comparison": comparison, "withheld": "– withheld under disclosure control", "period": "2022H1"}


def forest() -> dict:
    rows = []
    for outcome, scale in (("case_filed", 0.01), ("penalty_amount", 100.0)):
        for method, estimate in (("naive", 12.0), ("regression", 9.2), ("aipw", 9.1)):
            rows.append(
                {
                    "study": "surprise",
                    "outcome": outcome,
                    "estimand": "ATE",
                    "method": method,
                    "estimate": scale * estimate,
                    "ci_low": scale * (estimate - 0.5),
                    "ci_high": scale * (estimate + 0.5),
                }
            )
    return {"estimates": pd.DataFrame(rows), "truth": {"case_filed": 0.093, "penalty_amount": 910.0}}


def overlap() -> dict:
    rng = np.random.default_rng(3)
    treated = rng.random(2_000) < 0.3
    scores = np.clip(rng.beta(2, 5, 2_000) + 0.1 * treated, 0.01, 0.99)
    return {"scores": scores, "treated": treated}


def balance() -> dict:
    frame = pd.DataFrame(
        {
            "covariate": ["risk_level_2", "industry_mining", "enterprise_size_small", "campaign_active"],
            "smd_before": [-0.30, 0.15, -0.03, 0.27],
            "smd_after": [0.001, -0.002, 0.0005, 0.0003],
        }
    )
    return {"balance": frame}


def subgroups() -> dict:
    frame = pd.DataFrame(
        {
            "industry": ["mining", "trade", "fireworks", "Secretville"],
            "n_obs": [900, 800, 700, 3],
            "estimate": [0.095, 0.079, 0.113, np.nan],  # Secretville: withheld
            "ci_low": [0.087, 0.071, 0.098, np.nan],
            "ci_high": [0.104, 0.087, 0.128, np.nan],
            "note": ["", "", "", "withheld"],
        }
    )
    return {"frame": frame, "by": "industry", "label": "case_filed", "withheld": "– withheld"}


def timeline() -> dict:
    frame = pd.DataFrame({"region_id": [f"R{i}" for i in range(9)], "g": [0, 0, 0, 2, 2, 3, 5, 5, 5]})
    return {"timeline": frame, "labels": {1: "2022Q1", 2: "2022Q2", 3: "2022Q3", 4: "2022Q4", 5: "2023Q1"}}


def event() -> dict:
    times = np.arange(-4, 5, dtype=float)
    estimate = np.where(times < 0, 0.002 * (-1) ** np.abs(times), 0.045 + 0.01 * times)
    cs = pd.DataFrame(
        {
            "event_time": times,
            "estimate": estimate,
            "std_error": 0.005,
            "ci_low": estimate - 0.01,
            "ci_high": estimate + 0.01,
            "band_low": estimate - 0.015,
            "band_high": estimate + 0.015,
        }
    )
    twfe = cs[["event_time", "estimate", "std_error", "ci_low", "ci_high"]].iloc[:3].astype({"event_time": int})
    return {"cs": cs, "twfe": twfe, "truth": {0: 0.04, 4: 0.08}, "label": "case rate"}


def lags() -> dict:
    profile = pd.DataFrame(
        {
            "term": ["log_officers", "log_officers_lag1", "log_officers_lag2", "sum of lags"],
            "estimate": [0.61, -0.05, 0.02, 0.58],
            "ci_low": [0.54, -0.15, -0.08, 0.55],
            "ci_high": [0.68, 0.05, 0.12, 0.61],
            "lag": [0.0, 1.0, 2.0, np.nan],
        }
    )
    return {"profile": profile}


def dose() -> dict:
    table = pd.DataFrame(
        {
            "term": ["bin_0", "bin_1", "bin_2"],
            "estimate": [0.0, 0.062, 0.161],
            "ci_low": [0.0, 0.041, 0.142],
            "ci_high": [0.0, 0.083, 0.180],
            "bin": [0, 1, 2],
            "log_officers_vs_region_mean": [-0.15, 0.0, 0.14],
        }
    )
    return {"table": table}


# --- the scorecard, from a small simulated world ------------------------------------------------


@pytest.fixture(scope="module")
def scorecard_parts(world_factory):
    from analysis import scorecard
    from analysis.data import load

    dataset = load(world_factory(seed=11, scale=0.3))  # the world test_scorecard uses
    card = scorecard.build(dataset, "2024Q4")
    return {
        "card": card,
        "stability": scorecard.stability(card, draws=30),
        "change": scorecard.change_since_previous(dataset, card),
    }


CASES = {  # figure function -> its inputs (keyword arguments); scorecard cases take the fixture's parts
    "plots.coverage_heatmap": lambda parts: {**coverage(), "withheld": "– withheld"},
    "plots.metric_trends": lambda parts: trends(),
    "plots.staffing_growth": lambda parts: staffing(),
    "plots.notice_vs_data": lambda parts: notice_comparison(),
    "plots.effect_forest": lambda parts: forest(),
    "plots.propensity_overlap": lambda parts: overlap(),
    "plots.love_plot": lambda parts: balance(),
    "plots.subgroup_effects": lambda parts: subgroups(),
    "plots.adoption_timeline": lambda parts: timeline(),
    "plots.event_study": lambda parts: event(),
    "plots.lag_profile": lambda parts: lags(),
    "plots.dose_response": lambda parts: dose(),
    "figures.breakdown": lambda parts: {"card": parts()["card"]},
    "figures.rank_intervals": lambda parts: {"card": parts()["card"], "result": parts()["stability"]},
    "figures.method_weights": lambda parts: {"card": parts()["card"]},
    "figures.change": lambda parts: {"moves": parts()["change"], "card": parts()["card"]},
}


def _empty(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[:0]


EMPTY = {  # inputs with nothing to plot: the figure still says so, and nothing fails
    "plots.coverage_heatmap": lambda: {"counts": _empty(coverage()["counts"])},
    "plots.metric_trends": lambda: {**trends(), "trend": _empty(trends()["trend"])},
    "plots.staffing_growth": lambda: {"officers": _empty(staffing()["officers"])},
    "plots.notice_vs_data": lambda: {"comparison": _empty(notice_comparison()["comparison"])},
    "plots.effect_forest": lambda: {"estimates": _empty(forest()["estimates"])},
    "plots.propensity_overlap": lambda: {"scores": np.array([]), "treated": np.array([], dtype=bool)},
    "plots.love_plot": lambda: {"balance": _empty(balance()["balance"])},
    "plots.subgroup_effects": lambda: {**subgroups(), "frame": subgroups()["frame"].assign(estimate=np.nan)},
    "plots.adoption_timeline": lambda: {"timeline": _empty(timeline()["timeline"]), "labels": {}},
    "plots.event_study": lambda: {"cs": _empty(event()["cs"]), "twfe": _empty(event()["twfe"]), "label": "case rate"},
    "plots.lag_profile": lambda: {"profile": _empty(lags()["profile"])},
    "plots.dose_response": lambda: {"table": _empty(dose()["table"])},
}


@pytest.fixture
def draw(request):
    """`draw(name)`: the figure of `name` from its inputs in `CASES` (closed after the test)."""
    made = []

    def parts():
        return request.getfixturevalue("scorecard_parts")

    def make(name: str, inputs: dict | None = None) -> plt.Figure:
        fig = figure_functions()[name](**(inputs if inputs is not None else CASES[name](parts)))
        made.append(fig)
        return fig

    yield make
    for fig in made:
        plt.close(fig)


@pytest.fixture(scope="module")
def drawn(request):
    """`drawn(name)`: the figure of `name` from its inputs in `CASES`, drawn once for this module and shared
    by the tests that only read it (drawing is most of their time). Closed when the module is done."""
    figures_by_name: dict[str, plt.Figure] = {}

    def parts():
        return request.getfixturevalue("scorecard_parts")

    def get(name: str) -> plt.Figure:
        if name not in figures_by_name:
            fig = figure_functions()[name](**CASES[name](parts))
            fig.canvas.draw()
            figures_by_name[name] = fig
        return figures_by_name[name]

    yield get
    for fig in figures_by_name.values():
        plt.close(fig)


def figure_note(fig: plt.Figure) -> FigureNote:
    note = getattr(fig, "report_note", None)
    assert isinstance(note, FigureNote), "the figure has no note: attach one with plots.note"
    return note


# --- tests ----------------------------------------------------------------------------------------


def test_every_figure_function_has_inputs_here():
    found = set(figure_functions())
    assert len(found) >= 16  # introspection still finds them
    assert found == set(CASES), f"add inputs for {sorted(found - set(CASES))}; drop {sorted(set(CASES) - found)}"
    assert set(EMPTY) == {name for name in found if name.startswith("plots.")}


@pytest.mark.parametrize("name", sorted(figure_functions()))
def test_every_figure_is_drawn_literally(name):
    """Data-derived names never reach mathtext, and every figure has the house style
    (`plots._figure_function`), so every function is wrapped."""
    assert hasattr(figure_functions()[name], "__wrapped__"), f"{name} is not decorated with plots._figure_function"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_figure_says_what_it_shows(drawn, name):
    fig = drawn(name)
    assert isinstance(fig, plt.Figure)
    note = figure_note(fig)
    assert note.title.strip() and not CODE_NAME.search(note.title), note.title
    assert not re.search(r"\bFigure \d|Source:", note.title), "the report numbers figures and adds the source"
    assert re.search(r"\d", note.alt), note.alt
    assert 0 < len(note.alt) <= plots.ALT_LIMIT
    assert isinstance(note.data, pd.DataFrame) and not note.data.empty
    assert not set(note.data.columns) & display.IDENTIFIER_COLUMNS
    shown = display.figure_html(fig)
    assert shown is not None and "<figure" in shown
    assert html.escape(note.title) in shown
    assert html.escape(note.alt, quote=True) in shown
    assert "Data behind this figure (CSV)" in shown


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_texts_are_words_not_code_names(drawn, name):
    fig = drawn(name)
    fig.canvas.draw()
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    assert not [t for t in texts if CODE_NAME.search(t)], texts


def _colours(fig: plt.Figure) -> list[tuple[float, float, float]]:
    """Every colour of the lines, markers, bars and points drawn (colour maps of heat maps aside)."""
    found = []
    for artist in fig.findobj():
        if isinstance(artist, (AxesImage, QuadMesh)):
            continue
        if isinstance(artist, Line2D):
            found += [artist.get_color(), artist.get_markerfacecolor(), artist.get_markeredgecolor()]
        elif isinstance(artist, Patch):
            found += [artist.get_facecolor(), artist.get_edgecolor()]
        elif hasattr(artist, "get_facecolors") and hasattr(artist, "get_edgecolors"):
            found += list(artist.get_facecolors()) + list(artist.get_edgecolors())
    rgb = []
    for colour in found:
        if isinstance(colour, str) and colour == "none":
            continue
        rgba = matplotlib.colors.to_rgba(colour)
        if rgba[3] > 0:
            rgb.append(tuple(round(c, 3) for c in rgba[:3]))
    return rgb


@pytest.mark.parametrize("name", sorted(CASES))
def test_colours_are_okabe_ito_or_grey(drawn, name):
    fig = drawn(name)
    palette = {tuple(round(c, 3) for c in colour) for colour in OKABE_ITO}
    coloured = {c for c in _colours(fig) if max(c) - min(c) > 1e-3}  # greys (and black, white) aside
    assert coloured <= palette, f"not Okabe-Ito: {sorted(coloured - palette)}"


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_a_figure_with_nothing_to_plot_says_so(draw, name):
    fig = draw(name, EMPTY[name]())
    note = figure_note(fig)
    assert note.title and note.alt
    assert isinstance(note.data, pd.DataFrame) and note.data.empty
    assert "<figure" in (display.figure_html(fig) or "")


def test_effect_forest_draws_raw_and_adjusted_estimates_apart_and_in_units(draw):
    fig = draw("plots.effect_forest")
    note = figure_note(fig)
    assert note.title == "Effect of an unannounced inspection on each outcome by method, with 95% intervals"
    assert "+9.1 percentage points" in note.alt and "+910 yuan" in note.alt  # augmented IPW, in units
    assert set(note.data["method"]) == {"raw difference", "regression adjustment", "augmented IPW (doubly robust)"}
    shares = note.data[note.data["unit"] == "percentage points"]
    assert shares["estimate"].max() == pytest.approx(12.0)  # shares drawn in percentage points
    markers = {line.get_marker() for line in fig.findobj(Line2D) if line.get_marker() not in ("None", "", None)}
    assert {"o", "s"} <= markers  # raw difference and adjusted estimates differ by marker, not colour alone
    assert any(line.get_linestyle() == "--" for line in fig.findobj(Line2D))  # the planted truth, dashed


# --- disclosure: what was withheld never reaches a figure's data or alt text ---------------------


def test_a_withheld_cell_never_reaches_the_coverage_data(draw):
    counts = pd.DataFrame(
        [[120, 3, 95, 101], [60, 70, 4, 66], [44, 52, 61, 58]],
        index=pd.Index(["Hunan", "Beijing", "Jiangsu"], name="province"),
        columns=pd.Index(QUARTERS, name="quarter"),
    )
    masked, withheld = disclosure.suppress_grid(counts, 5)
    assert withheld.cells > 2  # the two small cells, and more to protect them
    fig = draw("plots.coverage_heatmap", {"counts": masked, "withheld": withheld.legend})
    note = figure_note(fig)
    cells = set(zip(note.data["province"], note.data["quarter"], strict=True))
    for province, quarter in zip(*np.nonzero(withheld.mask.to_numpy()), strict=True):
        assert (counts.index[province], counts.columns[quarter]) not in cells
    assert not note.data["inspections"].isin([3, 4]).any()
    assert f"{withheld.cells} cells withheld" in note.alt


def test_withheld_trends_never_reach_the_trend_data(draw):
    inputs = trends()
    trend = inputs["trend"].copy()
    trend.loc[(trend["province"] == "Beijing") & (trend["period"] == "2022Q3"), "inspections"] = 2
    trend.loc[(trend["province"] == "Beijing") & (trend["period"] == "2022Q3"), "case_rate"] = 0.987  # distinctive
    shown, withheld = disclosure.suppress_metrics(trend, ["case_rate"], 5, group_totals=["period"])
    assert withheld.cells >= 1
    fig = draw("plots.metric_trends", {**inputs, "trend": shown, "metrics": ["case_rate"], "withheld": withheld.legend})
    note = figure_note(fig)
    assert not np.isclose(note.data["value"], 98.7).any()
    assert "98.7" not in note.alt
    missing = shown[shown["case_rate"].isna()]
    plotted = set(zip(note.data["province"], note.data["quarter"], strict=True))
    assert not plotted & set(zip(missing["province"], missing["period"], strict=True))


def test_a_withheld_subgroup_never_reaches_the_subgroup_data(draw):
    fig = draw("plots.subgroup_effects")
    note = figure_note(fig)
    assert "Secretville" not in set(note.data["industry"])
    assert "Secretville" not in note.alt
    assert "1 industry without an estimate" in note.alt
    assert (
        note.title
        == "Effect on the chance that a penalty case is filed by industry (percentage points), with 95% intervals"
    )
    assert "+7.9 percentage points (trade)" in note.alt


def test_a_noted_figure_shows_as_html_in_a_notebook(monkeypatch, draw):
    """matplotlib-inline drops every Figure formatter when pyplot resolves its backend (at the first
    figure, after `display` registered its own): `note` registers it again, so the figure shows as
    `display.figure_html` (title, alt text, data), not as a bare PNG."""
    import IPython
    from IPython.core.formatters import HTMLFormatter

    formatter = HTMLFormatter()
    shell = SimpleNamespace(display_formatter=SimpleNamespace(formatters={"text/html": formatter}))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    fig = draw("plots.lag_profile")
    shown = formatter(fig)
    assert shown is not None and "<figure" in shown and html.escape(figure_note(fig).title) in shown


# --- legible at the size a report shows it, nothing cut off -----------------------------------------

PAGE_WIDTH = 900  # pixels: the report's column on a desktop (`report.render`: 960 less its padding)


def _numeric(label: str) -> bool:
    try:
        float(label.replace("\N{MINUS SIGN}", "-").replace(",", ""))
    except ValueError:
        return False
    return True


def _drawn_texts(fig: plt.Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _inside(fig: plt.Figure) -> tuple[bool, str]:
    """Whether everything drawn lies on the figure (within a hundredth of an inch), and what sticks out."""
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())  # inches; only ticks inside the view count
    width, height = fig.get_size_inches()
    inside = box.x0 >= -0.01 and box.y0 >= -0.01 and box.x1 <= width + 0.01 and box.y1 <= height + 0.01
    return inside, f"drawn over {box.bounds} of a {width:g} x {height:g} inch figure"


LONG = {  # labels longer than their axes: wrapped, never cut at the figure's edge
    "plots.event_study": lambda: {**event(), "label": "major_hazard_filing_rate"},  # Figure 3.4's y label
    "plots.subgroup_effects": lambda: {
        **subgroups(),
        "label": "effect on the share of inspections that end with a penalty case filed within the same quarter",
    },
    "plots.metric_trends": lambda: {
        **trends(),
        "trend": trends()["trend"].rename(columns={"case_rate": "major_hazard_filing_rate"}),
        "metrics": ["major_hazard_filing_rate", "avg_case_value"],
    },
    "plots.notice_vs_data": lambda: {
        **notice_comparison(),
        "withheld": "– withheld under disclosure control: built from fewer than 5 inspections, or needed to keep "
        "another withheld cell from being worked out from the totals; the notice's own figure is shown alone",
    },
}


@pytest.mark.parametrize("case", [*(f"{name}|usual" for name in sorted(CASES)), *(f"{n}|long" for n in sorted(LONG))])
def test_no_text_extends_beyond_the_figure(draw, drawn, case):
    name, kind = case.split("|")
    fig = draw(name, LONG[name]()) if kind == "long" else drawn(name)
    inside, where = _inside(fig)
    assert inside, f"{name}: text cut off at the figure's edge, {where}"


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_no_text_extends_beyond_an_empty_figure(draw, name):
    inside, where = _inside(draw(name, EMPTY[name]()))
    assert inside, f"{name}: {where}"


def test_a_y_label_longer_than_its_axes_is_wrapped(draw):
    fig = draw("plots.event_study", LONG["plots.event_study"]())
    fig.canvas.draw()
    ax = fig.axes[0]
    label = ax.yaxis.label
    assert "\n" in label.get_text()
    assert " ".join(label.get_text().split()) == "effect on the filing rate after a major hazard (percentage points)"
    assert label.get_window_extent().height <= ax.get_window_extent().height


@pytest.mark.parametrize("name", sorted(CASES))
def test_text_is_legible_at_the_size_a_report_shows(drawn, name):
    """A report shows a figure at its width in pixels (`WIDTH * DPI`, at most the page's column), so a
    point of text is DPI / 72 pixels: every text is `plots.SMALL` points (about 14 px) or more."""
    fig = drawn(name)
    assert fig.get_dpi() == plots.DPI
    shown = fig.get_figwidth() * fig.get_dpi()
    assert shown <= PAGE_WIDTH, f"{name} is {shown:.0f} px wide: a page shrinks it, and its text with it"
    fig.canvas.draw()
    small = sorted({(t.get_fontsize(), t.get_text()[:30]) for t in _drawn_texts(fig) if t.get_fontsize() < plots.SMALL})
    assert not small, f"{name}: text under {plots.SMALL} points: {small}"
    assert min(t.get_fontsize() for t in _drawn_texts(fig)) * plots.DPI / 72 >= 13


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_axis_with_numbers_is_labelled(drawn, name):
    """Numbers on an axis say nothing without its label (quantity and unit): risk grades 1 to 4 too."""
    fig = drawn(name)
    fig.canvas.draw()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            numbers = [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and _numeric(t.get_text())]
            if numbers:
                assert axis.get_label_text().strip(), f"{name}: an axis with ticks {numbers} has no label"


def test_style_is_left_as_it_was(draw):
    """The house style holds while a figure is drawn, and only then: a notebook's own settings (and the
    inline backend's `interactive`) are as they were."""
    before = {key: matplotlib.rcParams[key] for key in (*plots.STYLE, "interactive", "backend")}
    fig = draw("plots.event_study")
    assert {key: matplotlib.rcParams[key] for key in before} == before
    assert fig.axes[0].xaxis.label.get_fontsize() == plots.TEXT


def test_subgroup_effects_names_its_groups_on_the_axis(draw):
    fig = draw(
        "plots.subgroup_effects",
        {**subgroups(), "frame": subgroups()["frame"].rename(columns={"industry": "risk_level"}), "by": "risk_level"},
    )
    assert fig.axes[0].get_ylabel() == "risk grade"


def test_adoption_timeline_names_the_programme_it_is_given(draw):
    fig = draw("plots.adoption_timeline", {**timeline(), "program": "a surprise-inspection campaign"})
    note = figure_note(fig)
    assert note.title == "Regions adopting a surprise-inspection campaign, by quarter of adoption (number of regions)"
    texts = " ".join(t.get_text() for t in _drawn_texts(fig))
    assert "cross-region" not in note.title + texts
    assert "Never adopt: 3 regions (the comparison group)" in texts
    assert note.data.set_index("quarter of adoption")["regions"].to_dict() == {
        "2022Q2": 2,
        "2022Q3": 1,
        "2023Q1": 3,
        "never": 3,
    }
    untold = figure_note(draw("plots.adoption_timeline"))
    assert untold.title.startswith("Regions adopting the programme, by quarter")
