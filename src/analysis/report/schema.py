"""Typed parameters of each report notebook, declared once.

The same schema validates parameters before anything runs, supplies what
papermill injects, and prints the parameters in the report header. A test
checks each notebook's `parameters` cell against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError
from ..quarter import Quarter
from ..registry import STUDIES_BY_NAME

HALF_YEAR = re.compile(r"^\d{4}H[12]$")


@dataclass(frozen=True)
class Param:
    name: str
    type: type | tuple[type, ...]  # a tuple where either is accepted (a list of columns or a formula)
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None  # returns a complaint, or None when fine
    data_check: str | None = None  # "provinces" or "programs": names checked against the data once it is read

    @property
    def type_name(self) -> str:
        """The type as the parameters cell annotates it: the first of several (papermill reads no unions;
        the help says what else is accepted)."""
        return (self.type[0] if isinstance(self.type, tuple) else self.type).__name__

    @property
    def accepted(self) -> str:
        """The accepted types in words, for error messages ("list or str")."""
        return " or ".join(t.__name__ for t in (self.type if isinstance(self.type, tuple) else (self.type,)))


@dataclass(frozen=True)
class DataFacts:
    """What parameters are checked against once the data is read."""

    span: tuple[str, str]  # first and last quarter with inspections ("NaT", "NaT" when none was accepted)
    provinces: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotebookSpec:
    name: str  # file stem in notebooks/
    title: str
    params: tuple[Param, ...]
    timeout_seconds: int = 600
    # Seconds it took on the default world (make report, two cores): the order of a build that has no
    # durations of its own yet (the longest first), so the last notebook to start is a short one.
    typical_seconds: float | None = None

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, given: dict[str, Any], *, data: DataFacts | None = None) -> dict[str, Any]:
        """Defaults overlaid with `given`, checked (against `data` when given); raise ParameterError naming
        every problem."""
        problems = []
        known = {p.name for p in self.params}
        for name in given:
            if name not in known:
                problems.append(f"unknown parameter {name!r} (known: {', '.join(sorted(known))})")
        values = self.defaults()
        for param in self.params:
            if param.name not in given:
                continue
            value = given[param.name]
            if param.type is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # 75 where 75.0 is meant
            if not isinstance(value, param.type) or (param.type is int and isinstance(value, bool)):
                problems.append(f"{param.name}: expected {param.accepted}, got {type(value).__name__} {value!r}")
                continue
            complaint = param.check(value) if param.check else None
            if complaint:
                problems.append(f"{param.name}: {complaint}")
            values[param.name] = value
        if data and not problems:
            problems += _against_data(self.params, values, data)
        if problems:
            raise ParameterError(f"notebook {self.name}: " + "; ".join(problems))
        return values


def _against_data(params: tuple[Param, ...], values: dict[str, Any], data: DataFacts) -> list[str]:
    """Complaints about values the data contradicts: a period outside it, a province or programme it lacks."""
    problems = []
    first, last = data.span
    inspected = "NaT" not in data.span  # with no inspections at all, the pages say so and data quality says why
    if (
        "period" in values
        and inspected
        and not Quarter.parse(first) <= Quarter.parse(values["period"]) <= Quarter.parse(last)
    ):
        problems.append(f"period: {values['period']} is outside the data ({first} to {last})")
    for param in params:
        if param.data_check is None or values[param.name] == param.default:
            continue  # the default is the study's own: the notebook says in words when the data lacks it
        known = getattr(data, param.data_check)
        value = values[param.name]
        names = value if isinstance(value, list) else [value]
        unknown = [name for name in names if name not in known]
        if unknown:
            problems.append(
                f"{param.name}: {', '.join(map(repr, unknown))} not in the data's {param.data_check} "
                f"({', '.join(known) or 'none'})"
            )
    return problems


def _texts(allowed: tuple[str, ...] | None = None, *, at_least_one: bool = False):
    """A check that a list holds text only (and only `allowed` values, when given)."""

    def check(value: list) -> str | None:
        if not all(isinstance(item, str) for item in value):
            return f"expected a list of names, got {value!r}"
        if at_least_one and not value:
            return "give at least one"
        outside = [item for item in value if allowed is not None and item not in allowed]
        if outside:
            return f"{', '.join(map(repr, outside))} not allowed (choose from {', '.join(allowed or ())})"
        if len(set(value)) < len(value):
            return f"a name is given twice in {value!r}"
        return None

    return check


def _one_of(*allowed: str):
    def check(value: str) -> str | None:
        return None if value in allowed else f"{value!r} is not one of {', '.join(allowed)}"

    return check


def _columns_or_formula(value: list | str) -> str | None:
    """A list of column names, or a formula right-hand side (checked by the estimator against the table)."""
    if isinstance(value, list):
        return _texts()(value)
    return None if value.strip() and "~" not in value else f"{value!r}: give a right-hand side such as 'a + C(b)'"


def _probability(value: float) -> str | None:
    return None if 0 <= value < 0.5 else f"must be from 0 up to 0.5, got {value}"


def _quarter(value: str) -> str | None:
    return None if Quarter.is_quarter(value) else f"{value!r} is not a quarter like 2023Q4"


def _half_year(value: str) -> str | None:
    return None if HALF_YEAR.match(value) else f"{value!r} is not a half-year like 2022H1"


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else f"must be at least 1, got {value}"


def _at_least_zero(value: int) -> str | None:
    return None if value >= 0 else f"must be 0 or more, got {value}"


def _score(value: float) -> str | None:
    return None if 0 <= value <= 100 else f"must be a score from 0 to 100, got {value}"


def _weighting_method(value: str) -> str | None:
    from ..scorecard import METHODS

    return None if value in METHODS else f"{value!r} is not one of {', '.join(METHODS)}"


def _indicator_tree(value: dict) -> str | None:
    """An empty dict is the bundled tree; anything else must be a valid tree (errors name the node)."""
    from .. import scorecard

    try:
        scorecard.load_tree(value)
    except ParameterError as err:
        return str(err)
    return None


SCOPE = Param("scope", list, [], "provinces to study, by name; empty means all", _texts(), data_check="provinces")
# Each study's design, with defaults equal to the study modules' own (tests/test_study_designs.py checks).
SURPRISE_OUTCOMES = list(STUDIES_BY_NAME["surprise"].outcomes)
CROSS_REGION_OUTCOMES = list(STUDIES_BY_NAME["cross_region"].outcomes)
TEAM_OUTCOMES = list(STUDIES_BY_NAME["team"].outcomes)
SURPRISE_DESIGN = (
    Param(
        "outcomes", list, SURPRISE_OUTCOMES, "outcomes to estimate", _texts(tuple(SURPRISE_OUTCOMES), at_least_one=True)
    ),
    Param(
        "covariates",
        (list, str),
        ["risk_by_industry", "enterprise_size", "campaign_by_risk"],
        "outcome-model adjustment: a list of columns, or a formula as text ('C(risk_level) * C(industry) + x')",
        _columns_or_formula,
    ),
    Param(
        "propensity_covariates",
        (list, str),
        ["risk_level", "industry", "enterprise_size", "campaign_active"],
        "propensity-model adjustment: a list of columns, or a formula as text",
        _columns_or_formula,
    ),
    Param(
        "estimands",
        list,
        ["ATE", "ATT"],
        "effects to estimate: ATE and/or ATT",
        _texts(("ATE", "ATT"), at_least_one=True),
    ),
    Param(
        "methods",
        list,
        ["naive", "regression", "ipw", "aipw"],
        "estimators: naive, regression, ipw, aipw",
        _texts(("naive", "regression", "ipw", "aipw"), at_least_one=True),
    ),
    Param("propensity_model", str, "logit", "propensity model: logit or probit", _one_of("logit", "probit")),
    Param("overlap_tolerance", float, 1e-5, "propensities this close to 0 or 1 stop the estimate", _probability),
    Param(
        "cluster",
        str,
        "region_id",
        "cluster standard errors by this column; empty for none",
        _one_of("region_id", "province", ""),
    ),
    Param(
        "heterogeneity_by",
        list,
        ["industry", "risk_level"],
        "columns to show the effect on case filing by",
        _texts(("industry", "risk_level", "enterprise_size", "province")),
    ),
)
CROSS_REGION_DESIGN = (
    Param("program", str, "cross_region", "the programme whose staggered adoption is studied", data_check="programs"),
    Param(
        "outcomes",
        list,
        CROSS_REGION_OUTCOMES,
        "outcomes to estimate",
        _texts(tuple(CROSS_REGION_OUTCOMES), at_least_one=True),
    ),
    Param(
        "control_group",
        str,
        "nevertreated",
        "comparison: nevertreated or notyettreated",
        _one_of("nevertreated", "notyettreated"),
    ),
    Param("anticipation", int, 0, "quarters before adoption in which effects may start", _at_least_zero),
    Param(
        "base_period", str, "varying", "pre-period comparisons: varying or universal", _one_of("varying", "universal")
    ),
    Param("est_method", str, "reg", "estimator of each comparison: reg, ipw or dr", _one_of("reg", "ipw", "dr")),
    Param("xformla", str, "", "covariates on the region-quarter panel, as a formula ('' for none)"),
    Param("exclude_campaign_regions", bool, True, "leave out regions that ran a surprise campaign"),
)
TEAM_DESIGN = (
    Param("outcomes", list, TEAM_OUTCOMES, "outcomes to estimate", _texts(tuple(TEAM_OUTCOMES), at_least_one=True)),
    Param("lags", int, 3, "quarters of lagged staffing in the response profile", _at_least_zero),
    Param("leads", int, 2, "quarters of future staffing in the leads test", _at_least_one),
    Param(
        "controls",
        list,
        ["cross_region_active", "campaign_active"],
        "other reforms held fixed",
        _texts(("cross_region_active", "campaign_active")),
    ),
    Param("cluster", str, "region_id", "cluster standard errors by this column", _one_of("region_id", "province")),
)

DATA_DIR = Param("data_dir", str, "", "dataset directory or .duckdb file; empty means the bundled simulated world")
PERIOD = Param("period", str, "2024Q4", "report quarter", _quarter)
MIN_CELL_SIZE = Param(
    "min_cell_size",
    int,
    5,
    "disclosure control: withhold any figure or table cell built from fewer inspections",
    _at_least_one,
)

NOTEBOOKS: tuple[NotebookSpec, ...] = (
    NotebookSpec(
        "00_data_quality",
        "Data quality",
        (DATA_DIR, PERIOD, SCOPE, MIN_CELL_SIZE),
        timeout_seconds=300,
        typical_seconds=3,
    ),
    NotebookSpec(
        "01_reform_overview",
        "Reform overview: the notice's figures and the data",
        (
            DATA_DIR,
            PERIOD,
            SCOPE,
            Param("notice_period", str, "2022H1", "the half-year the notice compared with a year earlier", _half_year),
            MIN_CELL_SIZE,
        ),
        timeout_seconds=300,
        typical_seconds=6,
    ),
    NotebookSpec(
        "02_surprise_inspections",
        "Unannounced inspections and case outcomes",
        (DATA_DIR, PERIOD, SCOPE, *SURPRISE_DESIGN, MIN_CELL_SIZE),
        timeout_seconds=900,
        typical_seconds=10,
    ),
    NotebookSpec(
        "03_cross_region_enforcement",
        "Cross-region enforcement: case outcomes after adoption",
        (DATA_DIR, PERIOD, SCOPE, *CROSS_REGION_DESIGN, MIN_CELL_SIZE),
        timeout_seconds=900,
        typical_seconds=9,
    ),
    NotebookSpec(
        "04_team_expansion",
        "Team expansion, staffing and enforcement output",
        (DATA_DIR, PERIOD, SCOPE, *TEAM_DESIGN, MIN_CELL_SIZE),
        timeout_seconds=900,
        typical_seconds=8.5,
    ),
)
NOTEBOOKS += (
    NotebookSpec(
        "05_quarterly_scorecard",
        "Quarterly scorecard: the enforcement efficiency index and its warnings",
        (
            DATA_DIR,
            PERIOD,
            SCOPE,
            Param(
                "weights",
                str,
                "entropy",
                "weighting method: entropy, critic, pca, equal or expert (the tree's weights)",
                _weighting_method,
            ),
            Param("threshold", float, 80.0, "warn every region scoring under this (0-100)", _score),
            Param("bottom_n", int, 3, "warn the n lowest of each peer group (0: no bottom rule)", _at_least_zero),
            Param("draws", int, 500, "perturbed weightings in the rank-stability check", _at_least_one),
            Param(
                "tree",
                dict,
                {},
                "TOML tables laid over the bundled indicator tree (indicators, weights, normalisation, peer groups)",
                _indicator_tree,
            ),
            MIN_CELL_SIZE,
        ),
        timeout_seconds=300,
        typical_seconds=9.5,
    ),
)
NOTEBOOKS_BY_NAME = {spec.name: spec for spec in NOTEBOOKS}
CHAPTERS = {spec.name: number for number, spec in enumerate(NOTEBOOKS, start=1)}
"""Each page's chapter number in the report: figures and tables on it are numbered "Figure 3.1", ..."""


