"""Words, units and number formats: the one place where code names become what a reviewer reads.

Every outcome, metric, estimand and method that reaches a reviewer page has an entry
here (a test fails when one does not). `label(name)` gives its words; `effect(name, x)`
and `level(name, x)` format a number in its unit: percentage points for differences in
shares, % for growth, yuan with thousands separators and no decimals for money, counts
with separators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    words: str  # what it is, in a reviewer's words
    unit: str  # share | yuan | count | rate_count | elasticity | ratio | officers


QUANTITIES: dict[str, Quantity] = {
    # inspection-level outcomes (study of unannounced inspections)
    "hazards_found": Quantity("hidden dangers found per inspection", "rate_count"),
    "major_hazard_found": Quantity("chance of finding a major hazard", "share"),
    "case_filed": Quantity("chance that a penalty case is filed", "share"),
    "penalty_amount": Quantity("fine per inspection", "yuan"),
    # region-quarter outcomes and the notice's metrics
    "inspections": Quantity("inspections", "count"),
    "surprise_share": Quantity("share of inspections unannounced", "share"),
    "cases": Quantity("penalty cases", "count"),
    "case_rate": Quantity("case rate", "share"),
    "key_matter_cases": Quantity("key-matter cases", "count"),
    "penalty_total": Quantity("fines imposed", "yuan"),
    "avg_case_value": Quantity("average fine per case", "yuan"),
    "double_penalty_cases": Quantity("double-penalty cases", "count"),
    "major_hazards": Quantity("major hazards found", "count"),
    "major_hazard_filing_rate": Quantity("filing rate after a major hazard", "share"),
    "officers": Quantity("enforcement officers", "officers"),
    "inspections_per_officer": Quantity("inspections per officer", "rate_count"),
}

ESTIMANDS = {
    "ATE": "average effect over all inspections",
    "ATT": "average effect on the treated",
    "elasticity": "elasticity with respect to officers",
    **{f"ATT_e{e}": f"effect {e} quarter{'s' if e != 1 else ''} after adoption" for e in range(0, 9)},
}

METHODS = {
    "naive": "raw difference",
    "regression": "regression adjustment",
    "ipw": "inverse-probability weighting",
    "aipw": "augmented IPW (doubly robust)",
    "callaway_santanna": "Callaway-Sant'Anna",
    "twfe": "two-way fixed effects",
}

STUDIES = {
    "surprise": "Unannounced inspections",
    "cross_region": "Cross-region enforcement",
    "team": "Team expansion",
}

COLUMNS = {
    "study": "Study",
    "outcome": "Outcome",
    "estimand": "Estimand",
    "method": "Method",
    "estimate": "Estimate",
    "std_error": "Standard error",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "n_obs": "Observations",
    "metric": "Figure",
    "value": "Value",
    "year_on_year": "Year on year",
}


DESIGN_WORDS = {  # the values of design settings a page lists (adjustment variables, programmes, clusters)
    "risk_level": "risk grade",
    "industry": "industry",
    "enterprise_size": "enterprise size",
    "campaign_active": "surprise campaign in force",
    "cross_region_active": "cross-region enforcement in force",
    "risk_by_industry": "risk grade within industry",
    "campaign_by_risk": "campaign by risk grade",
    "region_id": "region",
    "province": "province",
    "cross_region": "cross-region enforcement",
    "technical_inspectors": "technical-inspector programme",
    "surprise_campaign": "surprise-inspection campaign",
    "nevertreated": "regions that never adopted",
    "notyettreated": "regions that had not yet adopted",
    "varying": "the quarter before each comparison",
    "universal": "the quarter before adoption, for all comparisons",
    "reg": "outcome regression",
    "dr": "doubly robust",
    "logit": "logit",
    "probit": "probit",
}


def words(value: str) -> str:
    """A setting's value in words: a label or design word when there is one, else the value as given."""
    if value in DESIGN_WORDS:  # a design value reads in running text ("cross-region enforcement")
        return DESIGN_WORDS[value]
    try:
        return label(value)
    except KeyError:
        return value


def label(name: str) -> str:
    """The reviewer's words for a code name; KeyError names the missing entry (a test checks coverage)."""
    for table in (QUANTITIES, ESTIMANDS, METHODS, STUDIES):
        if name in table:
            entry = table[name]
            return entry.words if isinstance(entry, Quantity) else entry
    if name in COLUMNS:
        return COLUMNS[name]
    raise KeyError(f"no label for {name!r}: add it to analysis.labels")


def unit(name: str) -> str:
    return QUANTITIES[name].unit


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def level(name: str, x: float) -> str:
    """A value of quantity `name` in its unit: 25.4%, 24,090 yuan, 1,847 inspections."""
    if _missing(x):
        return "n/a"
    kind = unit(name)
    if kind == "share":
        return f"{100 * x:.1f}%"
    if kind == "yuan":
        return f"{x:,.0f} yuan"
    if kind in ("count", "officers"):
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def effect(name: str, x: float, signed: bool = True) -> str:
    """A difference in quantity `name`: +9.2 percentage points, +3,166 yuan, +0.74 per inspection."""
    if _missing(x):
        return "n/a"
    sign = "+" if signed else ""
    kind = unit(name)
    if kind == "share":
        return f"{100 * x:{sign}.1f} percentage points"
    if kind == "yuan":
        return f"{x:{sign},.0f} yuan"
    if kind == "rate_count":
        return f"{x:{sign}.2f}"
    return f"{x:{sign},.0f}"


def interval(name: str, low: float, high: float) -> str:
    """A 95% interval in the unit of `name`, the unit said once: "8.6 to 10.8 percentage points"."""
    if _missing(low) or _missing(high):
        return "n/a"
    first, second = effect(name, low), effect(name, high)
    for suffix in (" percentage points", " yuan"):
        if first.endswith(suffix):
            return f"{first[: -len(suffix)]} to {second}"
    return f"{first} to {second}"


def change(name: str, value: float, ratio: float) -> str:
    """The change on a year earlier: percentage points for shares, % growth for everything else."""
    if _missing(value) or _missing(ratio) or ratio == 0:
        return "n/a"
    if unit(name) == "share":
        return effect(name, value - value / ratio)
    return growth(ratio)


def growth(ratio: float) -> str:
    """A ratio to a year earlier as growth: 1.098 -> +9.8%."""
    return "n/a" if _missing(ratio) else f"{100 * (ratio - 1):+.1f}%"


def p_value(p: float) -> str:
    if _missing(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def significant(x: float, digits: int = 3) -> str:
    """`x` to a fixed number of significant digits, with thousands separators."""
    if _missing(x):
        return "n/a"
    if x == 0:
        return "0"
    places = digits - 1 - int(math.floor(math.log10(abs(x))))
    return f"{round(x, places):,.{max(0, places)}f}"
