"""The 2022 notice's figures, and the same figures recomputed from a dataset.

The figures ship with the package (resources/notice_figures.csv, a copy of the
contract's seed-figures.csv). The comparisons are frames with code names (`jiangsu_comparison`,
`hunan_staffing`, `latest_by_province`), for researchers; the `*_html` functions set them as a
reviewer reads them, each ratio stated the way the notice states it ("x2.7", "+12%").
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from . import display, engine, labels
from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Published, suppress, suppress_metrics
from .errors import ParameterError
from .limits import Unavailable
from .metrics import COUNTS_TABLES, ReportingPeriod, compute, counts_sql, parse_period, trend

JIANGSU_METRICS = (
    "key_matter_cases",
    "penalty_total",
    "avg_case_value",
    "double_penalty_cases",
    "major_hazard_filing_rate",
)
# The inspections each ratio is built from (disclosure control): fines come from cases only,
# the filing rate from inspections that found a major hazard.
JIANGSU_BASIS = {
    "key_matter_cases": "inspections",
    "penalty_total": "cases",
    "avg_case_value": "cases",
    "double_penalty_cases": "inspections",
    "major_hazard_filing_rate": "with_major",
}
LATEST_COLUMNS = [
    "province",
    "inspections",
    "case_rate",
    "avg_case_value",
    "officers",
    "inspections_yoy",
    "case_rate_yoy",
]


@lru_cache(maxsize=1)
def figures() -> pd.DataFrame:
    with resources.files("analysis").joinpath("resources/notice_figures.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle)


def figure(region: str, metric: str) -> float:
    return float(_figure_row(region, metric)["value"])


def jiangsu_comparison(
    dataset: Dataset, period: str = "2022H1", min_cell_size: int = DEFAULT_MIN_CELL_SIZE
) -> Published:
    """Jiangsu's year-on-year ratios in the data beside the notice's (2022H1 over 2021H1).

    A ratio built from fewer than `min_cell_size` inspections in either half-year (cases
    for fines, inspections finding a major hazard for the filing rate) is withheld.
    """
    where = f"Jiangsu, {period} over a year earlier"
    row = _by_province(dataset, period, yoy=True)
    if "Jiangsu" not in row.index:
        if outside := dataset.outside_scope_reason("Jiangsu"):
            raise Unavailable(f"{outside}, so the notice's Jiangsu figures are not recomputed here")
        raise Unavailable(
            f"the data has no inspections in a province named Jiangsu in {period}, so the notice's "
            "Jiangsu figures cannot be recomputed"
        )
    data = row.loc["Jiangsu"]
    out = pd.DataFrame(
        {
            "metric": list(JIANGSU_METRICS),
            "notice": [figure("Jiangsu", f"{m}_yoy") for m in JIANGSU_METRICS],
            "data": [float(data[f"{m}_yoy"]) for m in JIANGSU_METRICS],
        }
    )
    out["relative_difference"] = out["data"] / out["notice"] - 1
    now = _inspection_counts(dataset, "Jiangsu", parse_period(period))
    before = _inspection_counts(dataset, "Jiangsu", parse_period(period).year_before())
    out["basis"] = [min(now[JIANGSU_BASIS[m]], before[JIANGSU_BASIS[m]]) for m in JIANGSU_METRICS]
    shown, withheld = suppress(
        out, "basis", ["data", "relative_difference"], min_cell_size, withhold_count=False, where=where
    )
    return Published(shown.drop(columns="basis"), withheld)


def _by_province(dataset: Dataset, period: str, yoy: bool = False) -> pd.DataFrame:
    """`compute` by province for a period, or Unavailable when the data has no inspections then."""
    try:
        return compute(dataset, by="province", period=period, yoy=yoy).set_index("province")
    except ParameterError as err:  # the period is outside the data
        raise Unavailable(str(err).replace("no inspections", "the data has no inspections", 1)) from err


def jiangsu_reading(comparison: pd.DataFrame) -> str:
    """One sentence: where the data and the notice differ most (among ratios not withheld), each ratio
    stated the notice's way."""
    shown = comparison.dropna(subset=["relative_difference"])
    if comparison.empty:
        return "The data has no Jiangsu inspections in this period, so there is nothing to set beside the notice."
    if shown.empty:
        return "Every Jiangsu ratio is withheld or not defined: too few inspections to compare with the notice."
    worst = shown.loc[shown["relative_difference"].abs().idxmax()]
    return (
        f"The largest gap between the data and the notice is in the {labels.label(worst.metric)}: "
        f"{as_notice_states(worst.metric, worst.data)} in the data against {stated(worst.metric)} in the notice "
        f"(the data's ratio {_relative(worst.relative_difference)} the notice's)."
    )


