"""Average treatment effects under unconfoundedness: naive, regression, IPW, AIPW.

`estimate_ate` works on any table. Conventions follow Stata `teffects`:

- regression adjustment (`ra`): one linear outcome model per arm;
- `ipw`: normalized inverse-probability weights from a logit (or probit) propensity model;
- `aipw`: augmented IPW (doubly robust) for the ATE; for the ATT, whose AIPW form
  `teffects aipw` does not offer, the doubly robust IPW-regression-adjustment
  estimator (`teffects ipwra, atet`: weighted outcome models, control weights e/(1-e));
- standard errors from the stacked M-estimation sandwich (propensity, outcome and
  effect equations together, divisor n), as `teffects` reports them; with `cluster=`,
  the influence functions are summed within clusters first, with the small-sample
  factor G/(G-1), as `teffects ..., vce(cluster id)` does. Intervals are normal-based.

Covariates are given as a list of columns (text and categorical columns become dummies)
or as the right-hand side of a formula in patsy style, read by formulaic
("mmarried + mage + I(mage**2) + C(region) * C(industry)"). Either way the models have
one intercept, and constant or redundant columns are left out with a note.

Propensity models are fitted with statsmodels (Logit / Probit, unpenalised); the
sandwich uses their analytic score and Hessian. Checked against Stata's published
teffects results on cattaneo2 (tests/golden/), with the covariates written both as
columns and as a formula (`mage` squared inside the formula).

Results come as `Estimate` (one effect) and `Estimates` (a list of them); both have
`.tidy()` (a data frame with the columns of estimates.csv) and `.summary()` (text).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

METHODS = ("naive", "regression", "ipw", "aipw")
ESTIMANDS = ("ATE", "ATT")
PROPENSITY_MODELS = {"logit": sm.Logit, "probit": sm.Probit}
OVERLAP_TOLERANCE = 1e-5  # Stata teffects' pstolerance(): propensities closer than this to 0 or 1 are an error
COLLINEAR_TOLERANCE = 1e-9  # a column whose variance left after the earlier ones is below this share is redundant
TIDY_COLUMNS = ["outcome", "estimand", "method", "estimate", "std_error", "ci_low", "ci_high", "n_obs"]
METHOD_NAMES = {
    "naive": "difference in means",
    "regression": "regression adjustment",
    "ipw": "inverse-probability weighting",
    "aipw": "augmented IPW (doubly robust)",
}

Covariates = list[str] | str
"""Covariates as a list of column names, or as a formula's right-hand side ("a + C(b) + I(c**2)")."""


class OverlapError(ValueError):
    """Some units have (almost) no chance of being in the other arm: the effect is not identified there."""


@dataclass
class Estimate:
    """One treatment-effect estimate with its uncertainty."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n_obs: int
    method: str
    estimand: str = "ATE"
    outcome: str = ""
    control_mean: float = float("nan")  # potential-outcome mean without treatment (ATE) or of the treated (ATT)
    diagnostics: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was done to make the design estimable, in words
    n_clusters: int | None = None  # clusters the standard error allows for (None: independent units)
    vcov: str = "robust"  # how the standard error was computed: "robust", "Welch", "clustered by <column>"
    alpha: float = 0.05  # the interval is a 1 - alpha confidence interval

    def as_row(self, study: str) -> dict:
        return {"study": study, **self._row()}

    def tidy(self) -> pd.DataFrame:
        """The estimate as a one-row table with the columns of estimates.csv (without the study)."""
        return pd.DataFrame([self._row()], columns=TIDY_COLUMNS)

    def summary(self) -> str:
        """A few lines to read in a notebook: effect, standard error, interval, sample, notes."""
        method = METHOD_NAMES.get(self.method, self.method)
        if self.method == "aipw" and self.estimand == "ATT":
            method = "IPW regression adjustment (doubly robust)"
        sample = f"{self.n_obs:,} observations"
        if self.n_clusters is not None:
            sample += f" in {self.n_clusters:,} clusters"
        number = _formatter(self.std_error)
        lines = [
            f"{self.estimand} of the treatment on {self.outcome or 'the outcome'}: {method}",
            f"  effect          {number(self.estimate)}",
            f"  standard error  {number(self.std_error)} ({self.vcov})",
            f"  {_level(self.alpha):<16}[{number(self.ci_low)}, {number(self.ci_high)}]",
            f"  n               {sample}",
        ]
        if not np.isnan(self.control_mean):
            lines.append(f"  control mean    {number(self.control_mean)}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _row(self) -> dict:
        return {
            "outcome": self.outcome,
            "estimand": self.estimand,
            "method": self.method,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n_obs": self.n_obs,
        }


class Estimates(list[Estimate]):
    """The estimates `estimate_many` returns: a list, with `.tidy()` and `.summary()` for all of them."""

    def tidy(self) -> pd.DataFrame:
        """One row per estimate, with the columns of estimates.csv (without the study)."""
        if not self:
            return pd.DataFrame(columns=TIDY_COLUMNS)
        return pd.concat([estimate.tidy() for estimate in self], ignore_index=True)

    def summary(self) -> str:
        """Each estimate's summary, separated by blank lines."""
        return "\n\n".join(estimate.summary() for estimate in self)


