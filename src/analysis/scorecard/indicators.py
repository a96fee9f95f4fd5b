"""Second-level indicators per region for one quarter, from the data contract's tables.

Every metric is a ratio of two per-region counts of the quarter (`counts`), so that what a
metric needs, what it is built from (for disclosure control) and how it reads are declared
once, in `METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import engine
from ..data import Dataset
from ..metrics import COUNTS_TABLES, counts_sql

# Cell states: a value that may be shown, one withheld under disclosure control, one not defined
# (no denominator) or not recorded (no staffing or accident row, an unknown value).
SHOWN, WITHHELD, MISSING = "", "withheld", "missing"


@dataclass(frozen=True)
class Metric:
    """One metric: `numerator / denominator * scale` over the quarter's per-region counts.

    `needs` names the columns (``table.column``) it is computed from; `basis` the count of
    inspections it is built from (disclosure control), None for staff and accident counts,
    which say nothing about any enterprise. `unit` says how a value reads (see `describe`).
    """

    label: str
    numerator: str
    denominator: str
    needs: tuple[str, ...]
    unit: str  # share | yuan | ratio | per_1000
    basis: str | None = "inspections"
    scale: float = 1.0


METRICS: dict[str, Metric] = {
    "inspections_per_officer": Metric(
        "inspections per officer",
        "inspections",
        "officers",
        ("inspections.inspection_id", "staffing.officers"),
        "ratio",
    ),
    "surprise_share": Metric(
        "share of inspections unannounced", "surprise", "inspections", ("inspections.surprise",), "share"
    ),
    "case_rate": Metric("case rate", "cases", "inspections", ("inspections.case_filed",), "share"),
    "avg_case_value": Metric(
        "average fine per case",
        "penalty_total",
        "cases",
        ("inspections.penalty_amount", "inspections.case_filed"),
        "yuan",
        basis="cases",
    ),
    "double_penalty_share": Metric(
        "share of cases with a double penalty",
        "double_penalty_cases",
        "cases",
        ("inspections.double_penalty", "inspections.case_filed"),
        "share",
        basis="cases",
    ),
    "major_hazard_filing_rate": Metric(
        "filing rate after a major hazard",
        "with_major_filed",
        "with_major",
        ("inspections.major_hazards", "inspections.case_filed"),
        "share",
        basis="with_major",
    ),
    "key_matter_share": Metric(
        "share of cases on key matters",
        "key_matter_cases",
        "cases",
        ("inspections.key_matter", "inspections.case_filed"),
        "share",
        basis="cases",
    ),
    "cross_region_share": Metric(
        "share of inspections by outside teams", "cross_region", "inspections", ("inspections.cross_region",), "share"
    ),
    "officers_per_1000_enterprises": Metric(
        "officers per 1,000 enterprises",
        "officers",
        "enterprises",
        ("staffing.officers", "regions.enterprises"),
        "per_1000",
        None,
        1000.0,
    ),
    "technical_inspector_ratio": Metric(
        "technical inspectors per officer",
        "technical_inspectors",
        "officers",
        ("staffing.technical_inspectors", "staffing.officers"),
        "ratio",
        None,
    ),
    "trainees_per_officer": Metric(
        "trainees per officer", "trainees", "officers", ("staffing.trainees", "staffing.officers"), "ratio", None
    ),
    "accidents_per_1000_enterprises": Metric(
        "accidents per 1,000 enterprises",
        "accidents",
        "enterprises",
        ("accidents.accidents", "regions.enterprises"),
        "per_1000",
        None,
        1000.0,
    ),
    "deaths_per_1000_enterprises": Metric(
        "deaths per 1,000 enterprises",
        "deaths",
        "enterprises",
        ("accidents.deaths", "regions.enterprises"),
        "per_1000",
        None,
        1000.0,
    ),
}
BASIS_WORDS = {"inspections": "inspections", "cases": "cases", "with_major": "inspections finding a major hazard"}


def counts(dataset: Dataset, quarter: pd.Period) -> pd.DataFrame:
    """Per-region counts of `quarter`, one row per region of the regions table (index region_id).

    Inspection counts are 0 for a region without inspections; staff and accident counts are
    missing where the region has no row for the quarter, and `key_matter_cases` where none of
    its inspections records `key_matter`.
    """
    regions = dataset.regions.assign(region_id=lambda r: r["region_id"].astype("str")).set_index("region_id")
    out = _inspection_counts(dataset, quarter).reindex(regions.index).fillna(0)
    out["key_matter_cases"] = out["key_matter_cases"].where(out.pop("key_matter_known") > 0)
    staff = _rows_of(dataset.staffing, quarter, ["officers", "technical_inspectors", "trainees"])
    accidents = _rows_of(dataset.accidents, quarter, ["accidents", "deaths"])
    out = out.join(staff).join(accidents)
    out["enterprises"] = pd.to_numeric(regions["enterprises"], errors="coerce").astype("float64")
    return out


def _inspection_counts(dataset: Dataset, quarter: pd.Period) -> pd.DataFrame:
    """Per-region counts of the quarter's inspections (index region_id), counted in SQL where the rows lie."""
    counted = engine.query(dataset, counts_sql("region_id", "quarter"), COUNTS_TABLES)
    rows = counted[counted.pop("period") == str(quarter)].drop(columns="major_hazards")
    return rows.set_index("region_id").astype("float64")


def _rows_of(table: pd.DataFrame, quarter: pd.Period, columns: list[str]) -> pd.DataFrame:
    """The quarter's row of each region in a region-quarter table (staffing, accidents), as floats."""
    rows = table[np.asarray(pd.PeriodIndex(table["period"], freq="Q-DEC") == quarter, dtype=bool)]
    frame = pd.DataFrame(
        {c: pd.to_numeric(rows[c], errors="coerce").astype("float64").to_numpy() for c in columns},
        index=rows["region_id"].astype("str").to_numpy(),
    )
    return frame[~frame.index.duplicated()]


def lacking(dataset: Dataset, metric: str) -> str | None:
    """The first column `metric` needs that the data does not record at all (``table.column``), or None."""
    for need in METRICS[metric].needs:
        table, column = need.split(".")
        if table not in dataset.tables or not engine.has_values(dataset, table, column):
            return need
    return None


def values(counts: pd.DataFrame, metrics: dict[str, str], k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indicator values per region (columns: indicator ids, metrics given as {id: metric}) and their states.

    A value built from fewer than `k` inspections (its basis: cases for a fine, inspections
    finding a major hazard for the filing rate) is withheld and set missing; a value without a
    denominator, or from a missing row, is missing. Returns (values, states).
    """
    shown, states = {}, {}
    for node, name in metrics.items():
        metric = METRICS[name]
        denominator = counts[metric.denominator]
        value = metric.scale * counts[metric.numerator] / denominator.where(denominator > 0)
        small = (counts[metric.basis] < k) if metric.basis else pd.Series(False, index=counts.index)
        state = np.where(value.isna(), MISSING, np.where(small, WITHHELD, SHOWN))
        shown[node] = value.where(state == SHOWN)
        states[node] = state
    return pd.DataFrame(shown, index=counts.index), pd.DataFrame(states, index=counts.index)


def describe(metric: str, value: float) -> str:
    """A value of `metric` in its unit: 18.2%, 23,600 yuan, 1.32, 2.10 per 1,000."""
    unit = METRICS[metric].unit
    if not np.isfinite(value):
        return "not defined"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "yuan":
        return f"{value:,.0f} yuan"
    return f"{value:,.2f}"
