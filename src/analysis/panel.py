"""Fixed-effects panel regressions (pyfixest), with fixest / Stata conventions.

- Any number of regressors and fixed effects: `feols(df, "y", ["x1", "x2"], ["region", "quarter"])`.
  The regressors may also be a formula right-hand side, passed to pyfixest as written:
  `feols(df, "y", "x1 + C(quarter_of_year) + I(x1**2)", ["region"])`, or pyfixest's own
  `i(event_time, ref=-1)`. A list is the formula of its names joined by `+`.
- Standard errors: "iid", "hetero" (HC1), or clustered (CRV1) by one or two variables.
  Small-sample factor (fixest defaults, as pyfixest implements them):
  (N - 1) / (N - K) with K the number of estimated slopes (fixed effects that are
  absorbed do not count), times G / (G - 1) for G clusters; with two-way clustering
  every term uses min(G). On Grunfeld's data this reproduces Stata's
  `xtreg, fe vce(cluster company)` (tests/golden/).
- t and F reference distributions (fixest's): G - 1 degrees of freedom when clustered
  (the fewest clusters for two-way clustering), otherwise N - K - the fixed-effect levels
  (all levels of the first fixed effect, one fewer for each further one).
- Wild cluster bootstrap (restricted WCR11, Rademacher weights) for few clusters,
  via pyfixest's `wildboottest`.
- Only pyfixest's public interface is used: `coef`, `se`, `confint`, `pvalue`, `resid`,
  `wald_test`, `wildboottest` and (rarely) `fixef`. pyfixest has no public covariance
  matrix (`Feols.vcov` recomputes the errors and returns the model), so
  `PanelFit.covariance` is read off its public Wald test (see `_covariance`).
- Inputs are checked before they reach pyfixest's compiled demeaning, which aborts the
  process on an empty sample: a design the data cannot support is a `DesignError` (did's,
  one error for every estimator) whose message is a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .did import DesignError

WILD_BOOTSTRAP_REPS = 9999
WILD_BOOTSTRAP_SEED = 20220824
CONFIDENCE_LEVEL = 0.95  # of the intervals in `PanelFit.coefficients` (pyfixest's default)

# pyfixest's multiple-estimation operators: they return many models, and feols fits one.
_MULTIPLE_ESTIMATION = frozenset({"sw", "sw0", "csw", "csw0", "mvsw"})


@dataclass
class PanelFit:
    """Coefficients with uncertainty; `fit` is the pyfixest model for anything further.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per coefficient: term, estimate, std_error, ci_low, ci_high (95%), pvalue.
    n_obs : int
        Observations used (after missing values and singletons are dropped).
    vcov : str
        What the standard errors are: "iid", "hetero", or "CRV1 by <cluster>[ and <cluster>]".
    fit : pyfixest Feols
        The pyfixest model.
    n_clusters : int or None
        Clusters in the sample used (the fewest, for two-way clustering); None unclustered.
    t_df : int or None
        Degrees of freedom of the t and F reference distributions: G - 1 clustered,
        otherwise N - K - fixed-effect levels. None for a PanelFit built by hand.
    outcome : str or None
        The dependent variable.
    fixed_effects : tuple of str
        The fixed effects absorbed.
    """

    coefficients: pd.DataFrame  # term, estimate, std_error, ci_low, ci_high, pvalue
    n_obs: int
    vcov: str
    fit: Any  # the pyfixest model (untyped)
    n_clusters: int | None = None  # clusters in the sample used (the fewest, for two-way clustering)
    t_df: int | None = None  # degrees of freedom of the t and F reference distributions
    outcome: str | None = None
    fixed_effects: tuple[str, ...] = ()

    def term(self, name: str) -> pd.Series:
        """The row of `coefficients` for coefficient `name` (KeyError if the fit has none)."""
        return self.coefficients.set_index("term").loc[name]

    @cached_property
    def covariance(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients (the one behind `std_error`), rows and columns named by term.

        For the standard error of a linear combination `w` of coefficients (numpy weights in
        the order of `coefficients`): ``np.sqrt(w @ fit.covariance.to_numpy() @ w)``.
        """
        return _covariance(self.fit)

    def tidy(self) -> pd.DataFrame:
        """The coefficients table with the number of observations and the kind of errors on every row.

        Columns: term, estimate, std_error, ci_low, ci_high, pvalue, n_obs, vcov.
        """
        return self.coefficients.assign(n_obs=self.n_obs, vcov=self.vcov).reset_index(drop=True)

    def summary(self) -> str:
        """A short text to read: the model, the sample, the errors, then each coefficient with SE and CI."""
        head = f"OLS of {self.outcome}" if self.outcome else "OLS"
        if self.fixed_effects:
            head += f", absorbing {' and '.join(self.fixed_effects)} fixed effects"
        lines = [head, f"{self.n_obs:,} observations; {_errors_in_words(self.vcov, self.n_clusters)}", ""]
        level = f"{CONFIDENCE_LEVEL:.0%} CI"
        rows = [
            [
                str(row.term),
                _number(row.estimate),
                _number(row.std_error),
                f"[{_number(row.ci_low)}, {_number(row.ci_high)}]",
                "<0.001" if row.pvalue < 0.001 else f"{row.pvalue:.3f}",
            ]
            for row in self.coefficients.itertuples()
        ]
        header = ["term", "estimate", "std. error", level, "p-value"]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for cells in [header, *rows]:
            lines.append(
                "  ".join(
                    cell.ljust(width) if i == 0 else cell.rjust(width)
                    for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
                ).rstrip()
            )
        return "\n".join(lines)


