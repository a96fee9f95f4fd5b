"""Study 1: unannounced ("surprise") inspections and case outcomes.

Design: inspection-level comparison of surprise and announced inspections,
adjusting for what drives where inspectors go unannounced (risk grade, industry,
enterprise size, a surprise campaign in force). Identification rests on no
unmeasured confounding given these, and on overlap; `sensitivity` says how strong
an unmeasured confounder would have to be to explain an estimate away.

Any contract-valid dataset: the optional covariates (risk grade, size) may be absent or
partly missing, there may be no campaign, few inspections, or one kind of visit only.
A covariate the data lacks is left out of the models and said in words (`adjustment`);
an inspection with a missing risk grade or size is kept, "not recorded" being a level
of its own (`study_table` says how many); a step the data cannot support raises
`limits.Unavailable` with one sentence saying why.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import compressed, display
from .ate import METHODS, OVERLAP_TOLERANCE, Estimate, OverlapError, covariate_columns, estimate_many
from .columns import lookup
from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Withheld, combine, suppress
from .limits import Missing, Unavailable
from .metrics import quarters_of  # noqa: F401 (for researchers)
from .registry import STUDIES_BY_NAME
from .surprise_table import (  # noqa: F401 (the study's table, as researchers have imported it from here)
    CELL_COLUMNS,
    CELL_COUNT,
    KEYS,
    MIN_PER_ARM,
    NOT_RECORDED,
    OPTIONAL_COVARIATES,
    STUDY_COLUMNS,
    TREATMENT,
    arm_counts,
    cell_weights,
    cells_sql,
    count_column,
    inspection_count,
    is_cells,
    outcome_range,
    study_cells,
    study_table,
    unannounced_count,
)

STUDY = "surprise"
OUTCOMES = STUDIES_BY_NAME["surprise"].outcomes  # declared once, in the registry
COVARIATES = ["risk_level", "industry", "enterprise_size", "campaign_active"]  # propensity model
# Outcome models get interactions (risk x industry, campaign x risk): outcomes are far
# from additive in these, and a misspecified linear outcome model biases regression adjustment.
OUTCOME_COVARIATES = ["risk_by_industry", "enterprise_size", "campaign_by_risk"]
COVARIATE_WORDS = {  # how the page names each adjustment variable
    "risk_level": "risk grade",
    "industry": "industry",
    "enterprise_size": "size",
    "campaign_active": "campaigns",
    "risk_by_industry": "risk grade within industry",
    "campaign_by_risk": "campaign by risk grade",
}
COVARIATE_PARENTS = {
    "risk_by_industry": ("risk_level", "industry"),
    "campaign_by_risk": ("campaign_active", "risk_level"),
}


@dataclass(frozen=True)
class Design:
    """The study's design choices (notebook 02's parameters); the defaults are the study's own.

    `covariates` (outcome models) and `propensity_covariates` are lists of columns of the
    study table or formula right-hand sides ("C(risk_level) * C(industry) + enterprise_size").
    `cluster` is the column standard errors are clustered by (inspections in a region share
    shocks), None for independent inspections. `heterogeneity_by`: columns to break the effect
    on case filing down by.
    """

    outcomes: tuple[str, ...] = OUTCOMES
    covariates: tuple[str, ...] | str = tuple(OUTCOME_COVARIATES)
    propensity_covariates: tuple[str, ...] | str = tuple(COVARIATES)
    estimands: tuple[str, ...] = ("ATE", "ATT")
    methods: tuple[str, ...] = METHODS
    propensity_model: str = "logit"
    overlap_tolerance: float = OVERLAP_TOLERANCE
    cluster: str | None = "region_id"
    heterogeneity_by: tuple[str, ...] = ("industry", "risk_level")

    @classmethod
    def of(cls, **given) -> Design:
        """A design from notebook parameters: lists become tuples, an empty cluster means none."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
        if values.get("cluster") == "":
            values["cluster"] = None
        return cls(**values)

    @property
    def method(self) -> str:
        """The estimator the page reads (AIPW unless it was not asked for)."""
        return "aipw" if "aipw" in self.methods else self.methods[-1]

    def fit_options(self) -> dict:
        """Keyword arguments of `ate.estimate_many` for this design."""
        return {
            "propensity_covariates": _spec(self.propensity_covariates),
            "propensity_model": self.propensity_model,
            "overlap_tolerance": self.overlap_tolerance,
            "cluster": self.cluster,
        }

    def propensity_columns(self, table: pd.DataFrame) -> list[str]:
        """The study-table columns the propensity model uses (read from a formula when it is one)."""
        return _columns_of(self.propensity_covariates, table)


def _spec(covariates: tuple[str, ...] | str) -> list[str] | str:
    return covariates if isinstance(covariates, str) else list(covariates)


def _columns_of(covariates: tuple[str, ...] | str, table: pd.DataFrame) -> list[str]:
    return [c for c in covariate_columns(_spec(covariates)) if c in table.columns]


DEFAULT = Design()


