"""Normalisation and weights: min-max or z-score within peer groups; entropy, CRITIC, first
principal component, equal and expert weights.

The weight functions take a decision matrix (regions in rows, indicators in columns) and return
weights that sum to 1. `entropy_weights` and `critic_weights` follow pymcdm 1.4 (a test holds them
to it at 1e-9), except that in the entropy a share of 0 contributes 0 (the limit of p log p),
where pymcdm sets the whole indicator's entropy to 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..errors import ParameterError
from .tree import NORMALISATIONS, Tree

METHODS = ("entropy", "critic", "pca", "equal", "expert")
METHOD_WORDS = {
    "entropy": "entropy",
    "critic": "CRITIC",
    "pca": "first principal component",
    "equal": "equal",
    "expert": "expert",
}


def normalise(values: pd.DataFrame, signs: pd.Series, groups: pd.Series, method: str = "minmax") -> pd.DataFrame:
    """Each indicator on a 0-1 scale within each peer group, oriented so that higher is better.

    "minmax": (x - min) / (max - min) within the group (lower-is-better indicators reversed).
    "zscore": the normal distribution function of the z-score within the group (population
    standard deviation), a value in (0, 1). An indicator equal across a group gives every region
    of the group 0.5. Missing values stay missing.
    """
    if method not in NORMALISATIONS:
        raise ParameterError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {method!r}")
    oriented = values * signs.reindex(values.columns).to_numpy()
    by = oriented.groupby(groups.reindex(values.index).to_numpy())
    if method == "minmax":
        centre, spread = by.transform("min"), by.transform("max") - by.transform("min")
        scaled = (oriented - centre) / spread.where(spread > 0)
    else:
        centre, spread = by.transform("mean"), by.transform("std", ddof=0)
        scaled = pd.DataFrame(
            norm.cdf((oriented - centre) / spread.where(spread > 0)), index=values.index, columns=values.columns
        )
    return scaled.mask(spread.le(0), 0.5).where(values.notna())


def fill_with_peer_median(normalised: pd.DataFrame, groups: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Missing values set to the peer group's median of the indicator (0.5 when the group has none).

    A missing or withheld value then neither raises nor lowers a region against its peers, and
    nothing withheld enters a score. Returns (filled values, mask of the filled cells).
    """
    medians = normalised.groupby(groups.reindex(normalised.index).to_numpy()).transform("median")
    filled = normalised.fillna(medians).fillna(0.5)
    return filled, normalised.isna()


def entropy_weights(matrix) -> np.ndarray:
    """Entropy weights: 1 - entropy of each column's shares, scaled to sum to 1.

    `matrix` must be non-negative with at least two rows; shares p = x / column sum, entropy
    -sum(p log p) / log(rows) with 0 log 0 = 0. A column that is all zeros carries no
    information (weight 0). When no column carries any, the weights are equal.
    """
    x = _matrix(matrix)
    if (x < 0).any() or x.shape[0] < 2:
        raise ValueError("entropy weights need a non-negative matrix with at least two rows")
    totals = x.sum(axis=0)
    shares = np.divide(x, totals, out=np.zeros_like(x), where=totals > 0)
    logs = np.log(shares, out=np.zeros_like(x), where=shares > 0)
    entropy = np.where(totals > 0, -(shares * logs).sum(axis=0) / np.log(x.shape[0]), 1.0)
    return _scaled(1.0 - entropy)


def critic_weights(matrix) -> np.ndarray:
    """CRITIC weights (Diakoulaki et al. 1995): each column min-max scaled, then its standard
    deviation (n - 1) times the sum of (1 - correlation) with every column, scaled to sum to 1.
    A constant column scales to ones (as pymcdm) and counts as uncorrelated with the others."""
    x = _matrix(matrix)
    low, high = x.min(axis=0), x.max(axis=0)
    spread = high - low
    scaled = np.where(spread > 0, (x - low) / np.where(spread > 0, spread, 1.0), 1.0)
    sd = scaled.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num(np.corrcoef(scaled, rowvar=False).reshape(x.shape[1], x.shape[1]), nan=0.0)
    return _scaled(sd * (1.0 - correlation).sum(axis=0))


def pca_weights(matrix) -> np.ndarray:
    """Weights from the first principal component of the columns' correlation matrix: the squared
    loadings of its unit eigenvector (which sum to 1), as in the OECD handbook on composite indicators."""
    x = _matrix(matrix)
    if x.shape[1] == 1:
        return np.ones(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num(np.corrcoef(x, rowvar=False), nan=0.0)
    np.fill_diagonal(correlation, 1.0)
    _, vectors = np.linalg.eigh(correlation)
    return _scaled(vectors[:, -1] ** 2)


def method_weights(method: str, normalised: pd.DataFrame, tree: Tree) -> pd.Series:
    """Each leaf's weight under `method` (sums to 1), indexed by the leaves of `normalised`'s columns.

    Data-driven methods (entropy, CRITIC, PCA) weigh the leaves directly from the normalised
    matrix of the quarter; equal and expert weights come down the tree (`Tree.effective_weights`).
    """
    if method not in METHODS:
        raise ParameterError(f"weights must be one of {', '.join(METHODS)}, got {method!r}")
    if method in ("equal", "expert"):
        return tree.effective_weights(method).reindex(normalised.columns)
    compute = {"entropy": entropy_weights, "critic": critic_weights, "pca": pca_weights}[method]
    return pd.Series(compute(normalised.to_numpy(dtype=float)), index=normalised.columns)


def _matrix(matrix) -> np.ndarray:
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError("a decision matrix is a two-dimensional array of finite numbers")
    return x


def _scaled(merit: np.ndarray) -> np.ndarray:
    merit = np.clip(np.asarray(merit, dtype=float), 0.0, None)
    total = merit.sum()
    return merit / total if total > 0 else np.full(merit.shape, 1.0 / merit.size)