def _errors_in_words(label: str, n_clusters: int | None) -> str:
    if label.startswith("CRV1 by "):
        names = label.removeprefix("CRV1 by ")
        count = "" if n_clusters is None else f", {n_clusters:,} clusters"
        if " and " in names and n_clusters is not None:
            count += " in the smaller dimension"
        return f"standard errors clustered by {names} (CRV1{count})"
    words = {
        "iid": "conventional (iid) standard errors",
        "hetero": "heteroskedasticity-robust (HC1) standard errors",
        "HC1": "heteroskedasticity-robust (HC1) standard errors",
        "HC2": "heteroskedasticity-robust (HC2) standard errors",
        "HC3": "heteroskedasticity-robust (HC3) standard errors",
    }
    return words.get(label, f"{label} standard errors")


def _number(x: float) -> str:
    """Four significant digits, in fixed notation when that stays short."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    size = abs(x)
    if 1e-3 <= size < 1e6:
        return f"{x:,.{max(0, 3 - math.floor(math.log10(size)))}f}"
    return f"{x:.3e}"


# --- the regressors: a list of columns or a formula right-hand side ----------------------------


@dataclass(frozen=True)
class _Regressors:
    formula: str  # the right-hand side handed to pyfixest
    columns: list[str]  # the columns it uses, in order
    terms: list[tuple[str, str | None]]  # each term, and the one column it is a function of (None: several)
    exact: bool  # one coefficient per term (a list of columns); a formula may expand a term into several


def _regressors(regressors: Sequence[str] | str) -> _Regressors:
    """The regressors as pyfixest's right-hand side, the columns they use and their terms.

    A list is kept as it is (names joined by `+`); a string is read with formulaic, the
    parser pyfixest itself uses, so `C(...)`, `I(...)`, interactions and `i(...)` are understood.
    """
    if not isinstance(regressors, str):
        names = list(regressors)
        return _Regressors(" + ".join(names), names, [(name, name) for name in names], True)
    import formulaic  # type: ignore[import-untyped]  # pyfixest's formula parser

    text = regressors.strip()
    if not text:
        raise ValueError("give at least one regressor")
    if "~" in text or "|" in text:
        raise ValueError(
            f"regressors {regressors!r} should be only the right-hand side of a formula: the outcome and the "
            "fixed effects are separate arguments"
        )
    try:
        parsed = formulaic.Formula(text)
    except formulaic.errors.FormulaicError as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"regressors {regressors!r} is not a formula pyfixest can read: {reason}") from err
    columns: list[str] = []
    terms: list[tuple[str, str | None]] = []
    for term in parsed:
        used: list[str] = []
        for factor in term.factors:
            calls = {str(v) for v in factor.required_variables if _has_role(v, "callable")}
            several = sorted(calls & _MULTIPLE_ESTIMATION)
            if several:
                raise ValueError(
                    f"regressors {regressors!r} asks for several models ({', '.join(several)}); "
                    "feols fits one: call it once per specification"
                )
            used += sorted(str(v) for v in factor.required_variables if _has_role(v, "value"))
        used = list(dict.fromkeys(used))
        if not used:
            continue  # the intercept (or a constant)
        terms.append((str(term), used[0] if len(used) == 1 else None))
        columns += [c for c in used if c not in columns]
    return _Regressors(text, columns, terms, False)


def _has_role(variable: Any, role: str) -> bool:
    return role in {getattr(r, "value", r) for r in variable.roles}


def _clusters(cluster: str | Sequence[str] | None) -> list[str]:
    return [cluster] if isinstance(cluster, str) else list(cluster or [])


# --- estimation -------------------------------------------------------------------------------------


def feols(
    df: pd.DataFrame,
    y: str,
    regressors: Sequence[str] | str,
    fixed_effects: Sequence[str] = (),
    cluster: str | list[str] | None = None,
    vcov: str = "iid",
) -> PanelFit:
    """OLS of `y` on `regressors`, absorbing `fixed_effects`; clustered errors when `cluster` is given.

    Parameters
    ----------
    df : pandas.DataFrame
        The panel, one row per observation.
    y : str
        The outcome column.
    regressors : list of str, or str
        Columns whose coefficients are estimated, or a formula right-hand side passed to
        pyfixest as written: ``"x + C(quarter_of_year) + I(x**2)"``, interactions ``a:b``,
        or pyfixest's ``i(event_time, ref=-1)``. A list is the formula of its names joined
        by ``+``, so ``["x", "z"]`` and ``"x + z"`` give the same fit.
    fixed_effects : sequence of str, default ()
        Columns whose levels are absorbed (not reported).
    cluster : str or list of str, optional
        One or two columns to cluster the errors by (CRV1); overrides `vcov`. Cluster ids
        may not be missing.
    vcov : str, default "iid"
        The errors when unclustered: "iid" or "hetero" (HC1), as pyfixest names them.

    Returns
    -------
    PanelFit
        Coefficients (estimate, std_error, 95% CI, p-value), `n_obs`, the error label
        `vcov`, `n_clusters`, `t_df`, the `covariance` of the coefficients, `tidy()`,
        `summary()`, and the pyfixest model as `fit`.

    Raises
    ------
    KeyError
        When `y`, a column the regressors use, a fixed effect or a cluster variable is not a
        column of `df`; the message names them.
    ValueError
        When there is no regressor, the formula cannot be read (or contains ``~``, ``|`` or
        a multiple-estimation operator such as ``sw()``), there are more than two cluster
        variables, or a cluster id is missing.
    DesignError
        When the data cannot support the design (see `estimable_sample`), when a regressor
        is collinear with the fixed effects or the other regressors in the sample used, or
        when no degree of freedom is left for the errors.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"firm": np.repeat(range(20), 5), "year": np.tile(range(5), 20)})
    >>> df["x"] = rng.normal(size=len(df))
    >>> df["y"] = 0.5 * df["x"] + 0.1 * df["firm"] + rng.normal(scale=0.1, size=len(df))
    >>> fit = feols(df, "y", ["x"], ["firm", "year"], cluster="firm")
    >>> round(float(fit.term("x")["estimate"]), 1), fit.n_obs, fit.vcov, fit.n_clusters
    (0.5, 100, 'CRV1 by firm', 20)
    >>> formula = feols(df, "y", "x", ["firm", "year"], cluster="firm")
    >>> formula.coefficients.equals(fit.coefficients)
    True
    >>> list(feols(df, "y", "x + C(year)", ["firm"]).coefficients["term"])
    ['x', 'C(year)[T.1]', 'C(year)[T.2]', 'C(year)[T.3]', 'C(year)[T.4]']
    """
    import pyfixest as pf

    rhs = _regressors(regressors)
    clusters = _clusters(cluster)
    missing = [c for c in [y, *rhs.columns, *fixed_effects, *clusters] if c not in df.columns]
    if missing:
        raise KeyError(f"not columns of the panel: {', '.join(missing)}")
    if not rhs.terms:
        raise ValueError("give at least one regressor")
    sample = estimable_sample(df, y, regressors, fixed_effects, cluster)
    data, cluster_names = _integer_clusters(df, cluster)
    formula = f"{y} ~ {rhs.formula}" + (f" | {' + '.join(fixed_effects)}" if fixed_effects else "")
    spec = {"CRV1": "+".join(cluster_names)} if cluster_names else vcov
    try:
        fit = pf.feols(formula, data=data, vcov=spec)
    except (ZeroDivisionError, np.linalg.LinAlgError) as err:
        if rhs.exact:
            raise
        # A formula can expand into more coefficients than the checks above can count.
        raise DesignError(
            f"{rhs.formula} expands into at least as many coefficients as the {len(sample):,} usable rows (or into "
            "columns pyfixest cannot separate), so nothing is left to estimate the errors"
        ) from err
    coefficients = fit.coef()
    if coefficients.empty:
        raise DesignError(
            f"no coefficient of {rhs.formula} can be estimated: every term is collinear with the fixed effects "
            "in this sample"
        )
    dropped = [term for term, column in rhs.terms if term == column and term not in coefficients.index]
    if dropped:
        raise DesignError(
            f"{', '.join(dropped)} cannot be estimated: collinear with the fixed effects or the other "
            "regressors in this sample"
        )
    ci = fit.confint()
    table = pd.DataFrame(
        {
            "term": coefficients.index,
            "estimate": coefficients.to_numpy(),
            "std_error": fit.se().to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
            "pvalue": fit.pvalue().to_numpy(),
        }
    )
    n_obs = len(fit.resid())
    residual_df = n_obs - len(coefficients) - _fixed_effect_levels(fit, sample, fixed_effects, n_obs)
    if residual_df < 1:
        raise DesignError(
            f"only {n_obs:,} usable rows for {len(coefficients)} coefficient(s) and the fixed-effect levels: "
            "nothing is left to estimate the errors"
        )
    label = f"CRV1 by {' and '.join(clusters)}" if cluster_names else vcov
    n_clusters = min(sample[c].nunique() for c in clusters) if clusters else None
    t_df = n_clusters - 1 if n_clusters is not None else residual_df
    return PanelFit(table, n_obs, label, fit, n_clusters, t_df, y, tuple(fixed_effects))


def _fixed_effect_levels(fit: Any, sample: pd.DataFrame, fixed_effects: Sequence[str], n_obs: int) -> int:
    """The fixed-effect levels pyfixest counts against the degrees of freedom.

    All levels of the first fixed effect and one fewer of each further one, in the rows
    used. Those rows are `sample` when it has as many rows as the fit; otherwise
    (pyfixest dropped more, e.g. a transform that is not finite) the levels are those of
    pyfixest's own estimated fixed effects, which it reports the same way.
    """
    if not fixed_effects:
        return 0
    if len(sample) == n_obs:
        return int(sum(sample[fe].nunique() for fe in fixed_effects)) - (len(fixed_effects) - 1)
    return sum(len(levels) for levels in fit.fixef().values())


def estimable_sample(
    df: pd.DataFrame,
    y: str,
    regressors: Sequence[str] | str,
    fixed_effects: Sequence[str] = (),
    cluster: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows a fixed-effects regression can use, or a `DesignError` saying why there are none.

    Rows complete on every variable, with rows alone in a fixed-effect group removed until
    none is (fixest's singleton rule, as pyfixest applies it).

    Parameters
    ----------
    df : pandas.DataFrame
        The panel.
    y : str
        The outcome column.
    regressors : list of str, or str
        Regressor columns, or a formula right-hand side (as for `feols`): the columns it
        uses must be complete. The variation checks apply to each term that is a function
        of one column (``x``, ``C(q)``, ``I(x**2)``, ``i(event_time, ref=-1)``), not to
        interactions of several.
    fixed_effects : sequence of str, default ()
        Fixed-effect columns.
    cluster : str or sequence of str, optional
        Cluster columns: they must be complete and leave at least two clusters.

    Returns
    -------
    pandas.DataFrame
        The usable rows of `df` (same index and columns).

    Raises
    ------
    DesignError
        With a sentence, when the table is empty, a variable is missing in every row, no row
        is complete, the fixed effects leave no row, the outcome or a regressor does not vary
        (overall, or within every group of one fixed effect), fewer than two clusters remain,
        or no degree of freedom is left for the errors.
    KeyError
        When a variable is not a column of `df`.
    ValueError
        When `regressors` is a formula that cannot be read.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"unit": [1, 1, 1, 2, 2, 2, 3], "x": [0.0, 1, 3, 2, None, 4, 5]})
    >>> df["y"] = [1.0, 2, 2, 3, 3, 5, 4]
    >>> estimable_sample(df, "y", ["x"]).index.tolist()  # row 4 lacks x
    [0, 1, 2, 3, 5, 6]
    >>> estimable_sample(df, "y", ["x"], ["unit"]).index.tolist()  # unit 3 is a singleton
    [0, 1, 2, 3, 5]
    >>> estimable_sample(df.assign(x=1.0), "y", "x")
    Traceback (most recent call last):
    ...
    analysis.did.DesignError: x takes a single value in the 7 usable rows, so its coefficient cannot be estimated
    """
    rhs = _regressors(regressors)
    clusters = _clusters(cluster)
    columns = list(dict.fromkeys([y, *rhs.columns, *fixed_effects, *clusters]))
    if df.empty:
        raise DesignError("the table has no rows, so the regression has no data")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"not columns of the panel: {', '.join(missing)}")
    empty = [c for c in columns if df[c].isna().all()]
    if empty:
        raise DesignError(
            f"{' and '.join(empty)} {'is' if len(empty) == 1 else 'are'} missing in every row, "
            "so the regression has no data"
        )
    data = df.dropna(subset=columns)
    if data.empty:
        raise DesignError(f"no row has all of {', '.join(columns)}, so the regression has no data")
    while fixed_effects and len(data):
        alone = np.zeros(len(data), dtype=bool)
        for fe in fixed_effects:
            alone |= (data.groupby(fe, observed=True)[fe].transform("size") == 1).to_numpy()
        if not alone.any():
            break
        data = data[~alone]
    if data.empty:
        raise DesignError(
            f"every row is alone in its group of {' or '.join(fixed_effects)} (one observation per "
            "group), so the fixed effects leave nothing to compare"
        )
    if data[y].nunique() < 2:
        raise DesignError(f"{y} takes a single value in the {len(data):,} usable rows, so there is nothing to explain")
    outcome_absorbed = [fe for fe in fixed_effects if data.groupby(fe, observed=True)[y].nunique().max() < 2]
    if outcome_absorbed:
        raise DesignError(
            f"{y} never changes within a {outcome_absorbed[0]}, so the {outcome_absorbed[0]} fixed "
            "effects explain it entirely and no coefficient can be estimated"
        )
    for term, regressor in rhs.terms:
        if regressor is None:
            continue  # an interaction of several columns may vary although each of them does not
        what = "its coefficient" if term == regressor else term
        if data[regressor].nunique() < 2:
            raise DesignError(
                f"{regressor} takes a single value in the {len(data):,} usable rows, so {what} cannot be estimated"
            )
        absorbed = [fe for fe in fixed_effects if data.groupby(fe, observed=True)[regressor].nunique().max() < 2]
        if absorbed:
            raise DesignError(
                f"{regressor} never changes within a {absorbed[0]}, so the {absorbed[0]} fixed effects "
                + ("absorb it and its coefficient" if term == regressor else f"absorb {term} and it")
                + " cannot be estimated"
            )
    for name in clusters:
        if data[name].nunique() < 2:
            raise DesignError(
                f"the errors are clustered by {name}, but the usable rows come from a single {name}; "
                "clustered errors need at least two"
            )
    levels = sum(data[fe].nunique() for fe in fixed_effects) - max(len(fixed_effects) - 1, 0)
    if len(data) - levels - len(rhs.terms) < 1:
        count = f"{len(rhs.terms)}" if rhs.exact else f"at least {len(rhs.terms)}"
        raise DesignError(
            f"only {len(data):,} usable rows for {count} coefficient(s) and {levels} "
            "fixed-effect levels: nothing is left to estimate the errors"
        )
    return data