def _relative(difference: float) -> str:
    """A relative difference in words: "0.1% below", "the same as" (to 0.1%)."""
    if abs(difference) < 0.0005:
        return "the same as (to 0.1%)"
    return f"{abs(difference):.1%} {'above' if difference > 0 else 'below'}"


# --- the notice's way of stating a ratio to a year earlier ---------------------------------------


def notice_form(metric: str, region: str = "Jiangsu") -> str:
    """How the notice states a ratio to a year earlier: "multiple" ("2.7 times": x2.7) or "growth"
    ("up 12%": +12%), read from the notice's own wording of the figure."""
    reading = _figure_row(region, f"{metric}_yoy")["reading"]
    return "multiple" if "times" in str(reading) else "growth"


def stated(metric: str, region: str = "Jiangsu") -> str:
    """The notice's figure as the notice states it: x2.7, +12%, +23.6% (its own precision)."""
    ratio = figure(region, f"{metric}_yoy")
    if notice_form(metric, region) == "multiple":
        return labels.multiple(ratio, _decimals(ratio))
    return f"{100 * (ratio - 1):+.{_decimals(100 * (ratio - 1))}f}%"


def as_notice_states(metric: str, ratio: float, region: str = "Jiangsu") -> str:
    """A ratio from the data in the form the notice uses for `metric`, one fixed precision for each
    form: x2.70 (a multiple, two decimals) or +12.1% (growth, one decimal)."""
    if notice_form(metric, region) == "multiple":
        return labels.multiple(ratio, 2)
    return labels.growth(ratio)


def _decimals(x: float) -> int:
    """The decimals a figure was given with (2.7 -> 1, 12.0 -> 0, 23.6 -> 1)."""
    text = f"{round(float(x), 6):.6f}".rstrip("0")
    return len(text.split(".")[1])


def _figure_row(region: str, metric: str) -> pd.Series:
    rows = figures()[(figures()["region"] == region) & (figures()["metric"] == metric)]
    if rows.empty:
        raise KeyError(f"the notice has no figure {metric!r} for {region}")
    return rows.iloc[0]


def _inspection_counts(dataset: Dataset, province: str, period: ReportingPeriod) -> dict[str, int]:
    """A province's inspections, cases and inspections finding a major hazard in a period."""
    counted = engine.query(dataset, counts_sql("province", period.granularity), COUNTS_TABLES)
    row = counted[(counted["province"] == province) & (counted["period"] == period.label)]
    return {name: int(row[name].sum()) for name in ("inspections", "cases", "with_major")}  # no row: 0


def hunan_staffing(dataset: Dataset) -> pd.DataFrame:
    """Hunan's officers at the end of 2021 and 2022 beside the notice's before/after figures.

    Not under disclosure control: officers are counts of staff, not of inspections, and
    say nothing about any enterprise. A year whose closing quarter lacks a Hunan region's
    staffing row has no total (missing), and `regions_missing` says how many lack it.
    """
    regions = dataset.regions
    hunan = set(regions.loc[regions["province"].astype("str") == "Hunan", "region_id"].astype("str"))
    if not hunan:
        if outside := dataset.outside_scope_reason("Hunan"):
            raise Unavailable(f"{outside}, so the notice's staffing figures are not recomputed here")
        raise Unavailable("the data has no province named Hunan, so the notice's staffing figures cannot be recomputed")
    staffing = dataset.staffing
    in_hunan = staffing["region_id"].astype("str").isin(hunan).to_numpy()
    reporting = set(staffing.loc[in_hunan, "region_id"].astype("str"))
    rows = []
    for label, year, metric in (("before", 2021, "officers_before"), ("after", 2022, "officers_after")):
        quarter = pd.Period(f"{year}Q4", freq="Q-DEC")
        closing = staffing[in_hunan & (staffing["period"] == quarter).to_numpy()]
        missing = len(reporting - set(closing["region_id"].astype("str"))) if reporting else len(hunan)
        value = float(closing["officers"].sum()) if len(closing) and not missing else float("nan")
        rows.append(
            {
                "when": label,
                "period": str(quarter),
                "notice": figure("Hunan", metric),
                "data": value,
                "regions_reporting": len(closing),
                "regions_missing": missing,
            }
        )
    return pd.DataFrame(rows)


def hunan_reading(staffing: pd.DataFrame) -> str:
    """One sentence on Hunan's growth in officers, or on why it cannot be given."""
    before, after = staffing["data"].to_numpy(dtype=float)
    if np.isfinite(before) and np.isfinite(after) and before > 0:
        notice = staffing["notice"].to_numpy(dtype=float)
        same = np.array_equal(notice, [before, after])
        return (
            f"Hunan's officers went from {before:,.0f} to {after:,.0f} ({labels.growth(after / before)}) between "
            "the end of 2021 and the end of 2022"
            + (", the notice's figures exactly." if same else f"; the notice: {_hunan_notice()}.")
        )
    gaps = [
        f"{row.period} (no Hunan staffing rows)"
        if row.regions_reporting == 0
        else f"{row.period} ({row.regions_missing} of {row.regions_reporting + row.regions_missing} regions "
        "without a staffing row)"
        for row in staffing.itertuples()
        if not np.isfinite(row.data)
    ]
    return (
        "Hunan's growth in officers cannot be given: the staffing totals are missing or incomplete for "
        + " and ".join(gaps)
        + "; a partial total would understate the staff."
    )