def _formatter(std_error: float):
    """Numbers shown to three significant digits of the standard error (five digits when there is none)."""
    if not np.isfinite(std_error) or std_error <= 0:
        return lambda value: f"{value:,.5g}"
    decimals = min(10, max(0, 2 - int(np.floor(np.log10(std_error)))))
    return lambda value: f"{value:,.{decimals}f}"


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g}% CI"


# --- covariates: columns or a formula -------------------------------------------------------------


def design_matrix(df: pd.DataFrame, columns: Covariates) -> pd.DataFrame:
    """The covariates as a numeric matrix with a constant first.

    Parameters
    ----------
    df : pandas.DataFrame
        The table the covariates are columns of.
    columns : list of str or str
        Column names: numeric and boolean columns enter as they are, categorical and text
        columns as dummies (the first level left out). Or a formula's right-hand side in
        patsy style, read by formulaic, e.g. ``"C(region) * C(industry) + size"`` or
        ``"age + I(age**2)"`` (``numpy`` is available as ``np``; a leading ``~`` is allowed).
        As in patsy, ``age:age`` is ``age`` itself, not its square: write ``I(age**2)``.

    Returns
    -------
    pandas.DataFrame
        One row per row of `df`, float columns, ``const`` first. A formula always gets
        this one intercept, even if it removes its own (``- 1`` or ``0 +``).

    Raises
    ------
    KeyError
        A column named, or read by the formula, is not in `df`.
    ValueError
        The formula cannot be parsed, has a left-hand side, or cannot be evaluated on `df`
        (for instance a missing value in a column it reads).

    Examples
    --------
    >>> df = pd.DataFrame({"age": [20.0, 30.0, 40.0], "region": ["north", "south", "north"]})
    >>> list(design_matrix(df, ["age", "region"]).columns)
    ['const', 'age', 'region_south']
    >>> list(design_matrix(df, "age + I(age**2) + C(region)").columns)
    ['const', 'age', 'I(age ** 2)', 'C(region)[T.south]']
    """
    if isinstance(columns, str):
        return _formula_matrix(df, columns)
    parts = []
    for name in columns:
        if name not in df.columns:
            raise KeyError(f"covariate {name!r} is not a column of the table")
        values = df[name]
        if (
            isinstance(values.dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(values.dtype)
            or values.dtype == object
        ):
            parts.append(pd.get_dummies(values.astype("str"), prefix=name, drop_first=True, dtype=float))
        else:
            parts.append(values.astype("float64").rename(name).to_frame())
    matrix = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=df.index)
    matrix.insert(0, "const", 1.0)
    return matrix


def covariate_columns(covariates: Covariates) -> list[str]:
    """The table columns a covariate list or formula reads, in order of first appearance.

    For a formula these are the names its terms use as values (not the functions such as
    ``C`` or ``I``, nor modules such as ``np``). A formula that cannot be parsed raises
    ValueError naming it.
    """
    if not isinstance(covariates, str):
        return list(covariates)
    names: list[str] = []
    for term in _parse_formula(covariates):
        for factor in term.factors:
            method = getattr(factor.eval_method, "value", factor.eval_method)
            if method == "lookup":
                names.append(factor.expr)
            elif method == "python":
                names += _python_variables(factor.expr, covariates)
    return list(dict.fromkeys(names))


def _parse_formula(formula: str) -> Any:
    """formulaic's parsed right-hand side (a SimpleFormula: an iterable of terms)."""
    from formulaic import Formula, SimpleFormula  # type: ignore[import-untyped]

    try:
        parsed = Formula(formula)
    except Exception as err:  # formulaic raises its own errors for syntax, missing context and more
        raise ValueError(f"the covariate formula {formula!r} cannot be read: {_first_line(err)}") from err
    if not isinstance(parsed, SimpleFormula):
        raise ValueError(
            f"the covariate formula {formula!r} should be a right-hand side only (no 'outcome ~'); the outcome "
            "and the treatment are given separately"
        )
    return parsed