def numbered_title(name: str, title: str) -> str:
    """ "3. Unannounced inspections and case outcomes": a page's title with its chapter number."""
    return f"{CHAPTERS[name]}. {title}" if name in CHAPTERS else title


def select(only: list[str] | None) -> tuple[NotebookSpec, ...]:
    if not only:
        return NOTEBOOKS
    unknown = [name for name in only if name not in NOTEBOOKS_BY_NAME]
    if unknown:
        raise ParameterError(f"unknown notebook(s) {', '.join(unknown)}; known: {', '.join(NOTEBOOKS_BY_NAME)}")
    return tuple(NOTEBOOKS_BY_NAME[name] for name in only)


# --- parameters from the command line and config files --------------------------------------------

BUILD_WIDE = {"data_dir": "--data", "period": "--period", "min_cell_size": "--min-cell-size"}  # not set by --param


def parse_assignment(text: str) -> tuple[str | None, str, Any]:
    """`NAME=VALUE` or `NOTEBOOK.NAME=VALUE` -> (notebook or None, name, value).

    VALUE is read as JSON when it parses (`5`, `true`, `["Jiangsu"]`), else taken as text.
    """
    import json

    target, sep, raw = text.partition("=")
    if not sep or not target.strip():
        raise ParameterError(f"--param {text!r}: expected NAME=VALUE or NOTEBOOK.NAME=VALUE")
    notebook, _, name = target.strip().rpartition(".")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return notebook or None, name, value


