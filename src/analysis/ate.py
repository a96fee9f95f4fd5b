"""Average treatment effects under unconfoundedness: naive, regression, IPW, AIPW.

`estimate_ate` works on any table. Conventions follow Stata `teffects`:

- regression adjustment (`ra`): one linear outcome model per arm;
- `ipw`: normalized inverse-probability weights from a logit (or probit) propensity model;
- `aipw`: augmented IPW (doubly robust) for the ATE; for the ATT, whose AIPW form
  `teffects aipw` does not offer, the doubly robust IPW-regression-adjustment
  estimator (`teffects ipwra, atet`: weighted outcome models, control weights e/(1-e));
- standard errors from the stacked M-estimation sandwich (propensity, outcome and
  effect equations together, divisor n), as `teffects` reports them. Intervals are
  normal-based.

Propensity models are fitted with statsmodels (Logit / Probit, unpenalised); the
sandwich uses their analytic score and Hessian. Checked against Stata's published
teffects results on cattaneo2 (tests/golden/).
"""

from __future__ import annotations

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

    def as_row(self, study: str) -> dict:
        return {
            "study": study,
            "outcome": self.outcome,
            "estimand": self.estimand,
            "method": self.method,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n_obs": self.n_obs,
        }


def design_matrix(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Numeric and boolean columns as they are; categorical and text columns as dummies; plus a constant."""
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


def drop_redundant(matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop columns that are constant or a linear combination of earlier ones, as Stata omits them.

    Columns are taken in order: each is kept when some of its variation is left after the
    columns kept before it (a sequential Cholesky of X'X, so later columns are the ones
    dropped). Returns the kept columns and the names of the dropped ones.
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


def _design(df: pd.DataFrame, columns: list[str], model: str) -> tuple[np.ndarray, list[str]]:
    """The model's design matrix without redundant columns, and a note for each column left out."""
    matrix, dropped = drop_redundant(design_matrix(df, columns))
    notes = [
        f"{name} left out of the {model} model: constant, or determined by the other covariates" for name in dropped
    ]
    return matrix.to_numpy(), notes


def estimate_ate(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: list[str],
    method: str = "aipw",
    *,
    estimand: str = "ATE",
    propensity_covariates: list[str] | None = None,
    propensity_model: str = "logit",
    overlap_tolerance: float = OVERLAP_TOLERANCE,
    alpha: float = 0.05,
) -> Estimate:
    """Effect of binary `treatment` on `outcome`, adjusting for `covariates`.

    `covariates` enter the outcome models (and the propensity model unless
    `propensity_covariates` is given). Rows with a missing value in any column used
    raise an error rather than being dropped silently. Covariates that are constant or
    collinear are left out, with a note in `Estimate.notes` (as Stata omits them).
    A propensity within `overlap_tolerance` of 0 or 1 (perfect prediction) raises
    `OverlapError`, as `teffects` does with its `pstolerance()`.
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
    )[0]


def estimate_many(
    df: pd.DataFrame,
    outcomes: list[str],
    treatment: str,
    covariates: list[str],
    methods: Sequence[str] = METHODS,
    estimands: Sequence[str] = ("ATE",),
    *,
    propensity_covariates: list[str] | None = None,
    propensity_model: str = "logit",
    overlap_tolerance: float = OVERLAP_TOLERANCE,
    alpha: float = 0.05,
) -> list[Estimate]:
    """`estimate_ate` for several outcomes, methods and estimands, sharing the design
    matrices and one propensity fit (same numbers, much less work)."""
    for outcome in outcomes:
        for method in methods:
            for estimand in estimands:
                _check_arguments(df, outcome, treatment, method, estimand, propensity_model)
    ps_columns = propensity_covariates if propensity_covariates is not None else covariates
    used = list(dict.fromkeys([*outcomes, treatment, *covariates, *ps_columns]))
    absent = [c for c in used if c not in df.columns]
    if absent:
        raise KeyError(f"{', '.join(map(repr, absent))} is not a column of the table")
    missing = df[used].isna().any()
    if missing.any():
        raise ValueError(
            f"missing values in {', '.join(missing[missing].index)}; impute or filter them explicitly first"
        )
    t = _binary(df[treatment], treatment)
    uses_outcome_model = bool(set(methods) & {"regression", "aipw"})
    uses_propensity = bool(set(methods) & {"ipw", "aipw"})
    x_out, outcome_notes = _design(df, covariates, "outcome")
    notes = outcome_notes if uses_outcome_model else []
    propensity = None
    if uses_propensity:
        x_ps, ps_notes = _design(df, ps_columns, "propensity")
        notes += ps_notes
        propensity = _Propensity(t, x_ps, PROPENSITY_MODELS[propensity_model], overlap_tolerance)
    grams: dict = {}  # X'WX per weighting scheme, shared by every outcome
    z = stats.norm.ppf(1 - alpha / 2)
    out = []
    for outcome in outcomes:
        y = df[outcome].to_numpy(dtype=float)
        for estimand in estimands:
            for method in methods:
                if method == "naive":
                    effect, se, control_mean, diagnostics = _naive(y, t, estimand)
                else:
                    effect, se, control_mean, diagnostics = _adjusted(y, t, x_out, propensity, method, estimand, grams)
                out.append(
                    Estimate(
                        float(effect),
                        float(se),
                        float(effect - z * se),
                        float(effect + z * se),
                        int(len(y)),
                        method,
                        estimand,
                        outcome,
                        float(control_mean),
                        diagnostics,
                        [] if method == "naive" else list(notes),
                    )
                )
    return out


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


def _naive(y, t, estimand):
    """Difference in means with the unequal-variance (Welch) standard error."""
    treated, control = y[t == 1], y[t == 0]
    effect = treated.mean() - control.mean()
    se = np.sqrt(treated.var(ddof=1) / len(treated) + control.var(ddof=1) / len(control))
    return effect, se, control.mean(), {}


def _adjusted(y, t, x_out, propensity, method, estimand, grams):
    """Point estimate and sandwich SE from stacked estimating equations."""
    n = len(y)
    uses_ps = method != "regression"
    e = propensity.score if uses_ps else None
    pieces = _Moments(y, t, x_out, e, propensity if uses_ps else None, method, estimand, grams)
    blocks, jacobian = pieces.moments()
    mu0, mu1 = pieces.mu
    contrast = np.zeros(jacobian.shape[0])
    contrast[-2:] = (-1.0, 1.0)
    # Var(c'theta) = c' A^-1 B A^-T c / n with B = psi'psi / n; with v = A^-T c this is
    # mean((psi v)^2) / n, which avoids forming the p x p meat (n p instead of n p^2).
    v = np.linalg.solve(jacobian.T, contrast)
    influence, start = np.zeros(n), 0
    for matrix, scale in blocks:
        part = matrix @ v[start : start + matrix.shape[1]]
        influence += part if scale is None else scale * part
        start += matrix.shape[1]
    diagnostics = {}
    if e is not None:
        diagnostics = {
            "propensity_min": float(e.min()),
            "propensity_max": float(e.max()),
            "share_extreme_propensity": float(np.mean((e < 0.01) | (e > 0.99))),
        }
    return mu1 - mu0, float(np.sqrt(np.mean(influence**2) / n)), mu0, diagnostics


class _Moments:
    """Estimating equations psi_i(theta) = 0 and their mean Jacobian, for theta =
    (propensity coefficients, outcome coefficients of arm 0 and 1, mu0, mu1)."""

    def __init__(self, y, t, x, e, propensity, method, estimand, grams):
        self.y, self.t, self.x, self.e = y, t, x, e
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
            gram = (self.x * w[:, None]).T @ self.x
            if np.linalg.cond(gram) > 1e12:
                raise np.linalg.LinAlgError("collinear design")
            self.grams[key] = gram
        return self.grams[key]

    def _outcome_fits(self):
        fits = []
        for arm, w in enumerate(self._outcome_weights()):
            try:
                fits.append(np.linalg.solve(self._gram(arm, w), self.x.T @ (w * self.y)))
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
            fitted = [self.x @ b for b in self.beta]
            if self.estimand == "ATT":
                return tuple(float(np.sum(t * f) / t.sum()) for f in fitted)
            return tuple(float(f.mean()) for f in fitted)
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            return float(np.sum(w0 * y) / w0.sum()), float(np.sum(w1 * y) / w1.sum())
        m0, m1 = (self.x @ b for b in self.beta)
        return float(np.mean(m0 + (1 - t) * (y - m0) / (1 - e))), float(np.mean(m1 + t * (y - m1) / e))

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
            for w, b in zip(self._outcome_weights(), self.beta, strict=False):
                blocks.append((self.x, w * (self.y - self.x @ b)))
        blocks.append((self._mu_moments(), None))
        return blocks, self._jacobian(sum(m.shape[1] for m, _ in blocks))

    def _mu_moments(self):
        y, t, e = self.y, self.t, self.e
        mu0, mu1 = self.mu
        if self.method == "regression" or self.weighted_outcome:
            fitted = [self.x @ b for b in self.beta]
            scale = t if self.estimand == "ATT" else np.ones_like(t)
            return np.column_stack([scale * (fitted[0] - mu0), scale * (fitted[1] - mu1)])
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            return np.column_stack([w0 * (y - mu0), w1 * (y - mu1)])
        m0, m1 = (self.x @ b for b in self.beta)
        return np.column_stack([m0 + (1 - t) * (y - m0) / (1 - e) - mu0, m1 + t * (y - m1) / e - mu1])

    def _jacobian(self, p):
        """Mean derivative of psi; blocks in closed form (rows: equations, columns: parameters)."""
        n, x, y, t = self.n, self.x, self.y, self.t
        k_ps = len(self.ps_fit.params) if self.uses_ps else 0
        k = x.shape[1]
        jac = np.zeros((p, p))
        row = 0
        if self.uses_ps:
            jac[:k_ps, :k_ps] = self.ps_hessian / n
            de = self._propensity_gradient()  # n x k_ps
            row = k_ps
        beta_cols = []
        if self.uses_outcome:
            for arm, (w, b) in enumerate(zip(self._outcome_weights(), self.beta, strict=False)):
                cols = slice(row, row + k)
                jac[cols, cols] = -self._gram(arm, w) / n
                if self.weighted_outcome and arm == 0:  # weights e/(1-e) depend on the propensity
                    resid = (1 - t) * (y - x @ b) / (1 - self.e) ** 2
                    jac[cols, :k_ps] = x.T @ (de * resid[:, None]) / n
                beta_cols.append(cols)
                row += k
        mu_rows = (p - 2, p - 1)
        self._mu_jacobian(jac, mu_rows, beta_cols, k_ps, de if self.uses_ps else None)
        return jac

    def _propensity_gradient(self):
        return self.propensity.gradient

    def _mu_jacobian(self, jac, mu_rows, beta_cols, k_ps, de):
        n, x, y, t, e = self.n, self.x, self.y, self.t, self.e
        mu0, mu1 = self.mu
        r0, r1 = mu_rows
        if self.method == "regression" or self.weighted_outcome:
            scale = t if self.estimand == "ATT" else np.ones_like(t)
            for r, cols in zip(mu_rows, beta_cols, strict=False):
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
        m0, m1 = (x @ b for b in self.beta)
        jac[r0, beta_cols[0]] = (1 - (1 - t) / (1 - e)) @ x / n
        jac[r1, beta_cols[1]] = (1 - t / e) @ x / n
        jac[r0, :k_ps] = ((1 - t) * (y - m0) / (1 - e) ** 2) @ de / n
        jac[r1, :k_ps] = (-t * (y - m1) / e**2) @ de / n
        jac[r0, r0] = jac[r1, r1] = -1.0
