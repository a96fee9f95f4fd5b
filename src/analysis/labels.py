"""Words, units and number formats: the one place where code names become what a reviewer reads.

Every outcome, metric, estimand and method that reaches a reviewer page has an entry
here (a test fails when one does not). `label(name)` gives its words; `effect(name, x)`
and `level(name, x)` format a number in its unit: percentage points for differences in
shares, % for growth, yuan with thousands separators and no decimals for money, counts
with separators.
"""

from __future__ import annotations

import math
import re
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
    "region_id": "Region code",
    "name": "Region",
}

# Terms of a regression a page shows as a table (the study of team expansion).
TERMS = {
    "log_officers": "enforcement officers (log)",
    **{
        f"log_officers_lag{k}": f"enforcement officers (log), {k} quarter{'s' if k != 1 else ''} earlier"
        for k in range(1, 9)
    },
    **{
        f"log_officers_lead{k}": f"enforcement officers (log), {k} quarter{'s' if k != 1 else ''} later"
        for k in range(1, 9)
    },
    "trainees_per_officer": "people trained per officer",
    "technical_ratio": "technical inspectors per officer",
    "cross_region_active": "cross-region enforcement in force",
    "campaign_active": "surprise campaign in force",
}

# The tables of the data contract, and each of their columns, in words (analysis.contract; a test
# checks that every table and column has an entry). A data manager finds the code names in
# docs/data-contract.md, in the same order.
DATA_TABLES = {
    "regions": "regions",
    "inspections": "inspections",
    "staffing": "staffing",
    "programs": "reform programmes",
    "accidents": "accidents",
}
DATA_COLUMNS = {
    "regions.region_id": "region code",
    "regions.name": "region name",
    "regions.province": "province",
    "regions.level": "administrative level",
    "regions.parent_id": "parent region",
    "regions.enterprises": "enterprises registered",
    "regions.population": "population",
    "inspections.inspection_id": "inspection number",
    "inspections.region_id": "region inspected",
    "inspections.inspection_date": "date of the inspection",
    "inspections.enterprise_id": "enterprise",
    "inspections.industry": "industry",
    "inspections.enterprise_size": "enterprise size",
    "inspections.risk_level": "risk grade",
    "inspections.surprise": "unannounced or not",
    "inspections.cross_region": "by a team from another region or not",
    "inspections.inspecting_region_id": "region of the inspecting team",
    "inspections.officers": "officers on the inspection",
    "inspections.technical_inspector": "technical inspector on the inspection",
    "inspections.key_matter": "key matter or not",
    "inspections.hazards_found": "hidden dangers found",
    "inspections.major_hazards": "major hazards found",
    "inspections.case_filed": "penalty case filed or not",
    "inspections.penalty_amount": "fine (yuan)",
    "inspections.double_penalty": "double penalty or not",
    "staffing.region_id": "region",
    "staffing.period": "quarter",
    "staffing.officers": "enforcement officers",
    "staffing.technical_inspectors": "technical inspectors",
    "staffing.social_supervisors": "social supervisors",
    "staffing.trainings": "training sessions",
    "staffing.trainees": "people trained",
    "programs.region_id": "region",
    "programs.program": "programme",
    "programs.start_period": "quarter the programme started",
    "accidents.region_id": "region",
    "accidents.period": "quarter",
    "accidents.accidents": "accidents",
    "accidents.deaths": "deaths",
    "inspections.(row)": "the whole row",
    "regions.(row)": "the whole row",
    "staffing.(row)": "the whole row",
    "programs.(row)": "the whole row",
    "accidents.(row)": "the whole row",
}

