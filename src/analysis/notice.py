"""The 2022 notice's figures, and the same figures recomputed from a dataset.

The figures ship with the package (resources/notice_figures.csv, a copy of the
contract's seed-figures.csv).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Published, suppress, suppress_metrics
from .errors import ParameterError
from .limits import Unavailable
from .metrics import ReportingPeriod, compute, parse_period, quarters_of, trend

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
    rows = figures()[(figures()["region"] == region) & (figures()["metric"] == metric)]
    if rows.empty:
        raise KeyError(f"the notice has no figure {metric!r} for {region}")
    return float(rows["value"].iloc[0])


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
    """One sentence: where the data and the notice differ most (among ratios not withheld)."""
    shown = comparison.dropna(subset=["relative_difference"])
    if comparison.empty:
        return "The data has no Jiangsu inspections in this period, so there is nothing to set beside the notice."
    if shown.empty:
        return "Every Jiangsu ratio is withheld or not defined: too few inspections to compare with the notice."
    worst = shown.loc[shown["relative_difference"].abs().idxmax()]
    return (
        f"The largest gap between the data and the notice is in {worst.metric.replace('_', ' ')}: "
        f"{worst.data:.3f} against {worst.notice:.3f} ({worst.relative_difference:+.1%})."
    )


def _inspection_counts(dataset: Dataset, province: str, period: ReportingPeriod) -> dict[str, int]:
    """A province's inspections, cases and inspections finding a major hazard in a period."""
    inspections = dataset.inspections
    in_province = np.asarray(inspections["region_id"].map(dataset.province_by_region()) == province, dtype=bool)
    in_period = np.asarray(quarters_of(inspections["inspection_date"]).isin(period.quarters), dtype=bool)
    rows = inspections[in_province & in_period]
    return {
        "inspections": len(rows),
        "cases": int(rows["case_filed"].sum()),
        "with_major": int((rows["major_hazards"] > 0).sum()),
    }


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
    before, after = staffing["data"].to_numpy()
    if np.isfinite(before) and np.isfinite(after) and before > 0:
        return (
            f"Hunan's officers grew by {after / before - 1:+.1%} between the end of 2021 and the end of 2022 "
            f"({before:,.0f} to {after:,.0f}; the notice: 1,952 to 2,767, +42%)."
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