def study_data(
    dataset: Dataset, design: Design = DEFAULT, last_period: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The study's inspections as `design` needs them: their cells (`study_cells`), unless the design reads
    a column the cells do not have (`CELL_COLUMNS`: not the id, date or quarter of an inspection, nor one of
    its outcomes), then one row per inspection (`study_table`).

    Returns the table and the notes on gaps in the covariates, as both functions do."""
    read = {*covariate_columns(_spec(design.covariates)), *design.heterogeneity_by}
    read |= {design.cluster} if design.cluster else set()
    if design.propensity_covariates is not None:
        read |= set(covariate_columns(_spec(design.propensity_covariates)))
    if read - set(CELL_COLUMNS):
        return study_table(dataset, last_period)
    return study_cells(dataset, last_period)


# --- what the data lets the study do ------------------------------------------------------


def _span(table: pd.DataFrame, period: str | None = None) -> str:
    if period:
        return f"up to {period}"
    return f"up to {_last_quarter(table)}" if len(table) else "in the period studied"


def _last_quarter(table: pd.DataFrame) -> str:
    """The latest quarter of the inspections: of their latest date (the maximum of ten million quarter
    labels takes a second), or of their quarter labels when the table has no dates."""
    dates = table.get("last_inspection" if is_cells(table) else "inspection_date")
    if dates is not None and pd.api.types.is_datetime64_any_dtype(dates) and dates.notna().any():
        return str(pd.Period(dates.max(), freq="Q"))
    return str(table["quarter"].max())


def _require_comparison(table: pd.DataFrame, period: str | None = None) -> None:
    """Raise `Unavailable` unless there are at least MIN_PER_ARM inspections of each kind."""
    n, unannounced = inspection_count(table), unannounced_count(table)
    announced = n - unannounced
    span = _span(table, period)
    if n == 0:
        raise Unavailable(f"There are no inspections {span} in the data, so there is nothing to compare.")
    if unannounced == 0:
        raise Unavailable(
            f"None of the {n:,} inspections {span} was unannounced, so there are no unannounced "
            "inspections to compare with announced ones."
        )
    if announced == 0:
        raise Unavailable(
            f"All {n:,} inspections {span} were unannounced, so there are no announced inspections "
            "to compare them with."
        )
    if min(unannounced, announced) < MIN_PER_ARM:
        raise Unavailable(
            f"Only {unannounced:,} unannounced and {announced:,} announced inspections {span}; at least "
            f"{MIN_PER_ARM} of each kind are needed to compare them."
        )


def comparable(table: pd.DataFrame, period: str | None = None) -> pd.DataFrame:
    """`table` when it has at least MIN_PER_ARM inspections of each kind; else `Unavailable`, saying how many it has.

    Run once through `limits.run` so that every later step, given the `Missing` instead of
    the table, points to this one sentence instead of repeating it.
    """
    _require_comparison(table, period)
    return table


def _comparable(table: pd.DataFrame) -> bool:
    try:
        _require_comparison(table)
    except Unavailable:
        return False
    return True


def _constant(table: pd.DataFrame, column: str) -> bool:
    """Whether `column` has fewer than two distinct values (missing values aside)."""
    values = table[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # its codes compared: no pass over the texts
        codes = values.cat.codes.to_numpy()
        codes = codes[codes >= 0]
        return not len(codes) or codes.min() == codes.max()
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return not values.min() < values.max()
    return values.nunique() < 2


OUTCOME_SECTIONS = {
    "hazards_found": "Effect on hidden dangers found",
    "major_hazard_found": "Effect on major hazards found",
    "case_filed": "Effect on penalty cases",
    "penalty_amount": "Effect on fines",
}
# What "the outcome never happened" is for each outcome, {span} marking where "up to 2024Q4" goes.
OUTCOME_NEVER = {
    "hazards_found": "no inspection {span} found a hidden danger",
    "major_hazard_found": "no inspection {span} found a major hazard",
    "case_filed": "no inspection {span} led to a penalty case",
    "penalty_amount": "no inspection {span} led to a fine",
}


def _constant_outcome(table: pd.DataFrame, outcome: str) -> str | None:
    """The sentence saying why `outcome` cannot be estimated (it does not vary), or None."""
    if not len(table):
        return None
    value, largest = outcome_range(table, outcome)
    if value < largest:  # it varies (compared, not hashed: fast on 10M rows)
        return None
    words = OUTCOME_WORDS[outcome][0]
    span = _span(table)
    why = (
        OUTCOME_NEVER[outcome].format(span=span)
        if value == 0
        else f"every inspection {span} has the same value ({value:,g})"
    )
    return f"The effect on the {words} cannot be estimated: {why}."


def plan(table: pd.DataFrame, limits=None, outcomes=OUTCOMES) -> list[str]:
    """The outcomes that can be estimated (those that vary among the inspections).

    What the data cannot support is noted in `limits` (a `limits.Limitations`), one
    sentence each: an outcome that does not vary, and an optional adjustment variable
    (risk grade, size) the data lacks entirely, since the comparison then rests on the
    other adjustment variables alone.
    """
    if not _comparable(table):
        return list(outcomes)  # `comparable` and `estimates` say why
    keep = []
    for outcome in outcomes:
        reason = _constant_outcome(table, outcome)
        if reason is None:
            keep.append(outcome)
        elif limits is not None:
            limits.note(OUTCOME_SECTIONS.get(outcome, outcome), reason)
    for column, words in OPTIONAL_COVARIATES.items():
        if limits is not None and (table[column] == NOT_RECORDED).all():
            limits.note(f"Adjustment for {words}", _absent(table, column))
    return keep


def _absent(table: pd.DataFrame, column: str) -> str:
    words = OPTIONAL_COVARIATES[column]
    return f"No inspection {_span(table)} has {_a(words)} (column {column}), so {words}s are not adjusted for."


def _a(words: str) -> str:
    return ("an " if words[:1] in "aeiou" else "a ") + words


# --- estimates ------------------------------------------------------------------------------


def estimates(
    table: pd.DataFrame, outcomes=None, methods=None, estimands=None, design: Design = DEFAULT
) -> list[Estimate]:
    """Effect estimates for every outcome that varies (the others cannot be estimated; `reading` says why).

    `outcomes`, `methods` and `estimands` default to the design's; the design gives the
    adjustment (outcome and propensity covariates, lists or formulas), the propensity
    model, the overlap tolerance and the clustering.

    Raises `Unavailable` when there are fewer than MIN_PER_ARM inspections of either kind,
    when no outcome varies, or when the covariates predict the kind of visit perfectly (no
    overlap: the sentence names the kinds of site visited one way only). Covariates that
    are constant or redundant are left out of the models with a note (`Estimate.notes`;
    `adjustment` says it in words).

    Parameters
    ----------
    table : pandas.DataFrame
        The study table (`study_table`), or any table with its columns.
    outcomes, methods, estimands : sequence of str, optional
        Override the design's (methods: naive, regression, ipw, aipw; estimands: ATE, ATT).
    design : Design
        Covariates, propensity model, overlap tolerance and clustering (default: the study's own).

    Returns
    -------
    analysis.ate.Estimates
        A list of `Estimate`, one per outcome, estimand and method; `.tidy()` gives the rows of
        estimates.csv and `.summary()` a text to read.

    Examples
    --------
    >>> design = Design(covariates="C(risk_level) * C(industry)", propensity_model="probit")
    >>> results = estimates(table, ["case_filed"], ["aipw"], ["ATE"], design=design)  # doctest: +SKIP
    >>> print(results.summary())  # doctest: +SKIP
    """
    _require_comparison(table)
    outcomes, methods = outcomes or design.outcomes, methods or design.methods
    estimands = estimands or design.estimands
    varying = [o for o in outcomes if _constant_outcome(table, o) is None]
    if not varying:
        raise Unavailable(
            f"None of the outcomes varies among the inspections {_span(table)}, so there is no effect to estimate."
        )
    try:
        return _estimate_many(table, varying, list(methods), list(estimands), design)
    except OverlapError as err:
        raise Unavailable(_no_overlap(table, design)) from err
    except ValueError as err:  # includes numpy's LinAlgError: an outcome model with too few units of a kind
        if "outcome model" not in str(err) and not isinstance(err, np.linalg.LinAlgError):
            raise
        unannounced = unannounced_count(table)
        raise Unavailable(
            f"The adjusted comparison cannot be fitted: some kinds of site have too few inspections of "
            f"one kind ({unannounced:,} unannounced and {inspection_count(table) - unannounced:,} announced in all) "
            "to compare like with like."
        ) from err


def _estimate_many(table: pd.DataFrame, outcomes: list[str], methods: list[str], estimands: list[str], design: Design):
    """`ate.estimate_many`, computed from cell statistics when the covariates are categorical (the same
    numbers, to rounding, in a fraction of the time and memory: `analysis.compressed`); from the rows
    otherwise, with a note saying why (in `Estimate.notes`, for researchers: the numbers are the same)."""
    covariates, options = _spec(design.covariates), design.fit_options()
    try:
        cells = compressed.cell_statistics(
            table,
            outcomes,
            TREATMENT,
            covariates,
            propensity_covariates=options["propensity_covariates"],
            cluster=options["cluster"] or None,
            counts=count_column(table),
        )
    except compressed.NotCompressible as why:
        results = estimate_many(table, outcomes, TREATMENT, covariates, methods, estimands, **options)
        for result in results:
            result.notes.append(str(why))
        return results
    return compressed.estimate_many_compressed(cells, outcomes, TREATMENT, covariates, methods, estimands, **options)


def _no_overlap(table: pd.DataFrame, design: Design = DEFAULT) -> str:
    """The overlap failure in words, naming the kinds of site that got one kind of visit only."""
    one_way = []
    for column in design.propensity_columns(table):
        if column not in COVARIATE_LABELS:
            continue
        counts = arm_counts(table, column)
        for level, row in counts.iterrows():
            if row.min() == 0:
                kind = "unannounced" if row[True] else "announced"
                label = COVARIATE_LABELS[column](level)
                one_way.append(
                    f"the one inspection {label} was {kind}"
                    if row.max() == 1
                    else f"all {row.max():,} inspections {label} were {kind}"
                )
    if one_way:
        return (
            f"Some kinds of site got only one kind of visit, so they cannot be compared like with like: "
            f"{'; '.join(one_way[:4])}{'; and more' if len(one_way) > 4 else ''}."
        )
    return (
        "Some combinations of risk grade, industry, size and campaign got only one kind of visit, so they cannot "
        "be compared like with like (the probability of an unannounced visit there is 0 or 1)."
    )


COVARIATE_LABELS = {  # an inspection "in industry mining", "of risk grade 3", ...
    "risk_level": lambda v: f"of risk grade {v}" if v != NOT_RECORDED else "without a risk grade",
    "industry": lambda v: f"in {v.replace('_', ' ')}",
    "enterprise_size": lambda v: f"of a {v} enterprise" if v != NOT_RECORDED else "without an enterprise size",
    "campaign_active": lambda v: "during a campaign" if v == 1 else "outside campaigns",
}


def estimates_frame(results: list[Estimate]) -> pd.DataFrame:
    return pd.DataFrame([r.as_row(STUDY) for r in results])


def _shows_missing(present):
    """A presenting step given a result that was not possible shows that result's sentence instead."""

    @functools.wraps(present)
    def wrapper(result, *args, **kwargs):
        return result if isinstance(result, Missing) else present(result, *args, **kwargs)

    return wrapper


@_shows_missing
def estimates_table(results: list[Estimate]) -> display.Html:
    """The estimates as the page shows them (or, when they were not possible, the sentence saying why)."""
    return display.estimates_table(estimates_frame(results), caption="Effect of an unannounced inspection")


def forest(frame: pd.DataFrame, truth: dict | None = None):
    """The ATE estimates of every outcome with their intervals, and the planted truth when there is one."""
    from . import plots

    return plots.effect_forest(frame[frame["estimand"] == "ATE"], truth)


def adjustment(table: pd.DataFrame, results: Sequence[Estimate] = (), design: Design = DEFAULT) -> list[str]:
    """What the comparison adjusts for, and why each adjustment variable it does not use is left out.

    From the table (a covariate that does not vary: absent from the data, no campaign, one
    industry) and from the estimators' notes (terms left out as redundant), in words.
    """
    if not len(table):
        return []
    span = _span(table)
    columns = design.propensity_columns(table)
    constant = [c for c in columns if _constant(table, c)]
    used = [COVARIATE_WORDS.get(c, c.replace("_", " ")) for c in columns if c not in constant]
    sentences = [
        f"The comparison adjusts for {_and(used)}."
        if used
        else "None of the adjustment variables varies among these inspections, so the comparison is not adjusted."
    ]
    for column in constant:
        value = table[column].iloc[0]
        if column == "campaign_active":
            sentences.append(
                f"No surprise campaign was in force {span}, so campaigns are not adjusted for."
                if value != 1
                else f"A surprise campaign was in force for every inspection {span}, so there is no time or "
                "place without one to compare with and campaigns are not adjusted for."
            )
        elif value == NOT_RECORDED:
            sentences.append(_absent(table, column))
        else:
            words = COVARIATE_WORDS.get(column, column.replace("_", " "))
            sentences.append(f"Every inspection {span} has the same {words} ({value}), so {words} is not adjusted for.")
    dropped: dict[tuple[str, str], int] = {}
    for note in dict.fromkeys(n for r in results for n in r.notes):
        term, _, rest = note.partition(" left out of the ")
        model = rest.split(" model", 1)[0]
        covariate = _covariate_of(term)
        parents = COVARIATE_PARENTS.get(covariate or "", ())
        if covariate is None or covariate in constant or any(p in constant for p in parents):
            continue  # said above, from the table
        dropped[(covariate, model)] = dropped.get((covariate, model), 0) + 1
    for (covariate, model), count in dropped.items():
        what = "term" if count == 1 else "terms"
        sentences.append(
            f"The {model} model leaves out {count} {COVARIATE_WORDS[covariate]} {what} that the other "
            "adjustment variables already determine."
        )
    return sentences


def _covariate_of(term: str) -> str | None:
    """The covariate a design-matrix column belongs to ("enterprise_size_small" -> "enterprise_size")."""
    names = [c for c in COVARIATE_WORDS if term == c or term.startswith(c + "_")]
    return max(names, key=len) if names else None


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _points(x: float) -> str:
    return f"{100 * x:+.1f} percentage points"


OUTCOME_WORDS = {
    "hazards_found": ("number of hidden dangers found per inspection", "{:+.2f}".format),
    "major_hazard_found": ("chance of finding a major hazard", _points),
    "case_filed": ("chance that a penalty case is filed", _points),
    "penalty_amount": ("fines per inspection", lambda x: f"{x:+,.0f} yuan"),
}


def reading(
    results: list[Estimate], method: str = "aipw", table: pd.DataFrame | None = None, design: Design = DEFAULT
) -> list[str]:
    """One sentence per outcome: adjusted effect, interval, and how much the naive gap overstated it.

    With `table`, the sentences name only the adjustment variables that vary in it, and
    an outcome that could not be estimated gets a sentence saying why.
    """
    by_key = {(r.outcome, r.method, r.estimand): r for r in results}
    adjusted_for = "risk grade, industry, size and campaigns"
    if table is not None:
        columns = design.propensity_columns(table)
        used = [COVARIATE_WORDS.get(c, c.replace("_", " ")) for c in columns if not _constant(table, c)]
        adjusted_for = _and(used) if used else ""
    sentences = []
    for outcome, (words, fmt) in OUTCOME_WORDS.items():
        adjusted, naive = by_key.get((outcome, method, "ATE")), by_key.get((outcome, "naive", "ATE"))
        if adjusted is None:
            reason = _constant_outcome(table, outcome) if table is not None else None
            if reason:
                sentences.append(reason)
            continue
        text = (
            f"Unannounced inspections change the {words} by {fmt(adjusted.estimate)} "
            f"(95% CI {fmt(adjusted.ci_low)} to {fmt(adjusted.ci_high)})"
        )
        text += f" once {adjusted_for} are accounted for" if adjusted_for else " (no adjustment possible)"
        if naive is not None:
            text += f"; the raw comparison says {fmt(naive.estimate)}"
        sentences.append(text + ".")
    return sentences


def estimates_reading(table: pd.DataFrame, results: list[Estimate], design: Design = DEFAULT) -> display.Html:
    """The page's reading of the estimates, then what they adjust for (estimator notes in words)."""
    return _paragraphs(
        " ".join(reading(results, design.method, table, design)),
        " ".join([*adjustment(table, results, design), *_uncertainty(results, design)]),
    )


FEW_CLUSTERS = 30  # below this many clusters, clustered standard errors tend to be too small


def _uncertainty(results: Sequence[Estimate], design: Design = DEFAULT) -> list[str]:
    """How the intervals allow for shared shocks, and a warning when they rest on few clusters."""
    clusters = {r.n_clusters for r in results if r.method != "naive" and r.n_clusters}
    if not clusters:
        return []
    n, groups = min(clusters), CLUSTER_WORDS.get(design.cluster or "", "groups")
    sentence = f"The intervals allow for shocks shared by the inspections of each of the {n:,} {groups}"
    if n < FEW_CLUSTERS:
        return [f"{sentence}; with fewer than {FEW_CLUSTERS} {groups} they may be too small."]
    return [sentence + "."]


CLUSTER_WORDS = {"region_id": "regions", "province": "provinces"}


def _paragraphs(*sentences: str) -> display.Html:
    return display.Html("".join(display.text(s).markup for s in sentences if s))


@_shows_missing
def describe(table: pd.DataFrame, period: str, notes: Sequence[str] = ()) -> display.Html:
    """How many inspections the study has, of each kind, and how gaps in the covariates were handled
    (or, given the `Missing` of `comparable`, why there is no comparison)."""
    unannounced, total = unannounced_count(table), inspection_count(table)
    text = f"{total:,} inspections up to {period}: {unannounced:,} unannounced and {total - unannounced:,} announced."
    return display.text(" ".join([text, *notes]))


# --- overlap and balance --------------------------------------------------------------------


def propensity_scores(table: pd.DataFrame, design: Design = DEFAULT) -> np.ndarray:
    """Each inspection's estimated probability of an unannounced visit (the estimators' propensity model)."""
    _require_comparison(table)
    try:
        return _scores(table, design)
    except OverlapError as err:
        raise Unavailable(_no_overlap(table, design)) from err


def _scores(table: pd.DataFrame, design: Design) -> np.ndarray:
    """The propensity model fitted on cell counts when its covariates are categorical (the estimators'
    fit, in a fraction of the time), on the rows otherwise."""
    from .diagnostics import propensity_scores as from_rows

    covariates = _spec(design.propensity_covariates)
    try:
        cells = compressed.cell_statistics(table, [], TREATMENT, covariates, counts=count_column(table))
    except (compressed.NotCompressible, ValueError):  # continuous covariates, or gaps the rows will name
        if is_cells(table):
            raise
        return from_rows(table, TREATMENT, covariates, design.propensity_model)
    fitted = compressed.propensity_scores_compressed(cells, TREATMENT, covariates, design.propensity_model)
    keys = [column for column in fitted.columns if column != "score"]
    return lookup(table, fitted, keys, "score")


def overlap_figure(scores: np.ndarray, table: pd.DataFrame):
    """The propensity scores of each kind of visit (histograms), with the trimming bounds."""
    from . import plots

    return plots.propensity_overlap(scores, table[TREATMENT].to_numpy(), weights=cell_weights(table))


@_shows_missing
def overlap_reading(
    scores: np.ndarray, table: pd.DataFrame, bounds: tuple[float, float] = (0.05, 0.95)
) -> display.Html:
    """Where the scores of each kind of visit lie, and what trimming at `bounds` would drop."""
    from .diagnostics import overlap_summary

    o = overlap_summary(scores, table[TREATMENT], bounds, weights=cell_weights(table))
    return display.text(
        f"Scores run from {o['treated_min']:.3f} to {o['treated_max']:.3f} among unannounced visits and "
        f"{o['control_min']:.3f} to {o['control_max']:.3f} among announced ones; trimming at "
        f"{bounds[0]:g}/{bounds[1]:g} would drop {o['share_trimmed']:.1%} of inspections. The estimates use all of "
        "them (no trimming)."
    )


def balance(table: pd.DataFrame, scores: np.ndarray, design: Design = DEFAULT) -> pd.DataFrame:
    """Standardized differences of each adjustment variable before and after weighting."""
    from .diagnostics import balance as smd

    frame = smd(table, TREATMENT, design.propensity_columns(table), scores, counts=cell_weights(table))
    if frame.empty:
        raise Unavailable(
            "None of the adjustment variables varies among these inspections, so there is no balance to check."
        )
    return frame


@_shows_missing
def balance_reading(frame: pd.DataFrame) -> display.Html:
    before, after = frame["smd_before"].abs(), frame["smd_after"].abs()
    return display.text(
        f"Before weighting the largest standardized difference is {before.max():.2f}; after weighting "
        f"it is {after.max():.3f}."
    )


# --- who gains most -------------------------------------------------------------------------


TOO_FEW = "too few inspections to estimate"
INTERVAL = ("estimate", "ci_low", "ci_high")


def heterogeneity(
    table: pd.DataFrame, outcome: str, by: str, method: str = "aipw", min_group: int = 500, design: Design = DEFAULT
) -> pd.DataFrame:
    """The effect within each level of `by` (groups smaller than `min_group` are reported, not estimated)."""
    arms = arm_counts(table, by)
    spread = (
        table.groupby(by, observed=True).agg(min=(f"min_{outcome}", "min"), max=(f"max_{outcome}", "max"))
        if is_cells(table)
        else table.groupby(by, observed=True)[outcome].agg(["min", "max"])
    )
    estimate = _estimator_by_level(table, outcome, by, method, design)
    rows = []
    for level, counts in arms.iterrows():
        row = {by: level, "n_obs": int(counts.sum()), "note": ""} | dict.fromkeys(INTERVAL, np.nan)
        if row["n_obs"] < min_group or (counts == 0).any():
            row["note"] = TOO_FEW
        elif not spread.loc[level, "min"] < spread.loc[level, "max"]:
            row["note"] = "the outcome does not vary in this group"
        else:
            try:
                est = estimate(level)
                row.update(estimate=est.estimate, ci_low=est.ci_low, ci_high=est.ci_high)
            except OverlapError:
                row["note"] = "some sites here got only one kind of visit (no overlap)"
            except ValueError as err:
                row["note"] = str(err)
        rows.append(row)
    return pd.DataFrame(rows, columns=[by, "n_obs", "estimate", "ci_low", "ci_high", "note"])


def _estimator_by_level(table: pd.DataFrame, outcome: str, by: str, method: str, design: Design):
    """`estimate(level)`: the ATE of `method` among the inspections with that level of `by`.

    With categorical covariates the rows are compressed once, with `by` as one more cell column,
    and each level is estimated from its own cells (the same numbers as from its rows, without a
    pass over the rows per level); otherwise each level is estimated from its rows.
    """
    covariates, options = _spec(design.covariates), design.fit_options()
    propensity = options["propensity_covariates"]
    cell_columns = [*covariate_columns(propensity if propensity is not None else covariates), by]
    try:
        cells = compressed.cell_statistics(
            table,
            [outcome],
            TREATMENT,
            covariates,
            propensity_covariates=cell_columns,
            cluster=options["cluster"] or None,
            counts=count_column(table),
        )
    except (compressed.NotCompressible, ValueError):  # continuous covariates, or gaps the rows will name
        return lambda level: _estimate_many(table[table[by] == level], [outcome], [method], ["ATE"], design)[0]
    return lambda level: compressed.estimate_many_compressed(
        cells[cells[by] == level], [outcome], TREATMENT, covariates, [method], ["ATE"], **options
    )[0]


def subgroup_table(
    table: pd.DataFrame,
    outcome: str,
    by: str,
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE,
    method: str = "aipw",
    min_group: int = 500,
    design: Design = DEFAULT,
) -> tuple[pd.DataFrame, Withheld]:
    """`heterogeneity` as a reviewer page may show it (disclosure control).

    A subgroup's inspection count is withheld when below `min_cell_size`, and more counts
    so that the study's published total does not reveal it; an estimate is withheld when
    either arm (unannounced or announced) has fewer than `min_cell_size` inspections,
    since it then leans on those few inspections' outcomes.
    """
    frame = heterogeneity(table, outcome, by, method=method, min_group=min_group, design=design)
    arms = arm_counts(table, by).min(axis=1)
    frame["smallest_arm"] = frame[by].map(arms).fillna(0)
    counts, withheld_counts = suppress(
        frame, "n_obs", [], min_cell_size, group_totals=(), where=f"effect by {by}: inspections"
    )
    shown, withheld_estimates = suppress(
        counts,
        "smallest_arm",
        ["estimate", "ci_low", "ci_high"],
        min_cell_size,
        withhold_count=False,
        where=f"effect by {by}: estimates",
    )
    return shown.drop(columns="smallest_arm"), combine(
        f"effect on {outcome} by {by}", withheld_counts, withheld_estimates
    )


GROUP_WORDS = {
    "province": ("province", "provinces"),
    "industry": ("industry", "industries"),
    "risk_level": ("risk grade", "risk grades"),
    "enterprise_size": ("enterprise size", "enterprise sizes"),
}


@dataclass
class Subgroups:
    """The effect on `outcome` within each level of `by`, as a reviewer page may show it."""

    outcome: str
    by: str
    frame: pd.DataFrame
    withheld: Withheld
    min_group: int


def subgroups(
    table: pd.DataFrame,
    outcome: str,
    by: str,
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE,
    method: str = "aipw",
    min_group: int = 500,
    design: Design = DEFAULT,
) -> Subgroups:
    """`subgroup_table` for the page; `Unavailable` when the data has no `by`, or no group can be estimated."""
    _require_comparison(table)
    one, many = GROUP_WORDS.get(by, (by, by))
    if (table[by] == NOT_RECORDED).all():
        raise Unavailable(
            f"No inspection {_span(table)} has {_a(one)} (column {by}), so the effect cannot be broken down by {one}."
        )
    reason = _constant_outcome(table, outcome)
    if reason:
        raise Unavailable(reason)
    frame, withheld = subgroup_table(
        table, outcome, by, min_cell_size, method=method, min_group=min_group, design=design
    )
    if not (frame["note"] == "").any():
        raise Unavailable(
            f"No {one} has enough inspections ({min_group:,} or more, of both kinds) to estimate an effect of its own."
        )
    return Subgroups(outcome, by, frame, withheld, min_group)


def subgroup_figure(groups: Subgroups, label: str):
    """Each estimated subgroup's effect with its interval; `Unavailable` when disclosure control withheld them all."""
    from . import plots

    if groups.frame["estimate"].isna().all():
        raise Unavailable(
            f"Every {GROUP_WORDS.get(groups.by, (groups.by,))[0]} estimate is withheld under disclosure control."
        )
    return plots.subgroup_effects(groups.frame, groups.by, label, withheld=groups.withheld.legend)


@_shows_missing
def subgroup_reading(groups: Subgroups) -> display.Html:
    """How many subgroups have an estimate on the page, and why the others do not."""
    one, many = GROUP_WORDS.get(groups.by, (groups.by, groups.by))
    frame = groups.frame
    estimated = frame["note"] == ""
    shown = int(frame["estimate"].notna().sum())
    text = f"An effect is shown for {shown} of {len(frame)} {many}"
    too_few = frame["note"] == TOO_FEW
    reasons = []
    if too_few.any():
        n = int(too_few.sum())
        reasons.append(
            f"{n} {'has' if n == 1 else 'have'} too few inspections to estimate one "
            f"(fewer than {groups.min_group:,}, or only one kind of visit)"
        )
    if (~estimated & ~too_few).any():
        reasons.append(
            f"{int((~estimated & ~too_few).sum())} could not be estimated (the two kinds of visit do not "
            "overlap there, or the outcome does not vary)"
        )
    if estimated.sum() > shown:
        reasons.append(f"{int(estimated.sum()) - shown} withheld under disclosure control")
    return display.text(text + (f": {'; '.join(reasons)}." if reasons else "."))


@_shows_missing
def subgroup_display(groups: Subgroups, caption: str) -> display.Html:
    """The subgroup table, with what disclosure control withheld marked."""
    return display.table(groups.frame, caption=caption, digits=4, withheld=groups.withheld)


def withheld(*groups) -> list[Withheld]:
    """What disclosure control withheld from the subgroups the page shows (those that were possible)."""
    found = [g for part in groups for g in (part if isinstance(part, list) else [part])]
    return [g.withheld for g in found if isinstance(g, Subgroups)]


BREAKDOWN_OUTCOME = "case_filed"


def breakdown_title(by: str) -> str:
    return f"Effect by {GROUP_WORDS.get(by, (by.replace('_', ' '),))[0]}"


def breakdowns(table, design: Design, min_cell_size: int, limits) -> list:
    """The effect on case filing within each level of each `design.heterogeneity_by` column, each run
    through `limits` (a `Subgroups`, or the stand-in saying why that breakdown was not possible)."""
    return [
        limits.run(breakdown_title(by), subgroups, table, BREAKDOWN_OUTCOME, by, min_cell_size, design=design)
        for by in design.heterogeneity_by
    ]


def breakdowns_shown(by_group: list) -> display.Html:
    """Every breakdown's section, one after the other (a breakdown that was not possible says why)."""
    return display.Html("".join(breakdown_section(groups)._repr_html_() for groups in by_group))


@_shows_missing
def breakdown_section(groups: Subgroups) -> display.Html:
    """One breakdown as the page shows it: the figure (when any estimate may be shown) and its reading."""
    one, _ = GROUP_WORDS.get(groups.by, (groups.by, groups.by))
    try:
        fig = subgroup_figure(groups, groups.outcome)
    except Unavailable as err:
        picture = display.text(str(err))
    else:
        picture = display.figure(fig)
    return display.Html(picture.markup + subgroup_reading(groups).markup)


# --- sensitivity ----------------------------------------------------------------------------


def sensitivity(table: pd.DataFrame, results: list[Estimate], method: str = "aipw") -> pd.DataFrame:
    """E-values for each outcome's estimate (binary outcomes on the risk-ratio scale); NaN where not defined."""
    from .diagnostics import e_value

    rows = []
    for r in results:
        if r.method != method or r.estimand != "ATE":
            continue
        sd, binary = _spread(table, r.outcome)
        values = e_value(r, None if binary else sd)
        rows.append({"outcome": r.outcome, "estimate": r.estimate, **values})
    return pd.DataFrame(rows, columns=["outcome", "estimate", "risk_ratio", "e_value", "e_value_ci"])


def _spread(table: pd.DataFrame, outcome: str) -> tuple[float, bool]:
    """The standard deviation (n - 1) of `outcome` among the inspections, and whether it takes only 0 and 1."""
    if not is_cells(table):
        values = table[outcome].to_numpy(dtype=float)
        return float(table[outcome].std()), bool(((values == 0) | (values == 1)).all())
    counts, sums = table[CELL_COUNT].to_numpy(), table[f"sum_{outcome}"].to_numpy()
    n = int(counts.sum())
    mean = sums.sum() / n
    # Within cells plus between them: no sum of squares minus a squared sum, which cancels at large means.
    deviations = table[f"ss_{outcome}"].sum() + (counts * (sums / counts - mean) ** 2).sum()
    variance = deviations / (n - 1) if n > 1 else np.nan
    low, high = outcome_range(table, outcome)
    squares = table[f"sumsq_{outcome}"].sum()
    binary = low >= 0 and high <= 1 and squares == sums.sum()  # in [0, 1], y^2 = y for every y only at 0 and 1
    return float(np.sqrt(variance)), bool(binary)


@_shows_missing
def sensitivity_table(frame: pd.DataFrame) -> display.Html:
    """The E-values in words: each outcome's effect in its unit, and how strong a hidden factor would
    have to be (as a risk ratio) to explain the estimate, or its interval, away."""
    from . import labels

    shown = pd.DataFrame(
        {
            "Outcome": [labels.words(o) for o in frame["outcome"]],
            "Effect (average over all inspections)": [
                labels.effect(o, x) for o, x in zip(frame["outcome"], frame["estimate"], strict=True)
            ],
            "As a risk ratio": frame["risk_ratio"].to_numpy(),
            "E-value of the estimate": frame["e_value"].to_numpy(),
            "E-value of the interval": frame["e_value_ci"].to_numpy(),
        }
    )
    return display.table(shown, caption="Sensitivity to a hidden factor (E-values)", digits=2)


def sensitivity_reading(frame: pd.DataFrame) -> display.Html:
    """Which result a hidden factor could most easily move to no effect."""

    def names(rows: pd.DataFrame) -> str:
        return _and([o.replace("_", " ") for o in rows["outcome"]])

    defined = frame.dropna(subset=["e_value_ci"])
    null = defined[defined["e_value_ci"] <= 1]
    away = defined[defined["e_value_ci"] > 1]
    sentences = []
    if len(away):
        weakest = away.loc[away["e_value_ci"].idxmin()]
        sentences.append(
            f"The most fragile result is for {weakest['outcome'].replace('_', ' ')}: a hidden factor "
            f"associated with both unannounced visits and the outcome by a risk ratio of "
            f"{weakest['e_value_ci']:.2f} could move its interval to include no effect."
        )
    if len(null):
        sentences.append(
            f"The interval for {names(null)} already includes no effect, so no hidden factor is needed "
            "to explain it away."
            if len(null) == 1
            else f"The intervals for {names(null)} already include no effect, so no hidden factor is needed "
            "to explain them away."
        )
    undefined = frame[frame["e_value_ci"].isna()]
    if len(undefined):
        its = "its mean is" if len(undefined) == 1 else "their means are"
        sentences.append(
            f"No E-value is defined for {names(undefined)}: {its} zero without (or with) an "
            "unannounced visit, so there is no risk ratio to explain away."
        )
    return display.text(" ".join(sentences))


# --- verdict ----------------------------------------------------------------------------------

OVERLAP_SHARE = 0.10  # more inspections than this outside 0.05-0.95: adjustment leans on extrapolation
BALANCE_BAR = 0.1  # standardized difference above this after weighting: groups still differ
FRAGILE_E_VALUE = 1.5  # a hidden factor this weak (risk ratio) could explain an interval away


def robustness(scores, table, balance_frame, sensitivity_frame) -> display.Html:
    """The conclusion's verdict: overlap, balance and sensitivity to a hidden factor, with their numbers.

    Each input may be the stand-in of a step that was not possible; that check is then said
    to be missing rather than passed.
    """
    from .diagnostics import overlap_summary

    passed: list[str] = []
    doubts: list[str] = []
    missing: list[str] = []
    if isinstance(scores, Missing) or isinstance(table, Missing):
        missing.append("overlap")
    else:
        share = overlap_summary(scores, table[TREATMENT], weights=cell_weights(table))["share_trimmed"]
        text = f"{share:.1%} of inspections have a propensity outside 0.05-0.95"
        (passed if share <= OVERLAP_SHARE else doubts).append(text)
    if isinstance(balance_frame, Missing):
        missing.append("balance")
    else:
        worst = float(balance_frame["smd_after"].abs().max())
        (passed if worst < BALANCE_BAR else doubts).append(
            f"the largest standardized difference after weighting is {worst:.3f}"
        )
    defined = (
        pd.DataFrame() if isinstance(sensitivity_frame, Missing) else sensitivity_frame.dropna(subset=["e_value_ci"])
    )
    away = defined[defined["e_value_ci"] > 1] if len(defined) else defined
    if not len(away):
        missing.append("sensitivity to a hidden factor")
    else:
        weakest = away.loc[away["e_value_ci"].idxmin()]
        (passed if weakest["e_value_ci"] >= FRAGILE_E_VALUE else doubts).append(
            f"a hidden factor would need a risk ratio of {weakest['e_value_ci']:.2f} with both the kind of visit "
            f"and the {OUTCOME_WORDS[weakest['outcome']][0]} to move that interval to no effect"
        )
    verdict = "Verdict: read with care" if doubts else "Verdict: the estimates hold up on every check made"
    sentences = [verdict + (f", since {_and(doubts)}." if doubts else ".")]
    if passed:
        sentences.append(f"Checks passed: {_and(passed)}.")
    if missing:
        sentences.append(f"Not checked (the data did not allow it): {_and(missing)}.")
    return display.text(" ".join(sentences))
