"""The 2022 notice's figures, and the same figures recomputed from a dataset.

The figures ship with the package (resources/notice_figures.csv, a copy of the
contract's seed-figures.csv).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from .data import Dataset
from .metrics import compute

JIANGSU_METRICS = ("key_matter_cases", "penalty_total", "avg_case_value", "double_penalty_cases", "major_hazard_filing_rate")


@lru_cache(maxsize=1)
def figures() -> pd.DataFrame:
    with resources.files("analysis").joinpath("resources/notice_figures.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle)


def figure(region: str, metric: str) -> float:
    rows = figures()[(figures()["region"] == region) & (figures()["metric"] == metric)]
    if rows.empty:
        raise KeyError(f"the notice has no figure {metric!r} for {region}")
    return float(rows["value"].iloc[0])


def jiangsu_comparison(dataset: Dataset, period: str = "2022H1") -> pd.DataFrame:
    """Jiangsu's year-on-year ratios in the data beside the notice's (2022H1 over 2021H1)."""
    row = compute(dataset, by="province", period=period, yoy=True).set_index("province")
    if "Jiangsu" not in row.index:
        return pd.DataFrame(columns=["metric", "notice", "data", "relative_difference"])
    data = row.loc["Jiangsu"]
    out = pd.DataFrame(
        {
            "metric": list(JIANGSU_METRICS),
            "notice": [figure("Jiangsu", f"{m}_yoy") for m in JIANGSU_METRICS],
            "data": [float(data[f"{m}_yoy"]) for m in JIANGSU_METRICS],
        }
    )
    out["relative_difference"] = out["data"] / out["notice"] - 1
    return out


def hunan_staffing(dataset: Dataset) -> pd.DataFrame:
    """Hunan's officers at the end of 2021 and 2022 beside the notice's before/after figures."""
    rows = []
    for label, year, metric in (("before", "2021", "officers_before"), ("after", "2022", "officers_after")):
        table = compute(dataset, by="province", period=year).set_index("province")
        value = float(table.loc["Hunan", "officers"]) if "Hunan" in table.index else float("nan")
        rows.append({"when": label, "period": f"{year}Q4", "notice": figure("Hunan", metric), "data": value})
    return pd.DataFrame(rows)