def _integer_clusters(df: pd.DataFrame, cluster: str | Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """Cluster ids as integers (the bootstrap needs them numeric); names of the new columns.

    A missing cluster id is an error: coded as one more cluster it would pool unrelated
    rows and change every standard error.
    """
    if cluster is None:
        return df, []
    names = _clusters(cluster)
    if len(names) > 2:
        raise ValueError("cluster by one or two variables")
    data = df.copy()
    coded = []
    for number, name in enumerate(names):
        missing = int(data[name].isna().sum())
        if missing:
            raise ValueError(f"cluster variable {name!r} is missing in {missing:,} row(s); drop or fill them first")
        column = _unused_name(data, f"cluster_code_{number}")
        data[column] = pd.factorize(data[name])[0].astype(np.int64)
        coded.append(column)
    return data, coded


def _unused_name(df: pd.DataFrame, stem: str) -> str:
    """`stem`, or `stem_1`, `stem_2`, ... : a column name the caller's table does not use."""
    name, number = stem, 0
    while name in df.columns:
        number += 1
        name = f"{stem}_{number}"
    return name


# --- inference after the fit ----------------------------------------------------------------------


def _covariance(fit: Any) -> pd.DataFrame:
    """The coefficients' covariance matrix, through pyfixest's public interface only.

    pyfixest does not expose the matrix (`Feols.vcov()` recomputes the errors and returns the
    model). Its public `wald_test` does use it: for one restriction r'b = q the statistic is
    (r'b - q)^2 / (r'Vr). The diagonal is `se()` squared; each off-diagonal element comes from
    one test with r = e_i / se_i + e_j / se_j, for which r'Vr = 2 + 2 corr_ij. The result
    agrees with pyfixest's internal matrix to a few units in the last place.
    """
    coefficients = fit.coef()
    beta = coefficients.to_numpy(dtype=float)
    se = fit.se().to_numpy(dtype=float)
    k = len(beta)
    matrix = np.diag(se**2)
    for i in range(k):
        for j in range(i + 1, k):
            if not (np.isfinite(se[i]) and np.isfinite(se[j])):
                value = np.nan
            elif se[i] == 0 or se[j] == 0:
                value = 0.0  # a coefficient without variance has no covariance either
            else:
                restriction = np.zeros((1, k))
                restriction[0, i], restriction[0, j] = 1 / se[i], 1 / se[j]
                value = (_quadratic_form(fit, restriction, beta) / 2 - 1) * se[i] * se[j]
            matrix[i, j] = matrix[j, i] = value
    names = list(coefficients.index)
    return pd.DataFrame(matrix, index=names, columns=names)


def _quadratic_form(fit: Any, restriction: np.ndarray, beta: np.ndarray) -> float:
    """r'Vr for one restriction row r, from pyfixest's public Wald statistic (r'b - q)^2 / (r'Vr).

    q is chosen so that r'b - q is about one (never zero), computed as pyfixest computes it.
    """
    q = restriction @ beta - 1.0
    distance = float((restriction @ beta - q)[0])
    statistic = float(fit.wald_test(R=restriction, q=q, distribution="chi2")["statistic"])
    return distance**2 / statistic if statistic != 0 else 0.0  # pyfixest inverts a zero variance to zero


def wild_cluster_bootstrap(
    result: PanelFit, term: str, reps: int = WILD_BOOTSTRAP_REPS, seed: int = WILD_BOOTSTRAP_SEED
) -> dict:
    """Wild cluster bootstrap p-value for H0: coefficient of `term` = 0 (one-way clustered fits only).

    The restricted wild cluster bootstrap (WCR11, Rademacher weights) of pyfixest's
    `wildboottest`; with few clusters it holds its size where CRV1 p-values are too small.

    Parameters
    ----------
    result : PanelFit
        A fit from `feols` clustered by one variable.
    term : str
        The coefficient tested, as named in `result.coefficients["term"]`.
    reps : int, default WILD_BOOTSTRAP_REPS (9999)
        Bootstrap replications.
    seed : int, default WILD_BOOTSTRAP_SEED
        Seed of the weights: the same seed gives the same p-value.

    Returns
    -------
    dict
        ``{"t": t statistic, "pvalue": bootstrap p-value, "reps": reps}``.

    Raises
    ------
    ValueError
        When `result` is not clustered, or clustered by two variables.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"firm": np.repeat(range(8), 10), "year": np.tile(range(10), 8)})
    >>> df["x"] = rng.normal(size=len(df))
    >>> df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    >>> fit = feols(df, "y", ["x"], ["firm"], cluster="firm")
    >>> boot = wild_cluster_bootstrap(fit, "x", reps=199)
    >>> sorted(boot), boot == wild_cluster_bootstrap(fit, "x", reps=199)
    (['pvalue', 'reps', 't'], True)
    """
    if not result.vcov.startswith("CRV1") or " and " in result.vcov:
        raise ValueError("the wild cluster bootstrap needs a fit clustered by one variable")
    out = result.fit.wildboottest(param=term, reps=reps, seed=seed)
    return {"t": float(out["t value"]), "pvalue": float(out["Pr(>|t|)"]), "reps": reps}


def joint_test(result: PanelFit, terms: Sequence[str]) -> dict:
    """Wald (F) test that all `terms` are zero, with the fit's own covariance.

    The statistic is pyfixest's public Wald statistic divided by the number of terms; its
    reference distribution is F(len(terms), t_df), the degrees of freedom of the fit's
    t-statistics (G - 1 clustered, N - K - fixed-effect levels otherwise), as fixest does.

    Parameters
    ----------
    result : PanelFit
        A fit from `feols`.
    terms : sequence of str
        The coefficients tested, as named in `result.coefficients["term"]`.

    Returns
    -------
    dict
        ``{"F": statistic, "df": (numerator, denominator), "pvalue": p-value}``.

    Raises
    ------
    ValueError
        When `terms` is empty or names a coefficient the fit does not have.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"firm": np.repeat(range(20), 5), "year": np.tile(range(5), 20)})
    >>> df[["x", "z"]] = rng.normal(size=(len(df), 2))
    >>> df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    >>> test = joint_test(feols(df, "y", ["x", "z"], ["firm"], cluster="firm"), ["x", "z"])
    >>> test["df"], test["pvalue"] < 0.01
    ((2, 19), True)
    """
    names = list(result.fit.coef().index)
    unknown = [t for t in terms if t not in names]
    if unknown or not terms:
        raise ValueError(
            f"not coefficients of the fit: {', '.join(map(str, unknown))}" if unknown else "give at least one term"
        )
    restriction = np.zeros((len(terms), len(names)))
    for row, term in enumerate(terms):
        restriction[row, names.index(term)] = 1.0
    wald = result.fit.wald_test(R=restriction, q=np.zeros(len(terms)), distribution="chi2")
    statistic = float(wald["statistic"]) / len(terms)
    from scipy import stats

    df_denominator = result.t_df if result.t_df is not None else result.n_obs - len(names)
    return {
        "F": statistic,
        "df": (len(terms), int(df_denominator)),
        "pvalue": float(stats.f.sf(statistic, len(terms), df_denominator)),
    }


def within_cell_gap(cells: pd.DataFrame, outcome: str, cluster: str) -> dict | None:
    """`feols(rows, outcome, [d], [cell], cluster=cluster)` for a 0/1 regressor d, from per-cell counts and sums.

    With the cells as fixed effects, the slope of a 0/1 regressor is the average of the cells'
    gaps in mean outcome (d = 1 minus d = 0) weighted by n1 * n0 / n, and each cell's
    contribution to the clustered score is that weight times (its gap - the slope). When every
    cell lies within one cluster (cells are region-quarters, clusters regions), the estimate,
    its CRV1 standard error and its interval therefore need only each cell's counts and sums
    of the outcome per arm: no row. The numbers equal `feols` on the rows (to 1e-12 in
    tests/test_panel.py), including pyfixest's small-sample factor for this design,
    G / (G - 1) * (N - 1) / (N - 2), and the t distribution with G - 1 degrees of freedom.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell that has both arms: `cluster`, ``n0``, ``n1`` (units with d = 0 and
        d = 1) and ``sum0_<outcome>``, ``sum1_<outcome>``, ``sumsq0_<outcome>``, ``sumsq1_<outcome>``.
    outcome, cluster : str
        The outcome's name in those columns; the cluster column.

    Returns
    -------
    dict or None
        estimate, std_error, ci_low, ci_high (95%) and n_obs; None when the outcome does not
        vary within any cell (the fixed effects absorb it: nothing to compare).
    """
    from scipy import stats

    n0, n1 = cells["n0"].to_numpy(dtype=float), cells["n1"].to_numpy(dtype=float)
    sum0, sum1 = cells[f"sum0_{outcome}"].to_numpy(dtype=float), cells[f"sum1_{outcome}"].to_numpy(dtype=float)
    sumsq = cells[f"sumsq0_{outcome}"].to_numpy(dtype=float) + cells[f"sumsq1_{outcome}"].to_numpy(dtype=float)
    n = n0 + n1
    within = sumsq - (sum0 + sum1) ** 2 / n  # each cell's sum of squares about its mean
    overall = sumsq.sum() - (sum0 + sum1).sum() ** 2 / n.sum()  # about the overall mean
    if within.sum() <= 1e-12 * overall:
        return None
    gap, weight = sum1 / n1 - sum0 / n0, n0 * n1 / n
    estimate = float((weight * gap).sum() / weight.sum())
    scores = pd.Series(weight * (gap - estimate)).groupby(cells[cluster].to_numpy()).sum().to_numpy()
    clusters, n_obs = len(scores), int(n.sum())
    factor = clusters / (clusters - 1) * (n_obs - 1) / (n_obs - 2)
    std_error = math.sqrt(factor * float((scores**2).sum())) / float(weight.sum())
    half_width = float(stats.t.ppf(0.5 + CONFIDENCE_LEVEL / 2, clusters - 1)) * std_error
    return {
        "estimate": estimate,
        "std_error": std_error,
        "ci_low": estimate - half_width,
        "ci_high": estimate + half_width,
        "n_obs": n_obs,
    }
