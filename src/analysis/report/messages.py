"""The index's key messages: what the quarter shows, in sentences with numbers, units and intervals."""

from __future__ import annotations

import pandas as pd

from .. import labels
from ..registry import STUDIES


def key_messages(
    estimates: pd.DataFrame, headline: pd.DataFrame, period: str, designs: dict[str, dict] | None = None
) -> list[str]:
    """Up to one sentence per study (its lead outcome, preferred estimate) and one on the quarter.

    `designs` holds each notebook's parameters (by notebook name), for what a sentence names.
    """
    sentences = [s for s in (_quarter_sentence(headline, period),) if s]
    for study in STUDIES:
        row = lead_row(estimates, study)
        if row is not None:
            design = (designs or {}).get(study.notebook, {})
            sentences.append(study.reading(row["outcome"], row["estimate"], row["ci_low"], row["ci_high"], design))
    return sentences


def lead_row(estimates: pd.DataFrame, study) -> pd.Series | None:
    """The estimate a study leads with (its preferred estimand and method, lead outcome first), if any."""
    if estimates.empty:
        return None
    rows = estimates[
        (estimates["study"] == study.name)
        & (estimates["estimand"] == study.estimand)
        & (estimates["method"] == study.method)
    ].dropna(subset=["estimate", "ci_low", "ci_high"])
    if rows.empty:
        return None
    lead = rows[rows["outcome"] == study.lead_outcome]
    return (lead if len(lead) else rows).iloc[0]


def _quarter_sentence(headline: pd.DataFrame, period: str) -> str:
    """ "In 2024Q4 there were 1,847 inspections (+7.1% on a year earlier); 25.4% ended in a case ..."."""
    if headline.empty or headline["value"].isna().all():
        return ""
    figures = headline.set_index("metric")

    def part(metric: str, template: str) -> str:
        if metric not in figures.index or pd.isna(figures.loc[metric, "value"]):
            return ""
        value, ratio = figures.loc[metric, "value"], figures.loc[metric, "year_on_year"]
        change = f" ({labels.change(metric, value, ratio)} on a year earlier)" if pd.notna(ratio) else ""
        return template.format(labels.level(metric, value)) + change

    parts = [
        p
        for p in (
            part("inspections", "there were {} inspections"),
            part("case_rate", "{} of them ended in a penalty case"),
            part("avg_case_value", "the average fine per case was {}"),
        )
        if p
    ]
    return f"In {period} " + "; ".join(parts) + "." if parts else ""


def page_finding(estimates: pd.DataFrame, study, design: dict) -> str:
    """The sentence a study page opens with: its lead estimate with the interval, or why there is none."""
    row = lead_row(estimates, study)
    if row is None:
        return "No main estimate could be made for this quarter; the sections below say why."
    return study.reading(row["outcome"], row["estimate"], row["ci_low"], row["ci_high"], design)