def province_trends(
    dataset: Dataset, period: str, metrics: list[str], min_cell_size: int = DEFAULT_MIN_CELL_SIZE
) -> Published:
    """`metrics.trend` by province and quarter up to `period`, `metrics` withheld where built from
    fewer than `min_cell_size` inspections (and further so that quarterly national totals do
    not reveal them). Officers are staff, not inspections: they stay as they are."""
    quarterly = trend(dataset, by="province", granularity="quarter")
    quarterly = quarterly[quarterly["period"] <= period].reset_index(drop=True)
    if quarterly.empty:
        raise Unavailable(f"the data has no inspections up to {period}")
    return Published(
        *suppress_metrics(
            quarterly, metrics, min_cell_size, group_totals=["period"], where="trends by province and quarter"
        )
    )


def officers_by_province(trends: pd.DataFrame) -> pd.DataFrame:
    """The officers columns of `province_trends`' table, or Unavailable when no staffing is recorded."""
    if trends["officers"].notna().sum() == 0:
        raise Unavailable("no complete staffing totals are recorded for any province and quarter in this period")
    return trends[["province", "period", "officers"]]


def latest_by_province(dataset: Dataset, period: str, min_cell_size: int = DEFAULT_MIN_CELL_SIZE) -> Published:
    """The quarter's figures by province with year-on-year ratios, under disclosure control.

    Cells from fewer than `min_cell_size` inspections are withheld (the average fine counts
    its cases; a ratio to a year earlier counts the smaller of the two quarters), and more
    so that the national figures on the report index do not reveal them. Officers are shown.
    """
    table = _by_province(dataset, period, yoy=True).reset_index()
    year_before = (table["inspections"] / table["inspections_yoy"]).round().fillna(0)  # none a year earlier: no ratio
    table["yoy_basis"] = np.minimum(table["inspections"], year_before)
    shown, withheld = suppress(
        table,
        "inspections",
        ["case_rate", "avg_case_value", "inspections_yoy", "case_rate_yoy"],
        min_cell_size,
        group_totals=(),
        basis={"avg_case_value": "cases", "inspections_yoy": "yoy_basis", "case_rate_yoy": "yoy_basis"},
        where=f"{period} by province",
    )
    return Published(shown[LATEST_COLUMNS], withheld)


def _hunan_notice() -> str:
    before, after = figure("Hunan", "officers_before"), figure("Hunan", "officers_after")
    return f"{before:,.0f} to {after:,.0f} ({labels.growth(after / before)})"


# --- as the report shows them --------------------------------------------------------------------

JIANGSU_HEADERS = {"data": "The data", "relative_difference": "Data against the notice"}


def jiangsu_html(comparison: Published, period: str = "2022H1") -> display.Html:
    """`jiangsu_comparison` as a reviewer reads it: each figure in words, the notice's ratio as the notice
    states it (x2.7, +12%), the data's the same way, and how far the data's ratio is from the notice's
    (withheld cells marked)."""
    frame = comparison.frame
    before = parse_period(period).year_before()
    shown = pd.DataFrame(
        {
            "Figure": [labels.first_upper(labels.label(m)) for m in frame["metric"]],
            "The notice": [stated(m) for m in frame["metric"]],
            "The data": [
                as_notice_states(m, x) if pd.notna(x) else x
                for m, x in zip(frame["metric"], frame["data"], strict=True)
            ],
            "Data against the notice": [_signed_percent(x) if pd.notna(x) else x for x in frame["relative_difference"]],
        },
        index=frame.index,  # the withheld cells are marked by position in `frame`
    )
    return display.table(
        shown,
        caption=f"Jiangsu, {period} against {before}: the notice's figures and the data's "
        "(x = times the year before; data against the notice = the data's ratio relative to the notice's)",
        withheld=display.relabelled(comparison.withheld, JIANGSU_HEADERS),
    )


def _signed_percent(x: float) -> str:
    return labels.growth(1 + x)