def overrides_from(assignments: list[tuple[str | None, str, Any]], specs: tuple[NotebookSpec, ...]) -> dict[str, dict]:
    """Per-notebook overrides from (notebook, name, value) assignments.

    A name without a notebook applies to every selected notebook that declares it (and is
    an error when none does); a named notebook must be one of this report's.
    """
    by_name = {spec.name: spec for spec in specs}
    overrides: dict[str, dict] = {}
    for notebook, name, value in assignments:
        if name in BUILD_WIDE:
            raise ParameterError(f"parameter {name}: set it with {BUILD_WIDE[name]}, not --param")
        if notebook is not None:
            if notebook not in by_name:
                raise ParameterError(
                    f"--param {notebook}.{name}: {notebook} is not a notebook of this report "
                    f"(notebooks: {', '.join(by_name)})"
                )
            targets = [notebook]
        else:
            targets = [spec.name for spec in specs if any(p.name == name for p in spec.params)]
            if not targets:
                raise ParameterError(f"--param {name}: no selected notebook has a parameter of that name")
        for target in targets:
            overrides.setdefault(target, {})[name] = value
    return overrides


def assignments_from_config(path) -> list[tuple[str | None, str, Any]]:
    """A TOML file's settings: top-level keys apply to every notebook declaring them,
    `[NOTEBOOK]` tables to that notebook."""
    import tomllib
    from pathlib import Path

    try:
        settings = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ParameterError(f"--config {path}: cannot be read ({err})") from err
    except tomllib.TOMLDecodeError as err:
        raise ParameterError(f"--config {path}: not valid TOML ({err})") from err
    found: list[tuple[str | None, str, Any]] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            found.extend((key, name, inner) for name, inner in value.items())
        else:
            found.append((None, key, value))
    return found
