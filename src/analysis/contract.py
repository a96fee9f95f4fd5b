"""The data contract (v1) as data: tables, columns, types and row rules.

`docs/data-contract.md` states the same contract in prose (tests/test_contract_docs.py
checks that it names every table and column declared here); `analysis.data.load`
enforces it. The simulated world does not read this module: tests/test_synth.py checks
that what it writes passes the loader with nothing quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Column kinds understood by the loader (see analysis.data for parsing rules).
STRING = "string"  # free text, kept as str
CATEGORY = "category"  # low-cardinality string, stored as pandas categorical
SNAKE = "snake"  # snake_case category (industry, program)
ENUM = "enum"  # one of a fixed set of values
INTEGER = "integer"
NUMBER = "number"  # non-negative money or measure, float
BOOLEAN = "boolean"
DATE = "date"  # ISO YYYY-MM-DD
QUARTER = "quarter"  # 2022Q3

TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})

# Plausible dates: nothing in this data predates the 1990s work-safety regime, and a
# date more than a year ahead is a typo (2202 for 2022) or a placeholder (2999-12-31).
# `load(path, date_window=(start, end))` overrides the window.
DATE_WINDOW_START = date(1990, 1, 1)
DATE_WINDOW_YEARS_AHEAD = 1

# Maxima far above anything real, so that they only catch unit slips, placeholders
# (999999999) and values that would overflow a sum; docs/data-contract.md gives the why.
MAX_PENALTY_YUAN = 1e10  # the largest work-safety fines are tens of millions of yuan
MAX_HAZARDS = 10_000  # per inspection; a large plant inspection finds dozens
MAX_OFFICERS_PER_INSPECTION = 1_000  # a team, not a workforce
MAX_STAFF = 1_000_000  # per region and quarter; China's whole inspectorate is smaller
MAX_TRAINEES = 100_000_000  # people trained in a region and quarter: below a province's population
MAX_ENTERPRISES = 100_000_000  # China registers about 50 million enterprises
MAX_POPULATION = 2_000_000_000  # above China's 1.4 billion
MAX_ACCIDENTS = 1_000_000  # per region and quarter; national yearly totals are smaller


def default_date_window(today: date | None = None) -> tuple[date, date]:
    """The plausible date window: DATE_WINDOW_START to a year after `today` (both included)."""
    today = today or date.today()
    year = today.year + DATE_WINDOW_YEARS_AHEAD
    try:
        return DATE_WINDOW_START, today.replace(year=year)
    except ValueError:  # 29 February
        return DATE_WINDOW_START, today.replace(year=year, day=28)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True  # column must be present and every value non-empty
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    references_region: bool = False  # value must be an accepted region_id

    @property
    def is_text(self) -> bool:
        """Text whose surrounding whitespace the loader trims."""
        return self.kind in (STRING, CATEGORY, SNAKE, ENUM)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = True
    # A duplicate key is structural for regions (everything hangs off region_id)
    # and a row-level fault elsewhere.
    duplicate_key_is_structural: bool = False
    rules: tuple[str, ...] = field(default=())  # names of cross-column rules, see analysis.data

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


REGIONS = Table(
    "regions",
    (
        Column("region_id", CATEGORY),
        Column("name", STRING),
        Column("province", CATEGORY),
        Column("level", ENUM, choices=("province", "city", "county")),
        Column("parent_id", CATEGORY, required=False, references_region=True),
        Column("enterprises", INTEGER, required=False, minimum=0, maximum=MAX_ENTERPRISES),
        Column("population", INTEGER, required=False, minimum=0, maximum=MAX_POPULATION),
    ),
    key=("region_id",),
    duplicate_key_is_structural=True,
)

INSPECTIONS = Table(
    "inspections",
    (
        Column("inspection_id", STRING),
        Column("region_id", CATEGORY, references_region=True),
        Column("inspection_date", DATE),
        Column("enterprise_id", STRING),
        Column("industry", SNAKE),
        Column("enterprise_size", ENUM, required=False, choices=("small", "medium", "large")),
        Column("risk_level", INTEGER, required=False, minimum=1, maximum=4),
        Column("surprise", BOOLEAN),
        Column("cross_region", BOOLEAN),
        Column("inspecting_region_id", CATEGORY, required=False, references_region=True),
        Column("officers", INTEGER, required=False, minimum=1, maximum=MAX_OFFICERS_PER_INSPECTION),
        Column("technical_inspector", BOOLEAN, required=False),
        Column("key_matter", BOOLEAN, required=False),
        Column("hazards_found", INTEGER, minimum=0, maximum=MAX_HAZARDS),
        Column("major_hazards", INTEGER, minimum=0, maximum=MAX_HAZARDS),
        Column("case_filed", BOOLEAN),
        Column("penalty_amount", NUMBER, minimum=0, maximum=MAX_PENALTY_YUAN),
        Column("double_penalty", BOOLEAN),
    ),
    key=("inspection_id",),
    rules=(
        "major_hazards_within_hazards",
        "penalty_needs_case",
        "double_penalty_needs_case",
        "inspecting_region_matches_cross_region",
    ),
)

STAFFING = Table(
    "staffing",
    (
        Column("region_id", CATEGORY, references_region=True),
        Column("period", QUARTER),
        Column("officers", INTEGER, minimum=0, maximum=MAX_STAFF),
        Column("technical_inspectors", INTEGER, required=False, minimum=0, maximum=MAX_STAFF),
        Column("social_supervisors", INTEGER, required=False, minimum=0, maximum=MAX_STAFF),
        Column("trainings", INTEGER, required=False, minimum=0, maximum=MAX_STAFF),
        Column("trainees", INTEGER, required=False, minimum=0, maximum=MAX_TRAINEES),
    ),
    key=("region_id", "period"),
)

PROGRAMS = Table(
    "programs",
    (
        Column("region_id", CATEGORY, references_region=True),
        Column("program", SNAKE),
        Column("start_period", QUARTER),
    ),
    key=("region_id", "program"),
)

ACCIDENTS = Table(
    "accidents",
    (
        Column("region_id", CATEGORY, references_region=True),
        Column("period", QUARTER),
        Column("accidents", INTEGER, minimum=0, maximum=MAX_ACCIDENTS),
        Column("deaths", INTEGER, minimum=0, maximum=MAX_ACCIDENTS),
    ),
    key=("region_id", "period"),
    required=False,
)

# Load order matters: regions first, since every other table refers to it.
TABLES: tuple[Table, ...] = (REGIONS, INSPECTIONS, STAFFING, PROGRAMS, ACCIDENTS)
TABLES_BY_NAME = {t.name: t for t in TABLES}

KNOWN_PROGRAMS = ("cross_region", "surprise_campaign", "technical_inspectors")

ESTIMATE_COLUMNS = (
    "study",
    "outcome",
    "estimand",
    "method",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "n_obs",
)