def hunan_html(staffing: pd.DataFrame) -> display.Html:
    """`hunan_staffing` as a reviewer reads it: officers at each year's end in the notice and in the data,
    and how many Hunan regions report staffing then."""
    shown = pd.DataFrame(
        {
            "At the end of": [f"{period[:4]} ({period})" for period in staffing["period"]],
            "Officers in the notice": [labels.count(x) for x in staffing["notice"]],
            "Officers in the data": [labels.count(x) for x in staffing["data"]],
            "Regions with a staffing row": [labels.count(x) for x in staffing["regions_reporting"]],
            "Regions without one": [labels.count(x) for x in staffing["regions_missing"]],
        }
    )
    return display.table(shown, caption="Hunan's enforcement officers before and after the team expansion")


LATEST_HEADERS = {
    "province": "Province",
    "inspections": labels.header("inspections"),
    "case_rate": labels.header("case_rate"),
    "avg_case_value": labels.header("avg_case_value"),
    "officers": labels.header("officers"),
    "inspections_yoy": "Inspections, change on a year earlier",
    "case_rate_yoy": "Case rate, change on a year earlier (percentage points)",
}


def latest_html(latest: Published, period: str) -> display.Html:
    """`latest_by_province` as a reviewer reads it: counts with separators, the case rate in %, the
    average fine in yuan, and the change on a year earlier (% for inspections, percentage points for
    the case rate); withheld cells marked."""
    frame = latest.frame
    shown = pd.DataFrame({"province": frame["province"].astype(str)})
    for column in ("inspections", "case_rate", "avg_case_value", "officers"):
        shown[column] = [labels.in_table(column, x) if pd.notna(x) else x for x in frame[column]]
    shown["inspections_yoy"] = [labels.growth(x) if pd.notna(x) else x for x in frame["inspections_yoy"]]
    shown["case_rate_yoy"] = [
        labels.change_in_table("case_rate", value, ratio) if pd.notna(ratio) else ratio
        for value, ratio in zip(frame["case_rate"], frame["case_rate_yoy"], strict=True)
    ]
    return display.table(
        shown.rename(columns=LATEST_HEADERS),
        caption=f"{period} by province, and the change on {parse_period(period).year_before()}",
        withheld=display.relabelled(latest.withheld, LATEST_HEADERS),
    )


def finding(jiangsu, hunan, period: str = "2022H1") -> str:
    """The page's main finding: how the data's figures compare with the notice's, with numbers and units.

    `jiangsu` is `jiangsu_comparison(dataset, period, ...).frame` and `hunan` `hunan_staffing(...)`;
    either may be the stand-in of a step that was not possible (`limits.Missing`), and is then left out
    of the sentence. Withheld ratios are never stated.
    """
    if not isinstance(jiangsu, pd.DataFrame) and not isinstance(hunan, pd.DataFrame):
        return "Neither the notice's Jiangsu figures nor its Hunan staffing could be recomputed here (see below)."
    parts = [
        _jiangsu_finding(jiangsu, period)
        if isinstance(jiangsu, pd.DataFrame)
        else "The notice's Jiangsu figures could not be recomputed here (see below).",
        _hunan_finding(hunan)
        if isinstance(hunan, pd.DataFrame)
        else "The notice's Hunan staffing could not be recomputed here (see below).",
    ]
    return " ".join(parts)


def _jiangsu_finding(comparison: pd.DataFrame, period: str) -> str:
    where = f"In Jiangsu, {period} against {parse_period(period).year_before()}"
    shown = comparison.dropna(subset=["data", "relative_difference"])
    if shown.empty:
        return f"{where}, none of the notice's ratios can be recomputed (withheld or not defined)."
    gap = shown["relative_difference"].abs()
    which = (
        f"all {len(shown)} of the notice's ratios"
        if len(shown) == len(comparison)
        else f"{len(shown)} of the notice's {len(comparison)} ratios (the others withheld or not defined)"
    )
    if gap.max() < 0.05:
        verdict = f"the data reproduces {which} to within {_ceil_percent(gap.max())}"
    else:
        widest = shown.loc[gap.idxmax()]
        verdict = (
            f"the data departs from the notice on {which}, most in {labels.label(widest.metric)} "
            f"({_relative(widest.relative_difference)} the notice's ratio)"
        )
    figures_ = [
        f"{labels.label(r.metric)} {as_notice_states(r.metric, r.data)} (notice {stated(r.metric)})"
        for r in shown.itertuples()
    ]
    return f"{where}, {verdict}: " + ", ".join(figures_) + "."


def _ceil_percent(x: float) -> str:
    """An upper bound for a small relative difference, to 0.1%: 0.0004 -> 0.1%, 0.0123 -> 1.3%."""
    return f"{max(np.ceil(1000 * x - 1e-9) / 10, 0.1):.1f}%"


def _hunan_finding(staffing: pd.DataFrame) -> str:
    before, after = staffing["data"].to_numpy(dtype=float)
    if not (np.isfinite(before) and np.isfinite(after) and before > 0):
        return "Hunan's growth in officers cannot be recomputed (staffing totals missing or incomplete)."
    return hunan_reading(staffing)
