"""Diagnostics for adjusted comparisons: overlap, covariate balance, sensitivity.

- Overlap: propensity scores by arm, and the share of units a trimming rule would drop.
- Balance: standardized mean differences (difference in means over the pooled
  unweighted standard deviation) before and after inverse-probability weighting;
  |SMD| < 0.1 is the usual bar.
- Sensitivity: the E-value (VanderWeele & Ding 2017), the minimum strength of
  association, on the risk-ratio scale, that an unmeasured confounder would need
  with both treatment and outcome to explain the estimate away. Continuous
  outcomes use the approximation RR = exp(0.91 d), d the standardized effect.
  Not defined (NaN) where there is no ratio: a baseline rate of zero, a treated rate
  of zero or below, an outcome that does not vary.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

from .ate import PROPENSITY_MODELS, Estimate, OverlapError, design_matrix, drop_redundant
from .columns import combinations

BALANCE_BAR = 0.1


def propensity_scores(
    df: pd.DataFrame, treatment: str, covariates: list[str] | str, model: str = "logit"
) -> np.ndarray:
    """Fitted propensities, from the model the estimators fit (`ate.estimate_many`).

    Covariate columns that are constant or determined by the others are left out, as the
    estimators leave them out. Raises `ate.OverlapError` when the model cannot be fitted
    because the covariates predict treatment perfectly.
    """
    x = drop_redundant(design_matrix(df, covariates))[0].to_numpy()
    t = df[treatment].astype(float).to_numpy()
    with warnings.catch_warnings():
        # Separation shows in the scores themselves (at 0 or 1), which is what the overlap plot is for.
        for category in (PerfectSeparationWarning, ConvergenceWarning, RuntimeWarning):
            warnings.simplefilter("ignore", category)
        try:
            return PROPENSITY_MODELS[model](t, x).fit(disp=0, method="newton", maxiter=100).predict()
        except (np.linalg.LinAlgError, PerfectSeparationError) as err:
            raise OverlapError(
                "the propensity model cannot be fitted: the covariates predict treatment perfectly (no overlap)"
            ) from err


def overlap_summary(
    scores: np.ndarray,
    treated: np.ndarray,
    bounds: tuple[float, float] = (0.05, 0.95),
    weights: np.ndarray | None = None,
) -> dict:
    """Range of scores by arm and the share of units outside `bounds` (what trimming would drop).

    `weights`: the units each score stands for (one each when not given), as for cells of units."""
    treated = np.asarray(treated, dtype=bool)
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    outside = (scores < bounds[0]) | (scores > bounds[1])
    return {
        "treated_min": float(scores[treated].min()),
        "treated_max": float(scores[treated].max()),
        "control_min": float(scores[~treated].min()),
        "control_max": float(scores[~treated].max()),
        "trim_bounds": bounds,
        "share_trimmed": float(weights[outside].sum() / weights.sum()),
        "share_trimmed_treated": float(weights[outside & treated].sum() / weights[treated].sum()),
    }


def ipw_weights(scores: np.ndarray, treated: np.ndarray, estimand: str = "ATE") -> np.ndarray:
    t = np.asarray(treated, dtype=float)
    if estimand == "ATT":
        return t + (1 - t) * scores / (1 - scores)
    return t / scores + (1 - t) / (1 - scores)


def balance(
    df: pd.DataFrame,
    treatment: str,
    covariates: list[str],
    scores: np.ndarray,
    estimand: str = "ATE",
    counts: np.ndarray | None = None,
) -> pd.DataFrame:
    """Standardized mean differences of each covariate (dummy) before and after weighting.

    Worked out on the distinct covariate values per arm (their counts and summed weights), not
    row by row: the same numbers, without a dummy matrix as long as the data. `counts`: the
    units each row stands for, when the rows are cells of units (one each when not given).
    """
    t = df[treatment].astype(bool).to_numpy()
    codes, cells = combinations([*(df[c] for c in covariates), pd.Series(t, index=df.index, name="_treated")])
    units = None if counts is None else np.asarray(counts, dtype=float)
    n = np.bincount(codes, weights=units, minlength=len(cells)).astype(float)
    weights = ipw_weights(scores, t, estimand) * (1.0 if units is None else units)
    w = np.bincount(codes, weights=weights, minlength=len(cells))
    x = design_matrix(cells, covariates).drop(columns="const")
    treated = cells["_treated"].to_numpy(dtype=bool)
    rows = []
    for name in x.columns:
        v = x[name].to_numpy(dtype=float)
        (mean_t, var_t), (mean_c, var_c) = (_moments(v[arm], n[arm]) for arm in (treated, ~treated))
        pooled_sd = np.sqrt((var_t + var_c) / 2)
        if pooled_sd == 0:
            continue
        after = np.average(v[treated], weights=w[treated]) - np.average(v[~treated], weights=w[~treated])
        rows.append({"covariate": name, "smd_before": (mean_t - mean_c) / pooled_sd, "smd_after": after / pooled_sd})
    return pd.DataFrame(rows)


def _moments(values: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """Mean and variance (divided by the count, as numpy's) of values that occur `counts` times each."""
    mean = np.average(values, weights=counts)
    return mean, np.average((values - mean) ** 2, weights=counts)


def e_value(estimate: Estimate, outcome_sd: float | None = None) -> dict:
    """E-values of the point estimate and of the confidence limit closest to no effect.

    Binary outcomes (give no `outcome_sd`): risk ratio from the potential-outcome
    means. Continuous outcomes: pass the outcome's standard deviation. Values are NaN
    where the ratio is not defined (a baseline mean of zero or below, a treated mean of
    zero or below, a standard deviation of zero).
    """
    base = estimate.control_mean

    def ratio(effect: float) -> float:
        if outcome_sd is None:
            return (base + effect) / base if base > 0 else float("nan")
        return float(np.exp(0.91 * effect / outcome_sd)) if outcome_sd > 0 else float("nan")

    point = ratio(estimate.estimate)
    crosses_null = estimate.ci_low <= 0 <= estimate.ci_high
    near_limit = estimate.ci_low if estimate.estimate > 0 else estimate.ci_high
    if not (np.isfinite(point) and point > 0):
        return {"risk_ratio": float("nan"), "e_value": float("nan"), "e_value_ci": float("nan")}
    return {
        "risk_ratio": point,
        "e_value": _e_value(point),
        "e_value_ci": 1.0 if crosses_null else _e_value(ratio(near_limit)),
    }


def _e_value(rr: float) -> float:
    """E-value of a risk ratio; NaN when the ratio is not a positive number."""
    if not (np.isfinite(rr) and rr > 0):
        return float("nan")
    rr = rr if rr >= 1 else 1 / rr
    return float(rr + np.sqrt(rr * (rr - 1)))
