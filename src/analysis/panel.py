"""Fixed-effects panel regressions (pyfixest), with fixest / Stata conventions.

- Any number of regressors and fixed effects: `feols(df, "y", ["x1", "x2"], ["region", "quarter"])`.
- Standard errors: "iid", "hetero" (HC1), or clustered (CRV1) by one or two variables.
  Small-sample factor (fixest defaults, as pyfixest implements them):
  (N - 1) / (N - K) with K the number of estimated slopes (fixed effects that are
  absorbed do not count), times G / (G - 1) for G clusters; with two-way clustering
  every term uses min(G). On Grunfeld's data this reproduces Stata's
  `xtreg, fe vce(cluster company)` (tests/golden/).
- Wild cluster bootstrap (restricted WCR11, Rademacher weights) for few clusters,
  via pyfixest's `wildboottest`.
- Inputs are checked before they reach pyfixest's compiled demeaning, which aborts the
  process on an empty sample: a design the data cannot support is a `DesignError` (did's,
  one error for every estimator) whose message is a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .did import DesignError

WILD_BOOTSTRAP_REPS = 9999
WILD_BOOTSTRAP_SEED = 20220824


@dataclass
class PanelFit:
    """Coefficients with uncertainty; `fit` is the pyfixest model for anything further."""

    coefficients: pd.DataFrame  # term, estimate, std_error, ci_low, ci_high, pvalue
    n_obs: int
    vcov: str
    fit: Any  # the pyfixest model (untyped)
    n_clusters: int | None = None  # clusters in the sample used (the fewest, for two-way clustering)

    def term(self, name: str) -> pd.Series:
        return self.coefficients.set_index("term").loc[name]


def feols(
    df: pd.DataFrame,
    y: str,
    regressors: list[str],
    fixed_effects: Sequence[str] = (),
    cluster: str | list[str] | None = None,
    vcov: str = "iid",
) -> PanelFit:
    """OLS of `y` on `regressors`, absorbing `fixed_effects`; clustered errors when `cluster` is given."""
    import pyfixest as pf

    missing = [
        c
        for c in [y, *regressors, *fixed_effects, *([cluster] if isinstance(cluster, str) else cluster or [])]
        if c not in df.columns
    ]
    if missing:
        raise KeyError(f"not columns of the panel: {', '.join(missing)}")
    if not regressors:
        raise ValueError("give at least one regressor")
    sample = estimable_sample(df, y, regressors, fixed_effects, cluster)
    data, cluster_names = _integer_clusters(df, cluster)
    formula = f"{y} ~ {' + '.join(regressors)}" + (f" | {' + '.join(fixed_effects)}" if fixed_effects else "")
    spec = {"CRV1": "+".join(cluster_names)} if cluster_names else vcov
    fit = pf.feols(formula, data=data, vcov=spec)
    dropped = [r for r in regressors if r not in fit.coef().index]
    if dropped:
        raise DesignError(
            f"{', '.join(dropped)} cannot be estimated: collinear with the fixed effects or the other "
            "regressors in this sample"
        )
    ci = fit.confint()
    table = pd.DataFrame(
        {
            "term": fit.coef().index,
            "estimate": fit.coef().to_numpy(),
            "std_error": fit.se().to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
            "pvalue": fit.pvalue().to_numpy(),
        }
    )
    clusters = [cluster] if isinstance(cluster, str) else list(cluster or [])
    label = f"CRV1 by {' and '.join(clusters)}" if cluster_names else vcov
    n_clusters = min(sample[c].nunique() for c in clusters) if clusters else None
    return PanelFit(table, int(fit._N), label, fit, n_clusters)


def estimable_sample(df: pd.DataFrame, y: str, regressors: list[str], fixed_effects=(), cluster=None) -> pd.DataFrame:
    """The rows a fixed-effects regression can use: complete on every variable, with rows alone in a
    fixed-effect group removed until none is (fixest's singleton rule, as pyfixest applies it).

    Raises DesignError, with a sentence, when no row is complete, when the fixed effects leave no
    row, when the outcome or a regressor does not vary (overall, or within every group of one
    fixed effect), when fewer than two clusters remain, or when no degree of freedom is left
    for the errors.
    """
    clusters = [cluster] if isinstance(cluster, str) else list(cluster or [])
    columns = list(dict.fromkeys([y, *regressors, *fixed_effects, *clusters]))
    if df.empty:
        raise DesignError("the table has no rows, so the regression has no data")
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
    for regressor in regressors:
        if data[regressor].nunique() < 2:
            raise DesignError(
                f"{regressor} takes a single value in the {len(data):,} usable rows, so its coefficient "
                "cannot be estimated"
            )
        absorbed = [fe for fe in fixed_effects if data.groupby(fe, observed=True)[regressor].nunique().max() < 2]
        if absorbed:
            raise DesignError(
                f"{regressor} never changes within a {absorbed[0]}, so the {absorbed[0]} fixed effects "
                "absorb it and its coefficient cannot be estimated"
            )
    for name in clusters:
        if data[name].nunique() < 2:
            raise DesignError(
                f"the errors are clustered by {name}, but the usable rows come from a single {name}; "
                "clustered errors need at least two"
            )
    levels = sum(data[fe].nunique() for fe in fixed_effects) - max(len(fixed_effects) - 1, 0)
    if len(data) - levels - len(regressors) < 1:
        raise DesignError(
            f"only {len(data):,} usable rows for {len(regressors)} coefficient(s) and {levels} "
            "fixed-effect levels: nothing is left to estimate the errors"
        )
    return data


def _integer_clusters(df: pd.DataFrame, cluster) -> tuple[pd.DataFrame, list[str]]:
    """Cluster ids as integers (the bootstrap needs them numeric); names of the new columns.

    A missing cluster id is an error: coded as one more cluster it would pool unrelated
    rows and change every standard error.
    """
    if cluster is None:
        return df, []
    names = [cluster] if isinstance(cluster, str) else list(cluster)
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


def wild_cluster_bootstrap(
    result: PanelFit, term: str, reps: int = WILD_BOOTSTRAP_REPS, seed: int = WILD_BOOTSTRAP_SEED
) -> dict:
    """Wild cluster bootstrap p-value for H0: coefficient of `term` = 0 (one-way clustered fits only)."""
    if not result.vcov.startswith("CRV1") or " and " in result.vcov:
        raise ValueError("the wild cluster bootstrap needs a fit clustered by one variable")
    out = result.fit.wildboottest(param=term, reps=reps, seed=seed)
    return {"t": float(out["t value"]), "pvalue": float(out["Pr(>|t|)"]), "reps": reps}


def joint_test(result: PanelFit, terms: list[str]) -> dict:
    """Wald (F) test that all `terms` are zero, with the fit's own covariance."""
    names = list(result.coefficients["term"])
    restriction = np.zeros((len(terms), len(names)))
    for row, term in enumerate(terms):
        restriction[row, names.index(term)] = 1.0
    beta = result.fit.coef().to_numpy()
    cov = result.fit._vcov
    diff = restriction @ beta
    statistic = float(diff @ np.linalg.solve(restriction @ cov @ restriction.T, diff)) / len(terms)
    from scipy import stats

    df_denominator = result.fit._df_t if hasattr(result.fit, "_df_t") else result.n_obs - len(names)
    return {
        "F": statistic,
        "df": (len(terms), int(df_denominator)),
        "pvalue": float(stats.f.sf(statistic, len(terms), df_denominator)),
    }
