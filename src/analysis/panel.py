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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WILD_BOOTSTRAP_REPS = 9999
WILD_BOOTSTRAP_SEED = 20220824


@dataclass
class PanelFit:
    """Coefficients with uncertainty; `fit` is the pyfixest model for anything further."""

    coefficients: pd.DataFrame  # term, estimate, std_error, ci_low, ci_high, pvalue
    n_obs: int
    vcov: str
    fit: object

    def term(self, name: str) -> pd.Series:
        return self.coefficients.set_index("term").loc[name]


def feols(df: pd.DataFrame, y: str, regressors: list[str], fixed_effects: list[str] = (),
          cluster: str | list[str] | None = None, vcov: str = "iid") -> PanelFit:
    """OLS of `y` on `regressors`, absorbing `fixed_effects`; clustered errors when `cluster` is given."""
    import pyfixest as pf

    missing = [c for c in [y, *regressors, *fixed_effects, *([cluster] if isinstance(cluster, str) else cluster or [])]
               if c not in df.columns]
    if missing:
        raise KeyError(f"not columns of the panel: {', '.join(missing)}")
    if not regressors:
        raise ValueError("give at least one regressor")
    data, cluster_names = _integer_clusters(df, cluster)
    formula = f"{y} ~ {' + '.join(regressors)}" + (f" | {' + '.join(fixed_effects)}" if fixed_effects else "")
    spec = {"CRV1": "+".join(cluster_names)} if cluster_names else vcov
    fit = pf.feols(formula, data=data, vcov=spec)
    ci = fit.confint()
    table = pd.DataFrame({
        "term": fit.coef().index, "estimate": fit.coef().to_numpy(), "std_error": fit.se().to_numpy(),
        "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy(), "pvalue": fit.pvalue().to_numpy(),
    })
    label = f"CRV1 by {' and '.join([cluster] if isinstance(cluster, str) else cluster)}" if cluster_names else vcov
    return PanelFit(table, int(fit._N), label, fit)


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


def wild_cluster_bootstrap(result: PanelFit, term: str, reps: int = WILD_BOOTSTRAP_REPS, seed: int = WILD_BOOTSTRAP_SEED) -> dict:
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
    return {"F": statistic, "df": (len(terms), int(df_denominator)), "pvalue": float(stats.f.sf(statistic, len(terms), df_denominator))}
