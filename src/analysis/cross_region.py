"""Study 2: cross-region enforcement, staggered adoption difference-in-differences.

Units are regions (counties) observed by quarter; a region is treated from the quarter
its `cross_region` programme starts (programs table), and regions that never adopt are
the controls. Regions under another outcome-changing reform in the window (a surprise
campaign) are left out of the comparison by default: their outcomes move for reasons of
their own, which would break parallel trends.

What the data cannot support is said in words: `design` raises `limits.Unavailable` (or
`PanelError`) with one sentence when no comparison is possible at all, `estimate` does so
for one outcome, and both return notes saying what was left out and why (regions without
a value, thin cohorts, a fallback to the not-yet-treated comparison, quarters without data).
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import did, engine
from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Withheld, name_list, region_names, suppress
from .display import Html, table
from .limits import Missing, Unavailable
from .metrics import region_quarter
from .quarter import Quarter
from .registry import STUDIES_BY_NAME

STUDY = "cross_region"
PROGRAM = "cross_region"
OUTCOMES = STUDIES_BY_NAME["cross_region"].outcomes  # declared once, in the registry
MIN_COHORT_UNITS = 5  # regions with a value: fewer, and a cohort (or the never-treated group) is too thin to use
FEW_REGIONS = 30  # below this, errors that assume many regions are said to be approximate
EVENT_TIMES = range(0, 5)  # ATT_e0 ... ATT_e4 go to estimates.csv

# outcome: (its name in a sentence, what a quarter must have for it to be defined)
OUTCOME_WORDS = {
    "case_rate": ("the case rate", "inspections"),
    "avg_case_value": ("the average case value", "cases"),
    "major_hazard_filing_rate": ("the filing rate when a major hazard is found", "inspections finding a major hazard"),
}
REFORM_WORDS = {  # how a page names each programme in a sentence
    "cross_region": "cross-region enforcement",
    "technical_inspectors": "the technical-inspector programme",
    "surprise_campaign": "a surprise-inspection campaign",
}
CONTROL_GROUPS = ("nevertreated", "notyettreated")


def reform_words(program: str) -> str:
    """`program` as words in a sentence ("cross-region enforcement", "the training programme")."""
    return REFORM_WORDS.get(program, f"the {program.replace('_', ' ')} programme")


@dataclass(frozen=True)
class Settings:
    """The study's design choices (notebook 03's parameters), with R did's names.

    `program` is any programme of the programs table: the same study then follows the
    staggered adoption of that reform. `control_group` "nevertreated" falls back to the
    not-yet-treated comparison (with a note) when too few regions never adopt;
    "notyettreated" uses it throughout. `xformla` is a covariate formula on the
    region-quarter panel's columns ("" for none), measured in each region's first quarter.
    """

    program: str = PROGRAM
    control_group: str = "nevertreated"
    anticipation: int = 0
    base_period: str = "varying"
    est_method: str = "reg"
    xformla: str = ""
    exclude_campaign_regions: bool = True

    def __post_init__(self):
        if self.control_group not in CONTROL_GROUPS:
            raise ValueError(f"control_group must be one of {', '.join(CONTROL_GROUPS)}, got {self.control_group!r}")
        if self.anticipation < 0:
            raise ValueError(f"anticipation must be 0 or more quarters, got {self.anticipation}")

    @property
    def reform(self) -> str:
        return reform_words(self.program)

    @property
    def excluded_programs(self) -> tuple[str, ...]:
        """Reforms moving the same outcomes, whose regions are left out (never the one studied)."""
        return tuple(p for p in ("surprise_campaign",) if self.exclude_campaign_regions and p != self.program)


EFFECT_FORMATS = {
    "case_rate": lambda x: f"{100 * x:+.1f} percentage points",
    "avg_case_value": lambda x: f"{x:+,.0f} yuan",
    "major_hazard_filing_rate": lambda x: f"{100 * x:+.1f} percentage points",
}


class PanelError(ValueError):
    """The region-quarter panel cannot support the design (said in a sentence)."""


def panel(dataset: Dataset, last_period: str | None = None, program: str = PROGRAM) -> pd.DataFrame:
    """Region x quarter outcomes with adoption timing, every region with inspections.

    `t` numbers calendar quarters from the first quarter with inspections (1, 2, ...); a
    quarter without any inspection keeps its number, so event times stay in quarters.
    `g` is the quarter number the region's `program` started: 1 when it ran
    from the first quarter or earlier, 0 when it had not started by the last quarter.
    `design` decides which regions enter the comparison.
    """
    cells = region_quarter(dataset, last_period)
    if cells.empty:
        return cells.assign(t=pd.Series(dtype=int), g=pd.Series(dtype=int), unit=pd.Series(dtype=int))
    ordinal = pd.PeriodIndex(cells["quarter"], freq="Q-DEC").asi8
    first, last = int(ordinal.min()), int(ordinal.max())
    cells["t"] = ordinal - first + 1
    starts = {
        region: pd.Period(start, freq="Q-DEC").ordinal for region, start in dataset.program_starts(program).items()
    }
    adoption = {region: max(start - first + 1, 1) for region, start in starts.items() if start <= last}
    cells["g"] = cells["region_id"].map(adoption).fillna(0).astype(int)
    cells["unit"] = cells["region_id"].astype("category").cat.codes + 1
    return cells.reset_index(drop=True)


def quarter_labels(cells: pd.DataFrame) -> dict[int, str]:
    """Quarter number -> label ("2022Q1") for every quarter from the first to the last, with data or not."""
    if cells.empty:
        return {}
    known = cells.drop_duplicates("t").set_index("t")["quarter"]
    first = pd.Period(known[known.index.min()], freq="Q-DEC") - (int(known.index.min()) - 1)
    return {t: str(first + (t - 1)) for t in range(1, int(known.index.max()) + 1)}


@dataclass(repr=False)
class Design:
    """The comparison the data allows: which regions enter, when they adopted, and what was left out."""

    cells: pd.DataFrame  # region-quarters of the regions compared
    labels: dict[int, str]  # quarter number -> label
    timeline: pd.DataFrame  # region_id, g, adopted: one row per region compared
    notes: list[str] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    def _repr_html_(self) -> str:
        return _paragraphs(self.notes or ["Every region with inspections enters the comparison."])

    def __repr__(self) -> str:
        return f"Design({self.cells['region_id'].nunique()} regions; " + " ".join(self.notes) + ")"


def design(
    dataset: Dataset,
    cells: pd.DataFrame,
    exclude_programs: tuple[str, ...] | None = None,
    settings: Settings | None = None,
) -> Design:
    """The regions to compare, or `Unavailable` / `PanelError` saying in a sentence why no comparison is possible.

    `cells` come from `panel` with the same programme as `settings.program`. Left out, with
    a note: regions that ran a reform in `exclude_programs` (default: the settings' choice,
    the surprise campaign), and regions that already ran the programme in the first
    quarter (no quarter before adoption).
    """
    settings = settings or Settings()
    if exclude_programs is None:
        exclude_programs = settings.excluded_programs
    reform, program = settings.reform, settings.program
    labels = quarter_labels(cells)
    if cells.empty:
        raise Unavailable("the data has no inspections in the report's window, so there is no region-quarter panel")
    first, last = labels[1], labels[max(labels)]
    observed = sorted(cells["quarter"].unique())
    if len(observed) < 2:
        raise Unavailable(
            f"the data has inspections in only one quarter ({observed[0]}) up to the report quarter; "
            "comparing quarters before and after adoption needs at least two"
        )
    starts = dataset.program_starts(program)
    if not starts and dataset.scope:
        raise Unavailable(
            f"no region in this report's scope ({', '.join(dataset.scope)}) ran {reform}, so there is no "
            "adopter to study"
        )
    if not starts:
        raise Unavailable(
            f"the programs table has no {program} programme, so no region is known to have adopted "
            f"{reform} and there is nothing to compare"
        )
    if not (cells["g"] > 0).any():
        started = [s for s in starts.values() if s <= last]
        if not started:
            raise Unavailable(
                f"no region started {reform} by {last} (the earliest start in the "
                f"programs table is {min(starts.values())}), so there is no adopter to study"
            )
        raise Unavailable(
            f"none of the {len(started)} region(s) that started {reform} by {last} has "
            "inspections in the data, so there is no adopter to study"
        )
    notes = []
    excluded = sorted(_regions_with(dataset, exclude_programs) & set(cells["region_id"]))
    if excluded:
        reforms = " or ".join(reform_words(p) for p in exclude_programs)
        cells = cells[~cells["region_id"].isin(excluded)]
        if not (cells["g"] > 0).any():
            raise Unavailable(
                f"every region that adopted {reform} by {last} also ran {reforms}, a reform "
                "that moves the same outcomes, so no adopter is left to compare"
            )
        notes.append(
            f"{len(excluded)} region(s) that ran {reforms} are left out of the comparison: that reform moves "
            "the same outcomes."
        )
    regions = cells.drop_duplicates("region_id")
    never = int((regions["g"] == 0).sum())
    early = int((regions["g"] == 1).sum())
    if early == int((regions["g"] > 0).sum()):
        raise PanelError(
            f"every region in the comparison that adopted {reform} had done so by {first}, "
            "the first quarter in the data, so no adopter is observed before adoption"
            + ("" if never else " and no region went without it")
            + "; there is nothing to compare"
        )
    if early:
        notes.append(
            f"{early} region(s) already ran {reform} in {first}, the first quarter in the data, "
            "and are left out: no quarter before their adoption is observed."
        )
        cells = cells[cells["g"] != 1]
        regions = cells.drop_duplicates("region_id")
    cohorts = sorted(regions.loc[regions["g"] > 0, "g"].unique())
    if never == 0 and len(cohorts) == 1:
        raise PanelError(
            f"every region in the comparison adopted {reform} in {labels[cohorts[0]]} and none "
            "went without it, so there is no comparison group (no region that never adopted, or had not "
            "yet adopted)"
        )
    if never == 0:
        notes.append(
            f"No region in the comparison went without {reform}, so adopters are compared with "
            "regions that had not yet adopted (the not-yet-treated comparison) instead of regions that never "
            "adopted."
        )
    empty = [label for label in labels.values() if label not in set(observed)]
    if empty:
        notes.append(
            f"The data has no inspections in {_and(empty)}; comparisons step over "
            f"{'that quarter' if len(empty) == 1 else 'those quarters'} to the nearest earlier one with data."
        )
    if len(regions) < FEW_REGIONS:
        notes.append(
            f"Only {len(regions)} regions enter the comparison, so standard errors (which assume many regions) "
            "may be too small."
        )
    cells = cells.reset_index(drop=True)
    return Design(cells, labels, adoption_timeline(cells), notes, settings)


def _regions_with(dataset: Dataset, programs: tuple[str, ...]) -> set[str]:
    return set().union(*(dataset.program_starts(p) for p in programs))


def adoption_timeline(cells: pd.DataFrame) -> pd.DataFrame:
    """Region, adoption quarter number and label, one row per region."""
    first = cells.drop_duplicates("region_id")[["region_id", "g"]]
    labels = quarter_labels(cells)
    first = first.assign(adopted=first["g"].map(labels).fillna("never"))
    return first.sort_values(["g", "region_id"]).reset_index(drop=True)


def region_inspections(cells: pd.DataFrame) -> pd.Series:
    """Inspections per region over the panel's quarters (what decides whether a region may be named)."""
    if "inspections" not in cells.columns:
        return pd.Series(dtype=float)
    return cells.groupby("region_id", observed=True)["inspections"].sum()