def _python_variables(expression: str, formula: str) -> list[str]:
    """Names a Python factor such as ``I(mage ** 2)`` or ``np.log(`a b`)`` uses as values."""
    quoted = re.findall(r"`([^`]+)`", expression)
    for position, name in enumerate(quoted):
        expression = expression.replace(f"`{name}`", f"__quoted_{position}__", 1)
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"the covariate formula {formula!r} cannot be read: {err.msg} in {expression!r}") from err
    not_values = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    not_values |= {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in not_values),
        key=lambda node: node.col_offset,
    )
    placeholders = {f"__quoted_{position}__": name for position, name in enumerate(quoted)}
    return [placeholders.get(node.id, node.id) for node in names]


def _formula_matrix(df: pd.DataFrame, formula: str) -> pd.DataFrame:
    """The formula's model matrix with its intercept (if any) replaced by one ``const`` column first."""
    parsed = _parse_formula(formula)
    absent = [name for name in covariate_columns(formula) if name not in df.columns]
    if absent:
        raise KeyError(
            f"{', '.join(map(repr, absent))} (in the covariate formula {formula!r}) is not a column of the table"
        )
    used = [name for name in covariate_columns(formula) if isinstance(df[name].dtype, pd.CategoricalDtype)]
    if used:  # a subset keeps its categories: levels without rows would give all-zero columns
        df = df.assign(**{name: df[name].cat.remove_unused_categories() for name in used})
    try:
        matrix = parsed.get_model_matrix(df, context={"np": np}, na_action="raise")
    except Exception as err:  # whatever the formula's Python does wrong: name the formula
        raise ValueError(f"the covariate formula {formula!r} cannot be evaluated: {_first_line(err)}") from err
    matrix = pd.DataFrame(matrix).astype("float64").drop(columns="Intercept", errors="ignore")
    matrix.insert(0, "const", 1.0)
    return matrix


def _first_line(err: Exception) -> str:
    """An error's message without formulaic's multi-line, colour-coded pointer."""
    text = re.sub(r"\x1b\[[0-9;]*m|[⧛⧚]", "", str(err)).strip()
    return text.splitlines()[0] if text else type(err).__name__


