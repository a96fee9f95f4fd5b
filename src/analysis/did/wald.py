"""The small-sample Wald test behind the pre-trend tests (see `pretrend_test`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _no_test(n_groups: int, df: int = 0) -> dict:
    nan = float("nan")
    return {
        "statistic": nan,
        "df": df,
        "df_denom": nan,
        "pvalue": nan,
        "wald": nan,
        "chi2_pvalue": nan,
        "n_groups": int(n_groups),
    }


def small_sample_wald(
    estimates: np.ndarray,
    influence: np.ndarray,
    cohorts: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
) -> dict:
    """Wald test that `estimates` are all zero, from their influence functions, with an F reference.

    Parameters
    ----------
    estimates : numpy.ndarray
        The q estimates tested.
    influence : numpy.ndarray
        Their influence functions, n units x q, scaled as moderndid's (the covariance of the
        estimates is ``influence.T @ influence / n**2``).
    cohorts : numpy.ndarray, optional
        The cohort (or any group within which units are alike) of each unit; the covariance
        is estimated group by group. None: one group.
    clusters : numpy.ndarray, optional
        A cluster of each unit: influence functions are summed within clusters first.

    Returns
    -------
    dict
        statistic, df, df_denom, pvalue, wald, chi2_pvalue, n_groups (see `pretrend_test`).

    Examples
    --------
    One group of n units: Hotelling's T² test, F(q, n - q).

    >>> rng = np.random.default_rng(0)
    >>> draws = rng.normal(size=(30, 2))
    >>> test = small_sample_wald(draws.mean(0), draws - draws.mean(0))
    >>> test["df"], test["df_denom"]
    (2, 28.0)
    """
    estimates = np.asarray(estimates, dtype=float)
    scores = np.asarray(influence, dtype=float)
    scores = scores[:, None] if scores.ndim == 1 else scores
    n = scores.shape[0]
    groups = np.zeros(n) if cohorts is None else np.asarray(cohorts, dtype=float)
    if clusters is not None:
        labels, index = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
        summed = np.zeros((len(labels), scores.shape[1]))
        np.add.at(summed, index, scores)
        nested = pd.Series(groups).groupby(index).nunique().eq(1).all()
        groups = pd.Series(groups).groupby(index).first().to_numpy() if nested else np.zeros(len(labels))
        scores = summed
    if not np.isfinite(scores).all() or not np.isfinite(estimates).all():
        return _no_test(scores.shape[0], len(estimates))
    parts, sizes = [], []
    for group in np.unique(groups):
        rows = scores[groups == group]
        size = len(rows)
        mean = rows.mean(axis=0)
        centred = rows - mean
        factor = size / (size - 1) if size > 1 else 1.0
        parts.append((factor * centred.T @ centred + size * np.outer(mean, mean)) / n**2)
        sizes.append(size)
    covariance = sum(parts, np.zeros((len(estimates), len(estimates))))
    values, vectors = np.linalg.eigh(covariance)
    kept = values > max(values.max(), 0) * 1e-10
    q = int(kept.sum())
    nan = float("nan")
    if q == 0:
        return _no_test(scores.shape[0])
    inverse = (vectors[:, kept] / values[kept]) @ vectors[:, kept].T
    wald = float(estimates @ inverse @ estimates)
    spread = 0.0
    for part, size in zip(parts, sizes, strict=True):
        if size > 1:
            share = part @ inverse
            spread += (np.trace(share @ share) + np.trace(share) ** 2) / (size - 1)
    nu = q * (q + 1) / spread if spread > 0 else nan
    df_denom = nu - q + 1
    test = {
        "statistic": nan,
        "df": q,
        "df_denom": float(df_denom),
        "pvalue": nan,
        "wald": wald,
        "chi2_pvalue": float(stats.chi2.sf(wald, q)),
        "n_groups": int(scores.shape[0]),
    }
    if np.isfinite(df_denom) and df_denom > 0:
        statistic = wald * df_denom / (nu * q)
        test.update(statistic=float(statistic), pvalue=float(stats.f.sf(statistic, q, df_denom)))
    return test
