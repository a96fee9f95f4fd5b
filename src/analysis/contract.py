"""The data contract (v1) as data: tables, columns, types and row rules.

`docs/data-contract.md` states the same contract in prose; `analysis.data.load`
enforces it. Keeping the rules declarative here means the loader, the docs test
and the simulator all read one source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True  # column must be present and every value non-empty
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    references_region: bool = False  # value must be an accepted region_id


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
        Column("enterprises", INTEGER, required=False, minimum=0),
        Column("population", INTEGER, required=False, minimum=0),
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
        Column("officers", INTEGER, required=False, minimum=1),
        Column("technical_inspector", BOOLEAN, required=False),
        Column("key_matter", BOOLEAN, required=False),
        Column("hazards_found", INTEGER, minimum=0),
        Column("major_hazards", INTEGER, minimum=0),
        Column("case_filed", BOOLEAN),
        Column("penalty_amount", NUMBER, minimum=0),
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
        Column("officers", INTEGER, minimum=0),
        Column("technical_inspectors", INTEGER, required=False, minimum=0),
        Column("social_supervisors", INTEGER, required=False, minimum=0),
        Column("trainings", INTEGER, required=False, minimum=0),
        Column("trainees", INTEGER, required=False, minimum=0),
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
        Column("accidents", INTEGER, minimum=0),
        Column("deaths", INTEGER, minimum=0),
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
