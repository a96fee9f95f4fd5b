"""The notice's metrics (data contract, "Metrics") for any grouping and period.

Periods are written as a quarter (``2022Q3``), a half-year (``2022H1``) or a year
(``2022``). A year-on-year ratio divides a period's value by the value of the
same period one year earlier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import engine
from .data import Dataset
from .errors import ParameterError

METRICS = (
    "inspections",
    "surprise_share",
    "cases",
    "case_rate",
    "key_matter_cases",
    "penalty_total",
    "avg_case_value",
    "double_penalty_cases",
    "major_hazards",
    "major_hazard_filing_rate",
    "officers",
    "inspections_per_officer",
)
GROUPINGS = ("province", "region", "industry")
GRANULARITIES = ("quarter", "half", "year")
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:(?P<kind>[QH])(?P<part>\d))?$")


@dataclass(frozen=True)
class ReportingPeriod:
    """A quarter, half-year or year."""

    year: int
    granularity: str  # quarter | half | year
    part: int = 1  # quarter 1-4 or half 1-2

    @property
    def label(self) -> str:
        return {"quarter": f"{self.year}Q{self.part}", "half": f"{self.year}H{self.part}", "year": f"{self.year}"}[
            self.granularity
        ]

    @property
    def quarters(self) -> pd.PeriodIndex:
        first = {"quarter": self.part, "half": 2 * self.part - 1, "year": 1}[self.granularity]
        count = {"quarter": 1, "half": 2, "year": 4}[self.granularity]
        return pd.period_range(pd.Period(f"{self.year}Q{first}", freq="Q-DEC"), periods=count, freq="Q-DEC")

    def year_before(self) -> ReportingPeriod:
        return ReportingPeriod(self.year - 1, self.granularity, self.part)

    def __str__(self) -> str:
        return self.label


def parse_period(text: str) -> ReportingPeriod:
    """Parse ``2022Q3``, ``2022H1`` or ``2022``; raise ParameterError otherwise."""
    match = _PERIOD.match(str(text).strip())
    kind, part = (match.group("kind"), match.group("part") or "") if match else (None, "")
    valid = match is not None and (kind is None or (kind == "Q" and part in "1234") or (kind == "H" and part in "12"))
    if match is None or not valid:
        raise ParameterError(f"period {text!r} is not a quarter (2022Q3), half-year (2022H1) or year (2022)")
    granularity = {"Q": "quarter", "H": "half", None: "year"}[kind]
    return ReportingPeriod(int(match.group("year")), granularity, int(part or 1))


def period_labels(quarters: pd.Series | pd.PeriodIndex, granularity: str) -> pd.Series:
    """Label each quarter with the quarter, half-year or year it belongs to (a categorical).

    Labels are built once per distinct quarter and spread by code, which keeps this
    cheap on millions of inspections.
    """
    if granularity not in GRANULARITIES:
        raise ParameterError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    codes, distinct = pd.factorize(pd.PeriodIndex(quarters, freq="Q-DEC"), sort=True)
    label_of = {
        "quarter": lambda q: str(q),
        "half": lambda q: f"{q.year}H{1 if q.quarter <= 2 else 2}",
        "year": lambda q: str(q.year),
    }[granularity]
    labels = np.array([label_of(q) for q in distinct] + [None], dtype=object)
    return pd.Series(pd.Categorical(labels[np.where(codes >= 0, codes, len(distinct))]))


def quarter_span(dataset: Dataset) -> tuple[pd.Period, pd.Period] | None:
    """The first and last quarter with inspections, or None when there are none (counted in SQL)."""
    span = engine.query(dataset, "SELECT MIN(inspection_date) AS first, MAX(inspection_date) AS last FROM inspections")
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    if pd.isna(first):
        return None
    return pd.Timestamp(first).to_period("Q"), pd.Timestamp(last).to_period("Q")


def quarters_of(dates: pd.Series) -> pd.PeriodIndex:
    """Quarter of each date, computed on integer months (much faster than .dt.to_period)."""
    return pd.PeriodIndex.from_ordinals(quarter_ordinals(dates), freq="Q-DEC")


def quarter_ordinals(dates: pd.Series) -> np.ndarray:
    """Quarter of each date as its ordinal (quarters since 1970Q1, as `Quarter.ordinal`), without
    making a Period per date: worked out once per day of the span, which is fast at millions of dates."""
    days = dates.to_numpy().astype("datetime64[D]")
    if not len(days) or np.isnat(days).any():  # NaT has no quarter: left to numpy as it is
        return days.astype("datetime64[M]").astype("int64") // 3
    first, last = days.min(), days.max()
    quarter_of_day = np.arange(first, last + 1).astype("datetime64[M]").astype("int64") // 3
    return quarter_of_day[(days - first).astype("int64")]


def trend(dataset: Dataset, by: str | None = None, granularity: str = "quarter") -> pd.DataFrame:
    """Every metric for every group and period of the given granularity.

    The inspections are counted in SQL where they lie (`analysis.engine`), so this holds
    only the per-group counts, whatever the number of inspections.
    """
    group = _group_column(by)
    if granularity not in GRANULARITIES:
        raise ParameterError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    keys = [c for c in (group, "period") if c]
    counts = engine.query(dataset, counts_sql(group, granularity), COUNTS_TABLES).set_index(keys)
    out = counts.assign(
        # Not recorded is not zero: without any key_matter value the count is unknown.
        key_matter_cases=lambda d: d["key_matter_cases"].where(d["key_matter_known"] > 0),
        surprise_share=lambda d: d["surprise"] / d["inspections"],
        case_rate=lambda d: d["cases"] / d["inspections"],
        avg_case_value=lambda d: d["penalty_total"] / d["cases"].where(d["cases"] > 0),
        major_hazard_filing_rate=lambda d: d["with_major_filed"] / d["with_major"].where(d["with_major"] > 0),
    )
    officers = _officers(dataset, group, granularity)
    out["officers"] = officers.reindex(out.index).to_numpy() if officers is not None else np.nan
    out["inspections_per_officer"] = out["inspections"] / out["officers"].where(out["officers"] > 0)
    out = out.reset_index()[keys + list(METRICS)]
    return out.astype({key: "str" for key in keys})  # plain labels: sortable, comparable


def counts_sql(group: str | None, granularity: str) -> str:
    """The SQL counting inspections, cases, fines and hazards per group and period.

    Sums the inspections' cells by region, industry and quarter (`engine.INSPECTION_CELLS`,
    stored with a report's snapshot) and reads `regions` for the province; returns one row
    per group and period, ordered by them: the keys, then integer counts and the fines'
    float total. The notice's and the scorecard's counts come from this same query.
    """
    period = engine.period_label("c.inspection_year", "c.inspection_quarter", granularity)
    key = {None: None, "province": "r.province", "region_id": "c.region_id", "industry": "c.industry"}[group]
    keys = [*([f"{key} AS {group}"] if key else []), f"{period} AS period"]
    join = "JOIN regions AS r ON r.region_id = c.region_id" if group == "province" else ""
    counts = ["inspections", "surprise", "cases", "key_matter_cases", "key_matter_known", "double_penalty_cases"]
    counts += ["major_hazards", "with_major", "with_major_filed", "cross_region"]
    sums = [f"CAST(SUM(c.{name}) AS BIGINT) AS {name}" for name in counts]
    by = ", ".join(str(n + 1) for n in range(len(keys)))
    return f"""
        SELECT {", ".join(keys)}, {", ".join(sums)}, CAST(SUM(c.penalty_total) AS DOUBLE) AS penalty_total
        FROM inspection_cells AS c {join}
        GROUP BY {by}
        ORDER BY {by}"""


COUNTS_TABLES = ["inspection_cells", "regions"]  # what `counts_sql` reads


def region_quarter(dataset: Dataset, last_period: str | None = None) -> pd.DataFrame:
    """Every metric per region and quarter (columns region_id, quarter, ...), up to `last_period`."""
    cells = trend(dataset, by="region", granularity="quarter").rename(columns={"period": "quarter"})
    if last_period:
        cells = cells[cells["quarter"] <= last_period]
    return cells.reset_index(drop=True)


def compute(
    dataset: Dataset, by: str | None = None, period: str | ReportingPeriod = "2022", yoy: bool = False
) -> pd.DataFrame:
    """Metrics for one period, one row per group; with `yoy`, ratios to a year earlier."""
    period = parse_period(period) if isinstance(period, str) else period
    table = trend(dataset, by, period.granularity)
    group = _group_column(by)
    current = _select(table, period, group)
    if not yoy:
        return current
    earlier = _select(table, period.year_before(), group, required=False)  # none a year earlier: ratios n/a
    keys = [group] if group else []
    merged = (
        current.merge(earlier, on=keys, how="left", suffixes=("", "_prev")) if keys else _side_by_side(current, earlier)
    )
    for metric in METRICS:
        merged[f"{metric}_yoy"] = merged[metric] / merged[f"{metric}_prev"]
    return merged.drop(columns=[f"{m}_prev" for m in METRICS] + ["period_prev"])


def _select(table: pd.DataFrame, period: ReportingPeriod, group: str | None, required: bool = True) -> pd.DataFrame:
    rows = table[table["period"] == period.label].reset_index(drop=True)
    if rows.empty and required:
        available = sorted(table["period"].unique())
        span = f"{available[0]} to {available[-1]}" if available else "none"
        raise ParameterError(f"no inspections in period {period.label} (the data covers {span})")
    return rows


def _side_by_side(current: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame:
    if earlier.empty:
        earlier = pd.DataFrame(np.nan, index=[0], columns=current.columns)
    return pd.concat([current, earlier.add_suffix("_prev")], axis=1)


def _group_column(by: str | None) -> str | None:
    if by is None:
        return None
    if by not in GROUPINGS:
        raise ParameterError(f"--by must be one of {', '.join(GROUPINGS)} or none, got {by!r}")
    return {"region": "region_id"}.get(by, by)


def _province_column(region_id: pd.Series, dataset: Dataset) -> pd.Categorical:
    """Province of each row, mapped once per region category rather than per row."""
    regions = region_id.astype("category").cat
    province = dataset.province_by_region().reindex(regions.categories.astype("str"))
    province_codes, provinces = pd.factorize(province)
    codes = regions.codes.to_numpy()
    return pd.Categorical.from_codes(np.where(codes >= 0, province_codes[codes.clip(0)], -1), categories=provinces)


def _officers(dataset: Dataset, group: str | None, granularity: str) -> pd.Series | None:
    """Officers summed over the group's regions in the last quarter of each period.

    A sum with a region missing is not the group's total (and would flip a year-on-year
    direction): where any region of the group that reports staffing at all lacks the
    closing quarter's row, the total is left missing rather than understated.
    """
    staffing = dataset.staffing
    if group == "industry" or staffing.empty:
        return None  # staffing is not kept by industry
    label = period_labels(staffing["period"], granularity).array
    quarter = pd.PeriodIndex(staffing["period"], freq="Q-DEC")
    frame = pd.DataFrame(
        {
            "period": label,
            "officers": staffing["officers"].to_numpy(),
            "region": staffing["region_id"].astype("str").to_numpy(),
        }
    )
    if group == "province":
        frame[group] = _province_column(staffing["region_id"], dataset)
    elif group:
        frame[group] = staffing[group].array
    keys = [c for c in (group, "period") if c]
    closing = frame[_is_last_quarter_of_period(quarter, granularity)]
    totals = closing.groupby(keys, observed=True).agg(officers=("officers", "sum"), reporting=("region", "nunique"))
    expected = frame.groupby(group, observed=True)["region"].nunique() if group else frame["region"].nunique()
    expected_per_row = totals.index.get_level_values(group).map(expected).to_numpy() if group else expected
    return totals["officers"].astype("float64").where(totals["reporting"].to_numpy() >= expected_per_row)


def _is_last_quarter_of_period(quarter: pd.PeriodIndex, granularity: str) -> np.ndarray:
    """Officers are read at the period's closing quarter; a period without it has none."""
    closing = {"quarter": (1, 2, 3, 4), "half": (2, 4), "year": (4,)}[granularity]
    return np.isin(quarter.quarter, closing)