# The loader's reasons for quarantining a row that name columns, in words (the loader's own text
# stays in the quarantine files, for data managers). Reasons that are already words pass as they are.
REASONS = {
    "major_hazards exceeds hazards_found": "more major hazards than hidden dangers found",
    "penalty_amount > 0 but case_filed is false": "a fine without a penalty case",
    "double_penalty is true but case_filed is false": "a double penalty without a penalty case",
    "cross_region is true but inspecting_region_id equals region_id": (
        "marked cross-region, but the inspecting team is the region's own"
    ),
    "inspecting_region_id differs from region_id but cross_region is false": (
        "the inspecting team is another region's, but not marked cross-region"
    ),
    "unknown region_id": "a region not in the regions table",
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


def category(value) -> str:
    """A category as the data names it, for a reviewer: "hazardous_chemicals" reads "hazardous chemicals"."""
    return str(value).replace("_", " ")


def label(name: str) -> str:
    """The reviewer's words for a code name; KeyError names the missing entry (a test checks coverage)."""
    for table in (QUANTITIES, ESTIMANDS, METHODS, STUDIES, TERMS):
        if name in table:
            entry = table[name]
            return entry.words if isinstance(entry, Quantity) else entry
    if name in COLUMNS:
        return COLUMNS[name]
    raise KeyError(f"no label for {name!r}: add it to analysis.labels")


def first_upper(text: str) -> str:
    """`text` with its first letter in capitals (a table's row or header)."""
    return text[:1].upper() + text[1:]


def data_table(name: str) -> str:
    """A table of the data contract in words ("reform programmes"); KeyError names a missing entry."""
    if name not in DATA_TABLES:
        raise KeyError(f"no words for the data table {name!r}: add it to analysis.labels.DATA_TABLES")
    return DATA_TABLES[name]


def data_column(table: str, column: str) -> str:
    """A column of the data contract in words ("fine (yuan)"); KeyError names a missing entry."""
    key = f"{table}.{column}"
    if key not in DATA_COLUMNS:
        raise KeyError(f"no words for the data column {key!r}: add it to analysis.labels.DATA_COLUMNS")
    return DATA_COLUMNS[key]


_DUPLICATE_KEY = re.compile(r"^duplicate key (?P<key>[\w/]+) \(first at line (?P<line>\d+)\)$")
KEY_WORDS = {"region_id": "region", "period": "quarter", "program": "programme", "inspection_id": "inspection number"}


def reason(text: str) -> str:
    """The loader's reason for quarantining a row, in words: "a fine without a penalty case"."""
    if text in REASONS:
        return REASONS[text]
    if text.startswith("unknown region_id;"):  # "...; did you mean 'JS-01'? (ids are case-sensitive)"
        rest = text[len("unknown region_id") :].replace("(ids are case-sensitive)", "(region codes are case-sensitive)")
        return REASONS["unknown region_id"] + rest
    if match := _DUPLICATE_KEY.match(text):
        key = " and ".join(KEY_WORDS.get(k, k.replace("_", " ")) for k in match["key"].split("/"))
        return f"the same {key} a second time (first at line {match['line']})"
    return text


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
    return "n/a" if _missing(ratio) else f"{_signed(100 * (ratio - 1), 1)}%"


def _signed(x: float, decimals: int) -> str:
    """`x` with its sign, to `decimals`; a value that rounds to zero is 0.0, never +0.0 or -0.0."""
    text = f"{x:+.{decimals}f}"
    return text[1:] if float(text) == 0 else text


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


def count(x) -> str:
    """A count with thousands separators: 420,219."""
    return "n/a" if _missing(x) else f"{x:,.0f}"


def percent(share: float, decimals: int = 1) -> str:
    """A share as a percentage: 0.095 -> 9.5%; exactly none is "0%" and a share too small to show "< 0.1%"."""
    if _missing(share):
        return "n/a"
    if share == 0:
        return "0%"
    smallest = 10.0**-decimals
    if 0 < 100 * share < smallest:
        return f"< {smallest:.{decimals}f}%"
    return f"{100 * share:.{decimals}f}%"


def multiple(ratio: float, decimals: int = 2) -> str:
    """A ratio to a year earlier as a multiple: 2.701 -> x2.70."""
    return "n/a" if _missing(ratio) else f"x{ratio:.{decimals}f}"


def points(difference: float) -> str:
    """A difference of two shares in percentage points, the unit left to the header: 0.0123 -> +1.2."""
    return "n/a" if _missing(difference) else _signed(100 * difference, 1)


def change_in_table(name: str, value: float, ratio: float) -> str:
    """`change` for a table cell whose header gives the unit: +1.2 (percentage points) for a share,
    +8.1% for everything else."""
    if _missing(value) or _missing(ratio) or ratio == 0:
        return "n/a"
    return points(value - value / ratio) if unit(name) == "share" else growth(ratio)


def in_table(name: str, x: float) -> str:
    """A value of quantity `name` for a table cell whose header gives the unit (`header`):
    18.3% for a share, 25,968 for yuan, 1,673 for a count, 0.50 for a rate."""
    if _missing(x):
        return "n/a"
    kind = unit(name)
    if kind == "share":
        return f"{100 * x:.1f}%"
    if kind in ("yuan", "count", "officers"):
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def header(name: str) -> str:
    """A table header for quantity `name`, with its unit where the cells do not carry it:
    "Average fine per case (yuan)"."""
    words = first_upper(label(name))
    return f"{words} (yuan)" if name in QUANTITIES and unit(name) == "yuan" and "yuan" not in words else words


def coefficient(x: float) -> str:
    """A regression coefficient or elasticity, to three decimals: 0.580, -0.012."""
    return "n/a" if _missing(x) else f"{x:.3f}"