def check(cells: pd.DataFrame, outcome: str, min_cell_size: int = DEFAULT_MIN_CELL_SIZE) -> list[str]:
    """Strict form: raise PanelError unless every region has `outcome` in every quarter.

    `estimate` does not need this (it keeps regions with gaps); kept for callers that want a
    balanced panel. Messages name only regions with at least `min_cell_size` inspections.
    """
    usable = cells.dropna(subset=[outcome])
    n_periods = cells["t"].nunique()
    counts = usable.groupby("region_id").size()
    incomplete = counts[counts < n_periods]
    missing_units = set(cells["region_id"]) - set(counts.index)
    if len(incomplete) or missing_units:
        lacking = sorted(list(incomplete.index) + sorted(missing_units))
        named, withheld = region_names(lacking, region_inspections(cells), min_cell_size)
        raise PanelError(
            f"{outcome}: unbalanced panel; {len(incomplete) + len(missing_units)} region(s) lack some of the "
            f"{n_periods} quarters ({name_list(named, withheld, limit=8)})"
        )
    return []


@dataclass(repr=False)
class OutcomeEstimate:
    """Both estimators' results for one outcome, and what the comparison left out."""

    outcome: str
    group_time: did.GroupTimeEffects
    simple: did.Aggregate
    dynamic: did.Aggregate
    twfe: did.FixedEffectsEstimate
    twfe_dynamic: did.FixedEffectsEstimate
    control_group: str  # "nevertreated" or "notyettreated"
    n_units: int  # regions with a value that entered the comparison
    notes: list[str]
    withheld: Withheld

    def _repr_html_(self) -> str:
        return _paragraphs(
            [
                f"{_capital(OUTCOME_WORDS[self.outcome][0])}: "
                + (" ".join(self.notes) or f"all {self.n_units} regions compared, none left out.")
            ]
        )

    def __repr__(self) -> str:
        return f"OutcomeEstimate({self.outcome}: ATT {self.simple.estimate:.4g}, {self.n_units} regions)"

    def tidy(self) -> pd.DataFrame:
        """This outcome's rows of estimates.csv: ATT and ATT by event time 0-4, by both estimators."""
        return estimates_frame({self.outcome: self})

    def summary(self) -> str:
        """The overall effects, the comparison and what was left out, as text for a notebook."""
        s, t = self.simple, self.twfe
        compared = "never adopted" if self.control_group == "nevertreated" else "had not yet adopted"
        lines = [
            f"{self.outcome}: {self.n_units} regions; adopters compared with regions that {compared}",
            f"  Callaway-Sant'Anna ATT  {s.estimate:.4g}  (SE {s.std_error:.3g}; 95% CI {s.ci_low:.4g} to "
            f"{s.ci_high:.4g})",
            f"  two-way fixed effects   {t.estimate:.4g}  (SE {t.std_error:.3g})",
            f"  pre-trend test p = {did.pretrend_test(self.dynamic)['pvalue']:.3g}",
        ]
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