def drop_redundant(matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop columns that are constant or a linear combination of earlier ones, as Stata omits them.

    Columns are taken in order: each is kept when some of its variation is left after the
    columns kept before it (a sequential Cholesky of X'X, so later columns are the ones
    dropped). A column is redundant when less than ``COLLINEAR_TOLERANCE`` of its sum of
    squares is left.

    Parameters
    ----------
    matrix : pandas.DataFrame
        A design matrix, usually from `design_matrix` (so ``const`` first, and kept).

    Returns
    -------
    kept : pandas.DataFrame
        The columns kept, in their order.
    dropped : list of str
        The names of the columns left out.

    Raises
    ------
    numpy.linalg.LinAlgError
        Not in practice: the kept columns are linearly independent by construction.

    Examples
    --------
    >>> matrix = pd.DataFrame({"const": 1.0, "a": [1.0, 2, 3], "b": [2.0, 4, 6], "c": [5.0, 5, 5]})
    >>> kept, dropped = drop_redundant(matrix)
    >>> list(kept.columns), dropped
    (['const', 'a'], ['b', 'c'])
    """
    x = matrix.to_numpy(dtype=float)
    gram = x.T @ x
    kept: list[int] = []
    for j in range(x.shape[1]):
        if gram[j, j] <= 0:
            continue
        if kept:
            g_kk, g_kj = gram[np.ix_(kept, kept)], gram[kept, j]
            left = gram[j, j] - g_kj @ np.linalg.solve(g_kk, g_kj)
        else:
            left = gram[j, j]
        if left > COLLINEAR_TOLERANCE * gram[j, j]:
            kept.append(j)
    dropped = [name for j, name in enumerate(matrix.columns) if j not in kept]
    return matrix.iloc[:, kept], dropped


def _design(df: pd.DataFrame, columns: Covariates, model: str) -> tuple[np.ndarray, list[str]]:
    """The model's design matrix without redundant columns, and a note for each column left out."""
    matrix, dropped = drop_redundant(design_matrix(df, columns))
    notes = [
        f"{name} left out of the {model} model: constant, or determined by the other covariates" for name in dropped
    ]
    return matrix.to_numpy(), notes


# --- estimators ---------------------------------------------------------------------------------


def estimate_ate(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Covariates,
    method: str = "aipw",
    *,
    estimand: str = "ATE",
    propensity_covariates: Covariates | None = None,
    propensity_model: str = "logit",
    overlap_tolerance: float = OVERLAP_TOLERANCE,
    alpha: float = 0.05,
    cluster: str | None = None,
) -> Estimate:
    """Effect of binary `treatment` on `outcome`, adjusting for `covariates`.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per unit.
    outcome : str
        Column of the outcome.
    treatment : str
        Column of the treatment: 0/1 or boolean, both values present.
    covariates : list of str or str
        The outcome models' covariates (and the propensity model's unless
        `propensity_covariates` is given): column names, or a formula right-hand side
        such as ``"mmarried + mage + I(mage**2) + C(region)"`` (see `design_matrix`).
        Constant or collinear columns are left out, with a note in `Estimate.notes`
        (as Stata omits them).
    method : {"aipw", "naive", "regression", "ipw"}
        ``naive`` is the difference in means; ``regression`` is regression adjustment
        (`teffects ra`); ``ipw`` normalised inverse-probability weighting (`teffects ipw`);
        ``aipw`` augmented IPW for the ATE (`teffects aipw`) and IPW regression adjustment
        for the ATT (`teffects ipwra, atet`).
    estimand : {"ATE", "ATT"}
        Average effect over everyone, or over the treated.
    propensity_covariates : list of str or str, optional
        The propensity model's covariates, if not `covariates`; a list or a formula.
    propensity_model : {"logit", "probit"}
    overlap_tolerance : float
        A propensity within this distance of 0 or 1 is an error (Stata's ``pstolerance()``).
    alpha : float
        The interval is a normal-based 1 - `alpha` confidence interval.
    cluster : str, optional
        Column identifying clusters (regions, firms, schools...) whose units' errors may
        be correlated. The standard error then sums each unit's influence function
        within its cluster: Var = G/(G-1) * sum_g (sum_{i in g} psi_i)^2 / n^2, with G
        clusters and n units. G/(G-1) is the only small-sample factor (no (n-1)/(n-k)),
        as for Stata's ``teffects ..., vce(cluster id)``. For ``naive``
        psi_i = t_i (y_i - mu1) / p1 - (1 - t_i)(y_i - mu0) / p0, p1 the treated share.
        None (the default): units are independent; the stacked-sandwich (robust) error
        as `teffects` reports it, and Welch's error for ``naive``.

    Returns
    -------
    Estimate
        Effect, standard error, interval, sample size, number of clusters (if any), the
        potential-outcome mean without treatment, propensity diagnostics and notes.

    Raises
    ------
    KeyError
        A column named (or read by a formula) is not in `df`.
    ValueError
        Unknown method, estimand or propensity model; a treatment that is not binary; a
        missing value in a column used (rows are never dropped silently); a formula
        that cannot be read; a cluster column with missing values or a single cluster;
        an outcome model that cannot be fitted.
    OverlapError
        The propensity model predicts treatment (almost) perfectly.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"age": rng.uniform(20, 40, 500), "region": rng.integers(0, 25, 500)})
    >>> df["treated"] = (rng.random(500) < 1 / (1 + np.exp(-(df["age"] - 30) / 5))).astype(int)
    >>> df["y"] = 1.0 + 0.1 * df["age"] + 2.0 * df["treated"] + rng.normal(size=500)
    >>> est = estimate_ate(df, "y", "treated", "age + I(age**2)", "aipw", cluster="region")
    >>> est.n_clusters, est.vcov
    (25, 'clustered by region')
    >>> print(est.summary())  # doctest: +SKIP
    """
    return estimate_many(
        df,
        [outcome],
        treatment,
        covariates,
        [method],
        [estimand],
        propensity_covariates=propensity_covariates,
        propensity_model=propensity_model,
        overlap_tolerance=overlap_tolerance,
        alpha=alpha,
        cluster=cluster,
    )[0]


def estimate_many(
    df: pd.DataFrame,
    outcomes: list[str],
    treatment: str,
    covariates: Covariates,
    methods: Sequence[str] = METHODS,
    estimands: Sequence[str] = ("ATE",),
    *,
    propensity_covariates: Covariates | None = None,
    propensity_model: str = "logit",
    overlap_tolerance: float = OVERLAP_TOLERANCE,
    alpha: float = 0.05,
    cluster: str | None = None,
) -> Estimates:
    """`estimate_ate` for several outcomes, methods and estimands at once.

    The design matrices and the one propensity fit are shared (same numbers as one
    `estimate_ate` call each, much less work).

    Parameters
    ----------
    df, treatment, covariates, propensity_covariates, propensity_model, overlap_tolerance, alpha, cluster
        As for `estimate_ate`.
    outcomes : list of str
        Outcome columns.
    methods : sequence of str
        Any of "naive", "regression", "ipw", "aipw" (default: all four).
    estimands : sequence of str
        Any of "ATE", "ATT" (default: the ATE only).

    Returns
    -------
    Estimates
        A list of `Estimate`, outcome by outcome, then estimand, then method; its
        ``.tidy()`` is one table of them all and ``.summary()`` their text.

    Raises
    ------
    KeyError, ValueError, OverlapError
        As for `estimate_ate`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"age": rng.uniform(20, 40, 400), "sector": rng.choice(["a", "b", "c"], 400)})
    >>> df["treated"] = (rng.random(400) < 0.4).astype(int)
    >>> df["y"] = 0.1 * df["age"] + df["treated"] + rng.normal(size=400)
    >>> df["z"] = df["y"] + rng.normal(size=400)
    >>> results = estimate_many(df, ["y", "z"], "treated", ["age", "sector"], ["naive", "aipw"], ["ATE", "ATT"])
    >>> len(results), list(results.tidy()["method"][:2])
    (8, ['naive', 'aipw'])
    """
    for outcome in outcomes:
        for method in methods:
            for estimand in estimands:
                _check_arguments(df, outcome, treatment, method, estimand, propensity_model)
    ps_spec = propensity_covariates if propensity_covariates is not None else covariates
    read = [*outcomes, treatment, *covariate_columns(covariates), *covariate_columns(ps_spec)]
    _check_columns(df, list(dict.fromkeys(read)), cluster)
    clusters = _cluster_codes(df, cluster)
    n_clusters = None if clusters is None else int(clusters.max()) + 1
    t = _binary(df[treatment], treatment)
    x_out, propensity, notes = _shared_models(df, t, covariates, ps_spec, methods, propensity_model, overlap_tolerance)
    grams: dict = {}  # X'WX per weighting scheme, shared by every outcome
    z = stats.norm.ppf(1 - alpha / 2)
    out = Estimates()
    for outcome in outcomes:
        y = df[outcome].to_numpy(dtype=float)
        for estimand in estimands:
            for method in methods:
                if method == "naive":
                    effect, se, control_mean, diagnostics = _naive(y, t, clusters)
                else:
                    effect, se, control_mean, diagnostics = _adjusted(
                        y, t, x_out, propensity, method, estimand, grams, clusters
                    )
                out.append(
                    Estimate(
                        estimate=float(effect),
                        std_error=float(se),
                        ci_low=float(effect - z * se),
                        ci_high=float(effect + z * se),
                        n_obs=int(len(y)),
                        method=method,
                        estimand=estimand,
                        outcome=outcome,
                        control_mean=float(control_mean),
                        diagnostics=diagnostics,
                        notes=[] if method == "naive" else list(notes),
                        n_clusters=n_clusters,
                        vcov=_vcov_label(method, cluster),
                        alpha=alpha,
                    )
                )
    return out


def _shared_models(df, t, covariates, ps_spec, methods, propensity_model, overlap_tolerance):
    """The outcome design matrix, the propensity fit (None if no method uses one), and notes on left-out columns."""
    x_out, outcome_notes = _outcome_designs(df, t, covariates)
    notes = outcome_notes if set(methods) & {"regression", "aipw"} else []
    propensity = None
    if set(methods) & {"ipw", "aipw"}:
        x_ps, ps_notes = _design(df, ps_spec, "propensity")
        notes += ps_notes
        propensity = _Propensity(t, x_ps, PROPENSITY_MODELS[propensity_model], overlap_tolerance)
    return x_out, propensity, notes


def _outcome_designs(df, t, covariates) -> tuple[tuple[np.ndarray, np.ndarray], list[str]]:
    """The outcome models' design matrices, one per arm (untreated, treated), and notes on columns left out.

    Each arm's regression is fitted on its own units, so a column the other covariates
    determine within one arm (a rare combination seen in one arm only) is left out of that
    arm's model alone, as Stata's `teffects ra` omits it there.
    """
    matrix, dropped = drop_redundant(design_matrix(df, covariates))
    notes = [
        f"{name} left out of the outcome model: constant, or determined by the other covariates" for name in dropped
    ]
    arms = []
    for arm, label in ((0, "untreated"), (1, "treated")):
        kept, within = drop_redundant(matrix[t == arm])
        notes += [
            f"{name} left out of the outcome model of the {label} arm: determined by the other covariates there"
            for name in within
        ]
        arms.append(matrix[kept.columns].to_numpy())
    return (arms[0], arms[1]), notes


def _check_columns(df: pd.DataFrame, used: list[str], cluster: str | None) -> None:
    """Every column read is present and complete (rows are never dropped silently)."""
    absent = [c for c in [*used, *([cluster] if cluster is not None else [])] if c not in df.columns]
    if absent:
        raise KeyError(f"{', '.join(map(repr, absent))} is not a column of the table")
    if cluster is not None and (gaps := int(df[cluster].isna().sum())):
        raise ValueError(
            f"the cluster column {cluster!r} has {gaps:,} missing values; give those units a cluster or "
            "filter them explicitly first"
        )
    missing = df[used].isna().any()
    if missing.any():
        raise ValueError(
            f"missing values in {', '.join(missing[missing].index)}; impute or filter them explicitly first"
        )


def _cluster_codes(df: pd.DataFrame, cluster: str | None) -> np.ndarray | None:
    """Cluster of each row as 0..G-1 (None without clustering)."""
    if cluster is None:
        return None
    codes = pd.factorize(df[cluster])[0]
    if codes.max() < 1:
        raise ValueError(f"the cluster column {cluster!r} has a single cluster; clustered errors need at least two")
    return codes


def _vcov_label(method: str, cluster: str | None) -> str:
    if cluster is not None:
        return f"clustered by {cluster}"
    return "Welch" if method == "naive" else "robust"


def _sandwich_se(influence: np.ndarray, clusters: np.ndarray | None) -> float:
    """Standard error of a mean-zero influence function: sqrt(sum psi^2) / n, or clustered.

    Clustered: sqrt(G/(G-1) * sum_g (sum_{i in g} psi_i)^2) / n, Stata's vce(cluster).
    """
    n = len(influence)
    if clusters is None:
        return float(np.sqrt(np.mean(influence**2) / n))
    sums = np.bincount(clusters, weights=influence)
    g = len(sums)
    return float(np.sqrt(g / (g - 1) * np.sum(sums**2)) / n)


class _Propensity:
    """A fitted propensity model (statsmodels Logit/Probit, unpenalised)."""

    def __init__(self, t, x, family, overlap_tolerance: float):
        self.model = family(t, x)
        with warnings.catch_warnings():
            # Separation shows up below as propensities at 0 or 1, with a named error.
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                self.fit = self.model.fit(disp=0, method="newton", maxiter=100)
            except (np.linalg.LinAlgError, PerfectSeparationError) as err:
                raise OverlapError(
                    "the propensity model cannot be fitted: the covariates predict treatment perfectly (no overlap)"
                ) from err
        self.score = self.fit.predict()
        outside = (self.score < overlap_tolerance) | (self.score > 1 - overlap_tolerance)
        if outside.any():
            raise OverlapError(
                f"treatment overlap fails: {int(outside.sum()):,} of {len(t):,} units have a propensity score within "
                f"{overlap_tolerance:g} of 0 or 1 (some covariate values occur in one arm only); restrict the "
                "sample to where both arms occur, or coarsen the covariates"
            )
        self.hessian = self.model.hessian(self.fit.params)
        self.gradient = self.model.pdf(self.model.exog @ self.fit.params)[:, None] * self.model.exog  # de/dgamma


def _check_arguments(df, outcome, treatment, method, estimand, propensity_model) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand must be ATE or ATT, got {estimand!r}")
    if propensity_model not in PROPENSITY_MODELS:
        raise ValueError(f"propensity_model must be logit or probit, got {propensity_model!r}")
    for column in (outcome, treatment):
        if column not in df.columns:
            raise KeyError(f"{column!r} is not a column of the table")


def _binary(values: pd.Series, name: str) -> np.ndarray:
    t = values.astype(float).to_numpy()
    if not np.isin(t, (0.0, 1.0)).all():
        raise ValueError(f"treatment {name!r} must be binary (0/1 or boolean)")
    if t.min() == t.max():
        raise ValueError(f"treatment {name!r} takes one value only; there is nothing to compare")
    return t


def _naive(y, t, clusters):
    """Difference in means with Welch's standard error, or the clustered one from its influence function.

    The difference in means is the same for the ATE and the ATT (no covariates).
    """
    treated, control = y[t == 1], y[t == 0]
    mu1, mu0 = treated.mean(), control.mean()
    if clusters is None:
        se = np.sqrt(treated.var(ddof=1) / len(treated) + control.var(ddof=1) / len(control))
    else:
        p1 = t.mean()
        influence = t * (y - mu1) / p1 - (1 - t) * (y - mu0) / (1 - p1)
        se = _sandwich_se(influence, clusters)
    return mu1 - mu0, se, mu0, {}


def _adjusted(y, t, x_out, propensity, method, estimand, grams, clusters):
    """Point estimate and sandwich SE from stacked estimating equations."""
    uses_ps = method != "regression"
    e = propensity.score if uses_ps else None
    pieces = _Moments(y, t, x_out, e, propensity if uses_ps else None, method, estimand, grams)
    mu0, mu1 = pieces.mu
    diagnostics = {}
    if e is not None:
        diagnostics = {
            "propensity_min": float(e.min()),
            "propensity_max": float(e.max()),
            "share_extreme_propensity": float(np.mean((e < 0.01) | (e > 0.99))),
        }
    return mu1 - mu0, _sandwich_se(_effect_influence(pieces), clusters), mu0, diagnostics


def _effect_influence(pieces: _Moments) -> np.ndarray:
    """Each unit's contribution psi_i to mu1 - mu0, so that Var = sum psi_i^2 / n^2 (iid).

    Var(c'theta) = c' A^-1 B A^-T c / n with B = psi'psi / n; with v = A^-T c this is
    mean((psi v)^2) / n, which avoids forming the p x p meat (n p instead of n p^2).
    """
    blocks, jacobian = pieces.moments()
    contrast = np.zeros(jacobian.shape[0])
    contrast[-2:] = (-1.0, 1.0)
    v = np.linalg.solve(jacobian.T, contrast)
    influence, start = np.zeros(pieces.n), 0
    for matrix, scale in blocks:
        part = matrix @ v[start : start + matrix.shape[1]]
        influence += part if scale is None else scale * part
        start += matrix.shape[1]
    return influence


class _Moments:
    """Estimating equations psi_i(theta) = 0 and their mean Jacobian, for theta =
    (propensity coefficients, outcome coefficients of arm 0 and 1, mu0, mu1)."""

    def __init__(self, y, t, xs, e, propensity, method, estimand, grams):
        self.y, self.t, self.xs, self.e = y, t, xs, e  # xs: the outcome design of each arm (untreated, treated)
        self.grams = grams
        self.propensity = propensity
        # statsmodels objects (untyped), present only when the method uses a propensity model
        self.ps_model: Any = propensity.model if propensity else None
        self.ps_fit: Any = propensity.fit if propensity else None
        self.ps_hessian: Any = propensity.hessian if propensity else None
        self.method, self.estimand = method, estimand
        self.n = len(y)
        self.uses_ps = propensity is not None
        self.uses_outcome = method in ("regression", "aipw")
        self.weighted_outcome = method == "aipw" and estimand == "ATT"  # IPW-RA
        self.beta: list[np.ndarray] = self._outcome_fits() if self.uses_outcome else []
        self.mu = self._potential_means()

    # --- pieces -------------------------------------------------------------
    def _outcome_weights(self):
        if self.weighted_outcome:
            return (1 - self.t) * self.e / (1 - self.e), self.t
        return 1 - self.t, self.t

    def _gram(self, arm: int, w) -> np.ndarray:
        key = ("ipwra" if self.weighted_outcome else "ra", arm)
        if key not in self.grams:
            x = self.xs[arm]
            gram = (x * w[:, None]).T @ x
            if np.linalg.cond(gram) > 1e12:
                raise np.linalg.LinAlgError("collinear design")
            self.grams[key] = gram
        return self.grams[key]

    def _outcome_fits(self):
        fits = []
        for arm, w in enumerate(self._outcome_weights()):
            try:
                fits.append(np.linalg.solve(self._gram(arm, w), self.xs[arm].T @ (w * self.y)))
            except np.linalg.LinAlgError as err:
                raise ValueError(
                    f"the outcome model of the treatment={arm} arm cannot be fitted: covariates are collinear, or some "
                    "covariate level has no units in that arm (an overlap failure); coarsen the covariates or "
                    "restrict the sample"
                ) from err
        return fits

    def _potential_means(self):
        y, t, e = self.y, self.t, self.e
        if self.method == "regression" or self.weighted_outcome:
            fitted = self._fitted()
            if self.estimand == "ATT":
                return tuple(float(np.sum(t * f) / t.sum()) for f in fitted)
            return tuple(float(f.mean()) for f in fitted)
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            return float(np.sum(w0 * y) / w0.sum()), float(np.sum(w1 * y) / w1.sum())
        m0, m1 = self._fitted()
        return float(np.mean(m0 + (1 - t) * (y - m0) / (1 - e))), float(np.mean(m1 + t * (y - m1) / e))

    def _fitted(self) -> list[np.ndarray]:
        """Each arm's outcome model's prediction for every unit."""
        return [x @ b for x, b in zip(self.xs, self.beta, strict=True)]

    def _ipw_weights(self):
        t, e = self.t, self.e
        if self.estimand == "ATT":
            return (1 - t) * e / (1 - e), t
        return (1 - t) / (1 - e), t / e

    # --- stacked moments and Jacobian -----------------------------------------
    def moments(self):
        # Each block is (matrix, row scale): psi_block = matrix * scale[:, None], kept factored so
        # the n x k outcome blocks are never formed.
        blocks = []
        if self.uses_ps:
            blocks.append((self.ps_model.score_obs(self.ps_fit.params), None))
        if self.uses_outcome:
            for x, w, b in zip(self.xs, self._outcome_weights(), self.beta, strict=True):
                blocks.append((x, w * (self.y - x @ b)))
        blocks.append((self._mu_moments(), None))
        return blocks, self._jacobian(sum(m.shape[1] for m, _ in blocks))

    def _mu_moments(self):
        y, t, e = self.y, self.t, self.e
        mu0, mu1 = self.mu
        if self.method == "regression" or self.weighted_outcome:
            fitted = self._fitted()
            scale = t if self.estimand == "ATT" else np.ones_like(t)
            return np.column_stack([scale * (fitted[0] - mu0), scale * (fitted[1] - mu1)])
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            return np.column_stack([w0 * (y - mu0), w1 * (y - mu1)])
        m0, m1 = self._fitted()
        return np.column_stack([m0 + (1 - t) * (y - m0) / (1 - e) - mu0, m1 + t * (y - m1) / e - mu1])

    def _jacobian(self, p):
        """Mean derivative of psi; blocks in closed form (rows: equations, columns: parameters)."""
        n, y, t = self.n, self.y, self.t
        k_ps = len(self.ps_fit.params) if self.uses_ps else 0
        jac = np.zeros((p, p))
        row = 0
        if self.uses_ps:
            jac[:k_ps, :k_ps] = self.ps_hessian / n
            de = self._propensity_gradient()  # n x k_ps
            row = k_ps
        beta_cols = []
        if self.uses_outcome:
            for arm, (w, b) in enumerate(zip(self._outcome_weights(), self.beta, strict=False)):
                x = self.xs[arm]
                cols = slice(row, row + x.shape[1])
                jac[cols, cols] = -self._gram(arm, w) / n
                if self.weighted_outcome and arm == 0:  # weights e/(1-e) depend on the propensity
                    resid = (1 - t) * (y - x @ b) / (1 - self.e) ** 2
                    jac[cols, :k_ps] = x.T @ (de * resid[:, None]) / n
                beta_cols.append(cols)
                row += x.shape[1]
        mu_rows = (p - 2, p - 1)
        self._mu_jacobian(jac, mu_rows, beta_cols, k_ps, de if self.uses_ps else None)
        return jac

    def _propensity_gradient(self):
        return self.propensity.gradient

    def _mu_jacobian(self, jac, mu_rows, beta_cols, k_ps, de):
        n, xs, y, t, e = self.n, self.xs, self.y, self.t, self.e
        mu0, mu1 = self.mu
        r0, r1 = mu_rows
        if self.method == "regression" or self.weighted_outcome:
            scale = t if self.estimand == "ATT" else np.ones_like(t)
            for r, cols, x in zip(mu_rows, beta_cols, xs, strict=True):
                jac[r, cols] = scale @ x / n
                jac[r, r] = -scale.mean()
            return
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            jac[r0, r0], jac[r1, r1] = -w0.mean(), -w1.mean()
            # d/de of (1-t)/(1-e) and of (1-t)e/(1-e) are both (1-t)/(1-e)^2
            jac[r0, :k_ps] = ((1 - t) * (y - mu0) / (1 - e) ** 2) @ de / n
            if self.estimand == "ATE":  # the ATT's treated weight (t) has no propensity in it
                jac[r1, :k_ps] = (-t * (y - mu1) / e**2) @ de / n
            return
        m0, m1 = self._fitted()
        jac[r0, beta_cols[0]] = (1 - (1 - t) / (1 - e)) @ xs[0] / n
        jac[r1, beta_cols[1]] = (1 - t / e) @ xs[1] / n
        jac[r0, :k_ps] = ((1 - t) * (y - m0) / (1 - e) ** 2) @ de / n
        jac[r1, :k_ps] = (-t * (y - m1) / e**2) @ de / n
        jac[r0, r0] = jac[r1, r1] = -1.0
