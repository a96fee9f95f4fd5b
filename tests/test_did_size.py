"""Size of the DiD pre-trend tests: under parallel trends they reject 5% of the time at the 5% level.

The panel is shaped like the cross-region study: 112 regions over 10 quarters, three adoption
cohorts and never-adopters, region and quarter effects, AR(1) noise (noisier in the latest
cohort), effects only from adoption on. The chi-squared Wald tests that were reported before
(`pretrend_test` on the event-time effects, moderndid's pre-test on every cell) reject 9-17% of
the time here; the small-sample tests must stay within 3.5%-6.5% over 1,000 draws (the Monte
Carlo standard error is 0.7 points).
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import did

DRAWS = 1000
FIRST_SEED = 20_000


def parallel_trends_panel(
    seed: int,
    units: int = 112,
    periods: int = 10,
    cohorts: tuple[int, ...] = (4, 6, 8),
    never: int = 40,
    rho: float = 0.5,
) -> pd.DataFrame:
    """A staggered panel with no effect before adoption (growing effects after it)."""
    rng = np.random.default_rng(seed)
    treated = units - never
    cohort = np.concatenate([np.zeros(never, int), np.repeat(cohorts, -(-treated // len(cohorts)))[:treated]])
    unit_effect = rng.normal(size=units) + 0.3 * (cohort > 0)  # adopters differ in levels, not in trends
    period_effect = 0.3 * rng.normal(size=periods).cumsum()
    noise = np.empty((units, periods))
    noise[:, 0] = rng.normal(size=units) / np.sqrt(1 - rho**2)
    for t in range(1, periods):
        noise[:, t] = rho * noise[:, t - 1] + rng.normal(size=units)
    noise *= np.where(cohort == max(cohorts), 1.5, 1.0)[:, None]
    t = np.arange(1, periods + 1)
    adopted = (cohort[:, None] > 0) & (t[None, :] >= cohort[:, None])
    effect = np.where(adopted, 0.5 + 0.1 * (t[None, :] - cohort[:, None]), 0.0)
    y = unit_effect[:, None] + period_effect[None, :] + noise + effect
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(units) + 1, periods),
            "t": np.tile(t, units),
            "g": np.repeat(cohort, periods),
            "y": y.ravel(),
        }
    )


def _pvalues(seed: int) -> tuple[float, float, float, float]:
    """pretrend_test and pretest_pvalue, then the chi-squared tests reported before, on one panel."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = did.att_gt(parallel_trends_panel(seed), "y", "t", "unit", "g", est_method="reg")
        dynamic = did.aggte(gt, "dynamic", cband=False)
    by = dynamic.by
    pre = (by["event_time"] < 0).to_numpy()
    influence = dynamic.influence[:, pre]
    n = influence.shape[0]
    estimates = by["estimate"].to_numpy()[pre]
    previous = estimates @ np.linalg.solve(influence.T @ influence / n**2, estimates)  # pretrend_test before
    moderndid_pretest = gt.raw.wald_pvalue if gt.raw.wald_pvalue is not None else np.nan
    return (
        did.pretrend_test(dynamic)["pvalue"],
        gt.pretest_pvalue,
        float(stats.chi2.sf(previous, pre.sum())),
        float(moderndid_pretest),
    )


@pytest.mark.slow
def test_pretrend_tests_reject_five_percent_of_the_time_under_parallel_trends():
    seeds = range(FIRST_SEED, FIRST_SEED + DRAWS)
    workers = min(2, os.cpu_count() or 1)
    # spawn, not fork: after earlier tests polars' thread pool exists, and a forked child deadlocks on it
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pvalues = np.array(list(pool.map(_pvalues, seeds, chunksize=25)))
    assert not np.isnan(pvalues[:, :2]).any()
    rates = (pvalues < 0.05).mean(axis=0)
    message = (
        f"rejection rates at 5% over {DRAWS} draws: pretrend_test {rates[0]:.3f}, "
        f"GroupTimeEffects.pretest_pvalue {rates[1]:.3f} (chi-squared tests as before: event time "
        f"{rates[2]:.3f}, moderndid's on all cells {rates[3]:.3f})"
    )
    assert 0.035 <= rates[0] <= 0.065, message
    assert 0.035 <= rates[1] <= 0.065, message
    assert rates[2] > 0.065 and rates[3] > 0.065, message  # what the small-sample tests fix


# --- the statistic itself, against textbook cases ---------------------------------------------------


def test_one_group_is_hotellings_test():
    rng = np.random.default_rng(3)
    draws = rng.normal(size=(25, 3)) + [0.3, 0.0, -0.2]
    n, q = draws.shape
    mean, covariance = draws.mean(axis=0), np.cov(draws, rowvar=False)
    t2 = n * mean @ np.linalg.solve(covariance, mean)
    expected = stats.f.sf(t2 * (n - q) / (q * (n - 1)), q, n - q)
    test = did.small_sample_wald(mean, draws - mean)  # the mean's influence function
    assert test["df"] == q and test["df_denom"] == pytest.approx(n - q)
    assert test["wald"] == pytest.approx(t2, rel=1e-10)
    assert test["pvalue"] == pytest.approx(expected, rel=1e-10)


def test_one_difference_of_two_means_is_welchs_test():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.4, 1.0, size=12), rng.normal(0.0, 3.0, size=30)
    n = len(a) + len(b)
    influence = np.concatenate([n * (a - a.mean()) / len(a), -n * (b - b.mean()) / len(b)])
    cohorts = np.repeat([1.0, 2.0], [len(a), len(b)])
    test = did.small_sample_wald(np.array([a.mean() - b.mean()]), influence, cohorts)
    welch = stats.ttest_ind(a, b, equal_var=False)
    assert test["pvalue"] == pytest.approx(welch.pvalue, rel=1e-10)
    assert test["statistic"] == pytest.approx(welch.statistic**2, rel=1e-10)


def test_clusters_replace_units():
    rng = np.random.default_rng(5)
    clusters = np.repeat(np.arange(20), 3)
    scores = rng.normal(size=(60, 2)) + rng.normal(size=(20, 2))[clusters]
    by_cluster = pd.DataFrame(scores).groupby(clusters).sum().to_numpy()
    test = did.small_sample_wald(np.array([0.1, 0.0]), scores, clusters=clusters)
    direct = did.small_sample_wald(np.array([0.1, 0.0]), by_cluster)
    # the same sums of scores; the covariance is scaled by the units (60), not the clusters (20)
    assert test["n_groups"] == 20 and test["df_denom"] == pytest.approx(20 - 2)
    assert test["wald"] == pytest.approx(direct["wald"] * (60 / 20) ** 2, rel=1e-10)


def test_the_panel_has_no_pre_trend_and_a_fast_draw_is_sane():
    pvalues = _pvalues(FIRST_SEED)
    assert all(0 <= p <= 1 for p in pvalues)
    df = parallel_trends_panel(FIRST_SEED)
    assert df["unit"].nunique() == 112 and df["t"].nunique() == 10
    assert sorted(df.drop_duplicates("unit")["g"].value_counts().to_dict().items()) == [
        (0, 40),
        (4, 24),
        (6, 24),
        (8, 24),
    ]