def estimate(design: Design, outcome: str, min_cell_size: int = DEFAULT_MIN_CELL_SIZE) -> OutcomeEstimate:
    """Callaway-Sant'Anna (simple and dynamic) and TWFE (static and event study) for `outcome`.

    Regions lacking the outcome in some quarters are kept (did's unbalanced-panel form:
    each comparison uses the regions observed in its two quarters); regions that never
    have it, and cohorts with fewer than MIN_COHORT_UNITS regions with it, are left out
    with a note. With fewer than MIN_COHORT_UNITS never-adopting regions, adopters are
    compared with regions that had not yet adopted, and the notes say so. Regions with
    fewer than `min_cell_size` inspections are counted in the notes, never named.
    Raises Unavailable (a sentence) when the outcome cannot be estimated.

    Parameters
    ----------
    design : Design
        The comparison (`design`), carrying the study's `Settings` (programme, comparison
        group, anticipation, base period, estimator, covariate formula).
    outcome : str
        One of `OUTCOMES`.
    min_cell_size : int
        Regions with fewer inspections are never named in the notes.

    Returns
    -------
    OutcomeEstimate
        Callaway-Sant'Anna ATT(g,t), simple and dynamic aggregations, and TWFE for comparison;
        `.tidy()` gives the rows of estimates.csv, `.summary()` a text to read.

    Examples
    --------
    >>> settings = Settings(program="technical_inspectors", control_group="notyettreated")
    >>> cells = panel(dataset, last_period="2024Q4", program=settings.program)  # doctest: +SKIP
    >>> result = estimate(design(dataset, cells, settings=settings), "case_rate")  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    """
    name, basis = OUTCOME_WORDS[outcome]
    cells, labels, settings = design.cells, design.labels, design.settings
    reform = settings.reform
    data = cells.dropna(subset=[outcome])
    notes: list[str] = []
    where = f"{outcome}: regions left out"
    withheld = Withheld(where, min_cell_size)
    absent = sorted(set(cells["region_id"]) - set(data["region_id"]))
    if absent:
        named, withheld = region_names(absent, region_inspections(cells), min_cell_size, where=where)
        notes.append(
            f"{len(absent)} region(s) have no quarter with {basis} ({name_list(named, withheld)}), so {name} is "
            "never defined for them; they are left out."
        )
    if data.empty:
        raise Unavailable(f"{name} is not defined for any region and quarter: no quarter has {basis}")
    per_cohort = data.drop_duplicates("region_id").groupby("g").size()
    wanted = sorted(design.timeline.loc[design.timeline["g"] > 0, "g"].unique())
    thin = {g: int(per_cohort.get(g, 0)) for g in wanted if per_cohort.get(g, 0) < MIN_COHORT_UNITS}
    if thin:
        listed = _and([f"{labels[g]} ({n} region{'s' if n != 1 else ''})" for g, n in thin.items()])
        notes.append(
            f"Cohort(s) with fewer than {MIN_COHORT_UNITS} regions with {name} are left out, since effects "
            f"resting on so few regions are not reliable: those adopting in {listed}."
        )
        data = data[~data["g"].isin(thin)]
    cohorts = [g for g in wanted if g not in thin]
    if not cohorts:
        raise Unavailable(
            f"no adopting cohort has at least {MIN_COHORT_UNITS} regions with {name} (a quarter with "
            f"{basis}), too few to estimate its effect"
        )
    never = int(per_cohort.get(0, 0))
    control = settings.control_group
    if control == "nevertreated" and never < MIN_COHORT_UNITS:
        who = "no region" if never == 0 else f"only {never} region(s)"
        has = "has" if never < 2 else "have"
        if len(cohorts) < 2:
            raise Unavailable(
                f"{who} that never adopted {reform} {has} {name}, and the remaining "
                f"adopters all adopted in {labels[cohorts[0]]}, so there is no comparison group"
            )
        control = "notyettreated"
        last = labels[max(cohorts)]
        if (design.timeline["g"] == 0).any():  # the design did not already say that none never adopted
            notes.append(
                f"{_capital(who)} that never adopted {reform} {has} {name} (at least "
                f"{MIN_COHORT_UNITS} are needed), so adopters are compared with regions that had not yet "
                "adopted (the not-yet-treated comparison) instead."
            )
        if never == 0:
            notes.append(
                f"The last cohort, adopting in {last}, serves only as a comparison, and quarters from {last} on "
                "are not compared."
            )
    counts = data.groupby("region_id").size()
    gaps = int((counts < data["t"].nunique()).sum())
    if gaps:
        notes.append(
            f"{gaps} of {len(counts)} regions {'lacks' if gaps == 1 else 'lack'} {name} in some quarters "
            f"(quarters without {basis}); {'it is' if gaps == 1 else 'they are'} kept, and each comparison "
            "uses the regions observed in both of its quarters."
        )
    frame = data[["unit", "t", "g", outcome, *_formula_columns(settings.xformla, data)]]
    comparison = "regions that never adopted" if control == "nevertreated" else "regions that had not yet adopted"
    too_few = (
        f"{name} could not be estimated: only {len(data):,} region-quarters in {len(counts)} regions have it "
        f"(about {len(data) / len(counts):.1f} of {len(labels)} quarters per region), too few to compare adopters "
        f"with {comparison} before and after adoption"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what matters is said in the notes
        try:
            gt = did.att_gt(
                frame,
                outcome,
                "t",
                "unit",
                "g",
                xformla=settings.xformla or None,
                control_group=control,
                est_method=settings.est_method,
                anticipation=settings.anticipation,
                base_period=settings.base_period,
                allow_unbalanced_panel=True,
            )
            simple, dynamic = did.aggte(gt, "simple"), did.aggte(gt, "dynamic")
        except (did.DesignError, ValueError, IndexError, ZeroDivisionError) as err:
            raise Unavailable(too_few) from err  # moderndid's own messages are not for reviewers
        if not (np.isfinite(simple.estimate) and np.isfinite(simple.std_error) and simple.std_error > 0):
            raise Unavailable(too_few)
        missing = int(gt.table["att"].isna().sum())
        if missing:
            notes.append(
                f"{missing} of {len(gt.table)} cohort-quarter comparisons could not be made (no region of the "
                "cohort, or of the comparison group, observed in one of their quarters); the averages use the "
                "others."
            )
        try:
            twfe, twfe_dynamic = (
                did.twfe(frame, outcome, "t", "unit", "g"),
                did.twfe_event_study(frame, outcome, "t", "unit", "g"),
            )
        except did.DesignError as err:
            notes.append(f"The two-way fixed-effects regression could not be run: {err}.")
            twfe = twfe_dynamic = _no_fixed_effects_estimate()
    return OutcomeEstimate(outcome, gt, simple, dynamic, twfe, twfe_dynamic, control, gt.n_units, notes, withheld)


def _formula_columns(xformla: str, data: pd.DataFrame) -> list[str]:
    """Panel columns a covariate formula names (an unknown name is an error naming it)."""
    if not xformla:
        return []
    from .ate import covariate_columns

    names = covariate_columns(xformla)
    unknown = [n for n in names if n not in data.columns]
    if unknown:
        raise ValueError(
            f"xformla {xformla!r} names {', '.join(unknown)}, not columns of the region-quarter panel "
            f"(columns: {', '.join(c for c in data.columns if c not in ('unit', 't', 'g'))})"
        )
    return names


def _no_fixed_effects_estimate() -> did.FixedEffectsEstimate:
    nan = float("nan")
    empty = pd.DataFrame(columns=["event_time", "estimate", "std_error", "ci_low", "ci_high"], dtype=float)
    return did.FixedEffectsEstimate(nan, nan, nan, nan, 0, empty)


OUTCOME_SECTIONS = {
    "case_rate": "Effect on the case rate",
    "avg_case_value": "Effect on the average case value",
    "major_hazard_filing_rate": "Effect on the filing rate when a major hazard is found",
}


def estimate_each(design: Design, outcomes, min_cell_size: int, limits) -> list:
    """`estimate` for each outcome, each run through `limits` under its own section (an outcome that
    cannot be estimated gets its sentence, and the others go on)."""
    return [limits.run(OUTCOME_SECTIONS[o], estimate, design, o, min_cell_size) for o in outcomes]


def estimates(
    design: Design, outcomes=OUTCOMES, min_cell_size: int = DEFAULT_MIN_CELL_SIZE
) -> dict[str, OutcomeEstimate]:
    """`estimate` for each outcome (raising for the first that cannot be estimated)."""
    return {outcome: estimate(design, outcome, min_cell_size) for outcome in outcomes}


def outcome_notes(parts: list) -> Html:
    """What each outcome's comparison left out, or why it was not possible, as paragraphs.

    `parts` are `estimate` results or the stand-ins of those that were not possible; a
    stand-in for a step that failed earlier (the design) is shown once, as a pointer.
    """
    shown = [
        part._repr_html_()
        for part in parts
        if isinstance(part, OutcomeEstimate) or (isinstance(part, Missing) and not part.shown[0])
    ]
    return Html("".join(shown) or next((p._repr_html_() for p in parts if isinstance(p, Missing)), ""))


def collect(parts: list) -> dict[str, OutcomeEstimate] | Missing:
    """The outcomes that could be estimated, by name; the stand-in of the first failure when none could."""
    found = {part.outcome: part for part in parts if isinstance(part, OutcomeEstimate)}
    if found:
        return found
    failed = next((p for p in parts if isinstance(p, Missing)), None)
    if failed is None:
        raise Unavailable("no outcome could be estimated")
    return failed.echo()


def require_never_adopters(results: dict[str, OutcomeEstimate], settings: Settings | None = None) -> None:
    """Unavailable when some outcome had to compare adopters with not-yet-adopters (too few never adopted).

    Nothing to say when the not-yet-treated comparison was asked for (`settings.control_group`).
    """
    settings = settings or Settings()
    if settings.control_group == "notyettreated":
        return
    fallback = [OUTCOME_WORDS[o][0] for o, r in results.items() if r.control_group == "notyettreated"]
    if fallback:
        raise Unavailable(
            f"too few regions that never adopted {settings.reform} have {_and(fallback)}, so "
            "adopters are compared with regions that had not yet adopted (the not-yet-treated comparison) "
            "instead"
        )


def estimates_frame(results: dict[str, OutcomeEstimate]) -> pd.DataFrame:
    """Rows for estimates.csv: ATT and ATT_e0..ATT_e4 by both methods (n_obs: regions compared)."""
    rows = []
    for outcome, r in results.items():
        n_units = r.n_units
        for method, overall in (("callaway_santanna", r.simple), ("twfe", r.twfe)):
            if np.isfinite(overall.estimate):
                rows.append(
                    _row(
                        outcome,
                        "ATT",
                        method,
                        overall.estimate,
                        overall.std_error,
                        overall.ci_low,
                        overall.ci_high,
                        n_units,
                    )
                )
        for method, by in (("callaway_santanna", r.dynamic.by), ("twfe", r.twfe_dynamic.by)):
            for e in EVENT_TIMES:
                match = by[by["event_time"] == e]
                if len(match) and np.isfinite(match.iloc[0]["estimate"]):
                    m = match.iloc[0]
                    rows.append(
                        _row(
                            outcome,
                            f"ATT_e{e}",
                            method,
                            m["estimate"],
                            m["std_error"],
                            m["ci_low"],
                            m["ci_high"],
                            n_units,
                        )
                    )
    return pd.DataFrame(
        rows, columns=["study", "outcome", "estimand", "method", "estimate", "std_error", "ci_low", "ci_high", "n_obs"]
    )


def _row(outcome, estimand, method, estimate, se, low, high, n):
    return {
        "study": STUDY,
        "outcome": outcome,
        "estimand": estimand,
        "method": method,
        "estimate": float(estimate),
        "std_error": float(se),
        "ci_low": float(low),
        "ci_high": float(high),
        "n_obs": int(n),
    }


def comparison(results: dict[str, OutcomeEstimate]) -> pd.DataFrame:
    """Overall ATT by both methods, side by side, with the comparison group and the pre-trend test."""
    return pd.DataFrame(
        [
            {
                "outcome": o,
                "compared_with": "never adopted" if r.control_group == "nevertreated" else "not yet adopted",
                "regions": r.n_units,
                "callaway_santanna": r.simple.estimate,
                "cs_ci_low": r.simple.ci_low,
                "cs_ci_high": r.simple.ci_high,
                "twfe": r.twfe.estimate,
                "twfe_ci_low": r.twfe.ci_low,
                "twfe_ci_high": r.twfe.ci_high,
                "pretrend_pvalue": did.pretrend_test(r.dynamic)["pvalue"],
            }
            for o, r in results.items()
        ]
    )


def comparison_shown(frame: pd.DataFrame) -> Html:
    """`comparison` as a reviewer reads it: each estimate in its outcome's unit with its 95% interval."""
    from . import labels

    rows = [
        {
            "Outcome": labels.words(r.outcome),
            "Compared with": f"regions that {r.compared_with}",
            "Regions": f"{int(r.regions):,}",
            "Callaway-Sant'Anna": labels.effect(r.outcome, r.callaway_santanna),
            "95% interval": labels.interval(r.outcome, r.cs_ci_low, r.cs_ci_high),
            "Two-way fixed effects": labels.effect(r.outcome, r.twfe),
            "95% interval (TWFE)": labels.interval(r.outcome, r.twfe_ci_low, r.twfe_ci_high),
            "Pre-trend test": labels.p_value(r.pretrend_pvalue),
        }
        for r in frame.itertuples()
    ]
    return table(pd.DataFrame(rows), caption="Average effect after adoption (ATT), by both estimators")


def event_studies(results: dict[str, OutcomeEstimate], data_path=None, settings: Settings | None = None) -> list:
    """One event-study figure per outcome estimated, with the planted truth when the data is a simulated world
    (planted for cross-region enforcement only, so shown only when that is the programme studied)."""
    from . import plots

    if (settings or Settings()).program != PROGRAM:
        data_path = None

    return [
        plots.event_study(
            r.dynamic.by, r.twfe_dynamic.by, event_truth(data_path, o) if data_path else None, o.replace("_", " ")
        )
        for o, r in results.items()
    ]


def event_reading(results: dict[str, OutcomeEstimate] | Missing) -> Html | Missing:
    """The event studies in words: the effect at adoption and four quarters on, and the pre-trend test."""
    if isinstance(results, Missing):
        return results
    sentences = []
    for outcome, r in results.items():
        by = r.dynamic.by.set_index("event_time")["estimate"]
        fmt = EFFECT_FORMATS[outcome]
        at = [
            f"{fmt(by[e])} {when}"
            for e, when in ((0, "in the quarter of adoption"), (4, "four quarters on"))
            if e in by.index and np.isfinite(by[e])
        ]
        pvalue = did.pretrend_test(r.dynamic)["pvalue"]
        shown = "p < 0.001" if pvalue < 0.001 else f"p = {pvalue:.3f}"
        pre = (
            f"the test that the quarters before adoption show no effect gives {shown}"
            if np.isfinite(pvalue)
            else "no quarter before adoption can be tested"
        )
        sentences.append(
            f"{_capital(OUTCOME_WORDS[outcome][0])}: " + (" and ".join(at) or "no effect by quarter") + f"; {pre}."
        )
    return reading_html(sentences)


@dataclass(repr=False)
class CaptureCheck:
    """Outside minus local teams by outcome, under disclosure control; displays as its table."""

    frame: pd.DataFrame
    withheld: Withheld

    def __iter__(self):  # frame, withheld = capture_check(...)
        return iter((self.frame, self.withheld))

    def _repr_html_(self) -> str:
        return table(
            self.frame,
            caption="Outside team minus local team, same region and quarter",
            digits=4,
            withheld=self.withheld,
        )._repr_html_()

    def __repr__(self) -> str:
        return f"CaptureCheck({len(self.frame)} outcomes)"


CAPTURE_OUTCOMES = ("case_filed", "penalty_amount", "major_hazard_found")


def _mixed_team_cells(dataset: Dataset, last_period: str | None) -> pd.DataFrame:
    """Per region and quarter where both outside and local teams inspected: each arm's count, and sums and
    sums of squares of each outcome (``n0``, ``sum0_<outcome>``, ... for local teams, ``n1``, ... for outside
    teams), counted in SQL where the rows lie."""
    ordinal = engine.quarter_ordinal("inspection_date")
    window = f"WHERE {ordinal} <= {Quarter.parse(last_period).ordinal}" if last_period else ""
    measures = ["CAST(SUM(1 - d) AS BIGINT) AS n0", "CAST(SUM(d) AS BIGINT) AS n1"]
    for y in CAPTURE_OUTCOMES:
        measures += [
            f"SUM((1 - d) * {y}) AS sum0_{y}",
            f"SUM(d * {y}) AS sum1_{y}",
            f"SUM((1 - d) * {y} * {y}) AS sumsq0_{y}",
            f"SUM(d * {y} * {y}) AS sumsq1_{y}",
        ]
    return engine.query(
        dataset,
        f"""WITH team_rows AS (
              SELECT region_id AS region, year(inspection_date) AS y, quarter(inspection_date) AS q,
                CASE WHEN cross_region THEN 1 ELSE 0 END AS d,
                CAST(case_filed AS DOUBLE) AS case_filed, CAST(penalty_amount AS DOUBLE) AS penalty_amount,
                CAST(major_hazards > 0 AS DOUBLE) AS major_hazard_found
              FROM inspections {window})
            SELECT region, {engine.period_label("y", "q", "quarter")} AS quarter, {", ".join(measures)}
            FROM team_rows GROUP BY region, y, q HAVING SUM(d) > 0 AND SUM(1 - d) > 0
            ORDER BY region, y, q""",
    )


def capture_check(
    dataset: Dataset, last_period: str | None = None, min_cell_size: int = DEFAULT_MIN_CELL_SIZE
) -> CaptureCheck:
    """Within the same region and quarter, do outside teams' inspections end differently from local ones?

    Inspection-level regressions on the outside-team dummy with region x quarter fixed
    effects, errors clustered by region, over regions and quarters where both outside and
    local teams inspected. A difference resting on fewer than `min_cell_size` inspections
    by outside or by local teams is withheld (disclosure control). Unavailable (a sentence)
    when no region and quarter had both, or they come from a single region. The regressions are
    computed from each region-quarter's counts and sums (`panel.within_cell_gap`, equal to the
    regression on the rows), so tens of millions of inspections cost no more than a few thousand.
    """
    from .panel import within_cell_gap

    cells = _mixed_team_cells(dataset, last_period)
    if cells.empty:
        raise Unavailable(
            "no region and quarter had inspections by both outside and local teams"
            + (f" up to {last_period}" if last_period else "")
            + ", so the two cannot be compared"
        )
    if cells["region"].nunique() < 2:
        raise Unavailable(
            "only one region had inspections by both outside and local teams in the same quarter; "
            "errors clustered by region need at least two"
        )
    smallest_arm = int(min(cells["n0"].sum(), cells["n1"].sum()))
    rows = [
        {"outcome": outcome, **gap, "smallest_arm": smallest_arm}
        for outcome in CAPTURE_OUTCOMES
        if (gap := within_cell_gap(cells, outcome, "region")) is not None  # None: no variation to compare
    ]
    if not rows:
        raise Unavailable(
            "outside and local teams' inspections in the same region and quarter cannot be compared: "
            "their outcomes do not vary within those regions and quarters"
        )
    shown, withheld = suppress(
        pd.DataFrame(rows),
        "smallest_arm",
        ["estimate", "std_error", "ci_low", "ci_high", "n_obs"],
        min_cell_size,
        withhold_count=False,
        where="capture check: outside minus local teams",
    )
    return CaptureCheck(shown.drop(columns="smallest_arm"), withheld)


def design_notes(design: Design | Missing) -> Html | Missing:
    """Which regions enter the comparison and what was left out, or why no comparison is possible.

    When the page studies another programme than cross-region enforcement, it says so first.
    """
    if isinstance(design, Missing):
        return design
    program = design.settings.program
    other = (
        [
            f"This page studies {design.settings.reform} (programme {program} of the programs table), not "
            "cross-region enforcement: where the text says cross-region enforcement, read this programme. The "
            "check of outside against local teams below still concerns cross-region teams."
        ]
        if program != PROGRAM
        else []
    )
    return Html(_paragraphs(other) + design._repr_html_())


def capture_reading(capture: CaptureCheck | Missing) -> Html | Missing:
    """The capture check's table and a sentence reading the case-filing gap, or why it was not possible."""
    if isinstance(capture, Missing):
        return capture
    rows = capture.frame.set_index("outcome")
    sentence = "The gap in case filing is withheld or could not be estimated."
    if "case_filed" in rows.index and np.isfinite(rows.loc["case_filed", "estimate"]):
        row = rows.loc["case_filed"]
        sentence = (
            f"In the same region and quarter, outside teams' inspections end in a case "
            f"{abs(100 * row['estimate']):.1f} percentage points {'more' if row['estimate'] >= 0 else 'less'} often "
            f"than local teams' (95% CI {100 * row['ci_low']:+.1f} to {100 * row['ci_high']:+.1f})."
        )
    return Html(capture._repr_html_() + _paragraphs([sentence]))


def withheld(*parts) -> list[Withheld]:
    """Every `Withheld` among estimate results (a dict of them) and capture checks; stand-ins are skipped."""
    found = []
    for part in parts:
        if isinstance(part, dict):
            found += [r.withheld for r in part.values() if isinstance(r, OutcomeEstimate)]
        elif isinstance(part, (OutcomeEstimate, CaptureCheck)):
            found.append(part.withheld)
    return found


def event_truth(data_path, outcome: str) -> dict[int, float] | None:
    """Planted ATT_e values for `outcome` when the data is a simulated world (the suite's own truth.json)."""
    from .results import planted_truth

    rows = planted_truth(data_path, STUDY, estimand=None)
    if rows is None:
        return None
    return {
        int(estimand[5:]): value
        for (o, estimand), value in rows.items()
        if o == outcome and estimand.startswith("ATT_e") and estimand[5:].isdigit()
    } or None


def reading(results: dict[str, OutcomeEstimate] | Missing, settings: Settings | None = None) -> Html | Missing:
    """The overall effects in words, or the stand-in of a step that was not possible."""
    if isinstance(results, Missing):
        return results
    reform = (settings or Settings()).reform
    out = []
    for outcome, r in results.items():
        name, fmt = OUTCOME_WORDS[outcome][0], EFFECT_FORMATS[outcome]
        s, t = r.simple, r.twfe
        twfe = (
            f"; the two-way fixed-effects regression says {fmt(t.estimate)}"
            if np.isfinite(t.estimate)
            else "; the two-way fixed-effects regression could not be run"
        )
        against = "" if r.control_group == "nevertreated" else " against regions that had not yet adopted"
        out.append(
            f"After adoption, {reform} changed {name} by {fmt(s.estimate)} on average{against} "
            f"(95% CI {fmt(s.ci_low)} to {fmt(s.ci_high)}){twfe}."
        )
    return reading_html([" ".join(out)])


def reading_html(sentences: list[str]) -> Html:
    return Html(_paragraphs(sentences))


def _paragraphs(sentences: list[str]) -> str:
    return "".join(f"<p class='reading'>{html.escape(s)}</p>" for s in sentences if s)


def _and(items: list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def robustness(results: dict[str, OutcomeEstimate] | Missing) -> Html | Missing:
    """The conclusion's verdict: the pre-trend test of each outcome, and whether TWFE agrees in sign."""
    if isinstance(results, Missing):
        return results
    drifting: list[str] = []
    flat: list[str] = []
    disagree: list[str] = []
    for outcome, r in results.items():
        name = OUTCOME_WORDS[outcome][0]
        pvalue = did.pretrend_test(r.dynamic)["pvalue"]
        if np.isfinite(pvalue):
            (drifting if pvalue < 0.05 else flat).append(f"{name} (p = {pvalue:.3f})")
        if np.isfinite(r.twfe.estimate) and np.sign(r.twfe.estimate) != np.sign(r.simple.estimate):
            disagree.append(name)
    sentences = [
        f"Verdict: read {_and(drifting)} with care: adopters already drifted from the comparison before adoption."
        if drifting
        else "Verdict: no outcome shows adopters drifting from the comparison regions before adoption."
    ]
    if flat:
        sentences.append(f"Pre-trend tests passed: {_and(flat)}.")
    if disagree:
        sentences.append(
            f"The two-way fixed-effects regression gives the opposite sign for {_and(disagree)}: effects that "
            "change with time since adoption bias it, so the Callaway-Sant'Anna estimate is the one to read."
        )
    return reading_html(sentences)
