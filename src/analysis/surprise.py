"""Study 1: unannounced ("surprise") inspections and case outcomes.

Design: inspection-level comparison of surprise and announced inspections,
adjusting for what drives where inspectors go unannounced (risk grade, industry,
enterprise size, a surprise campaign in force). Identification rests on no
unmeasured confounding given these, and on overlap; `sensitivity` says how strong
an unmeasured confounder would have to be to explain an estimate away.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ate import METHODS, Estimate, estimate_many
from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Withheld, combine, suppress
from .metrics import quarters_of

STUDY = "surprise"
OUTCOMES = ("hazards_found", "major_hazard_found", "case_filed", "penalty_amount")
COVARIATES = ["risk_level", "industry", "enterprise_size", "campaign_active"]  # propensity model
# Outcome models get interactions (risk x industry, campaign x risk): outcomes are far
# from additive in these, and a misspecified linear outcome model biases regression adjustment.
OUTCOME_COVARIATES = ["risk_by_industry", "enterprise_size", "campaign_by_risk"]
TREATMENT = "surprise"


def study_table(dataset: Dataset, last_period: str | None = None) -> tuple[pd.DataFrame, int]:
    """Inspections with the study's columns, and how many were left out for missing covariates.

    Inspections after `last_period` (a quarter) are not used, so a report for a
    quarter uses only the data up to it.
    """
    inspections = dataset.inspections
    quarter = quarters_of(inspections["inspection_date"])
    table = pd.DataFrame(
        {
            "surprise": inspections["surprise"].to_numpy(),
            "hazards_found": inspections["hazards_found"].to_numpy(dtype=float),
            "major_hazard_found": (inspections["major_hazards"] > 0).to_numpy(dtype=float),
            "case_filed": inspections["case_filed"].to_numpy(dtype=float),
            "penalty_amount": inspections["penalty_amount"].to_numpy(),
            "risk_level": inspections["risk_level"].astype("float").to_numpy(),
            "industry": inspections["industry"].astype("str").to_numpy(),
            "enterprise_size": inspections["enterprise_size"].astype("str").where(inspections["enterprise_size"].notna()).to_numpy(),
            "campaign_active": dataset.in_force("surprise_campaign", inspections["region_id"], quarter.astype(str)).astype(float),
            "quarter": quarter.astype(str),
        }
    )
    if last_period:
        table = table[table["quarter"] <= last_period]
    complete = table[COVARIATES].notna().all(axis=1)
    table = table[complete].reset_index(drop=True)
    table["risk_level"] = table["risk_level"].astype(int).astype(str)  # grades as categories: no linearity assumed
    table["risk_by_industry"] = _pool_sparse(table, table["risk_level"] + ":" + table["industry"], table["risk_level"] + ":*")
    # Campaign effect allowed to differ by risk grade; "none" outside campaigns (no overlap with the
    # risk-by-industry cells, which already carry the risk main effects).
    campaign_cells = ("campaign:" + table["risk_level"]).where(table["campaign_active"] == 1, "none")
    table["campaign_by_risk"] = _pool_sparse(table, campaign_cells, pd.Series("campaign:*", index=table.index))
    return table, int((~complete).sum())


MIN_PER_ARM = 5


def _pool_sparse(table: pd.DataFrame, cells: pd.Series, coarser: pd.Series) -> pd.Series:
    """Cells with fewer than MIN_PER_ARM inspections in either arm fall back to a coarser label,
    so every outcome-model cell can be fitted in both arms."""
    counts = pd.crosstab(cells, table[TREATMENT])
    sparse = counts.index[(counts < MIN_PER_ARM).any(axis=1)]
    return cells.where(~cells.isin(sparse), coarser)


def estimates(table: pd.DataFrame, outcomes=OUTCOMES, methods=METHODS, estimands=("ATE",)) -> list[Estimate]:
    return estimate_many(table, list(outcomes), TREATMENT, OUTCOME_COVARIATES, list(methods), list(estimands),
                         propensity_covariates=COVARIATES)


def estimates_frame(results: list[Estimate]) -> pd.DataFrame:
    return pd.DataFrame([r.as_row(STUDY) for r in results])


def heterogeneity(table: pd.DataFrame, outcome: str, by: str, method: str = "aipw", min_group: int = 500) -> pd.DataFrame:
    """The effect within each level of `by` (groups smaller than `min_group` are reported, not estimated)."""
    rows = []
    for level, group in table.groupby(by, observed=True):
        row = {by: level, "n_obs": len(group), "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "note": ""}
        if len(group) < min_group or group[TREATMENT].nunique() < 2:
            row["note"] = "too few inspections to estimate"
        else:
            try:
                est = estimate_many(group, [outcome], TREATMENT, OUTCOME_COVARIATES, [method], propensity_covariates=COVARIATES)[0]
                row.update(estimate=est.estimate, ci_low=est.ci_low, ci_high=est.ci_high)
            except ValueError as err:
                row["note"] = str(err)
        rows.append(row)
    return pd.DataFrame(rows)


def subgroup_table(table: pd.DataFrame, outcome: str, by: str, min_cell_size: int = DEFAULT_MIN_CELL_SIZE,
                   method: str = "aipw", min_group: int = 500) -> tuple[pd.DataFrame, Withheld]:
    """`heterogeneity` as a reviewer page may show it (disclosure control).

    A subgroup's inspection count is withheld when below `min_cell_size`, and more counts
    so that the study's published total does not reveal it; an estimate is withheld when
    either arm (unannounced or announced) has fewer than `min_cell_size` inspections,
    since it then leans on those few inspections' outcomes.
    """
    frame = heterogeneity(table, outcome, by, method=method, min_group=min_group)
    arms = pd.crosstab(table[by], table[TREATMENT]).reindex(columns=[False, True], fill_value=0).min(axis=1)
    frame["smallest_arm"] = frame[by].map(arms).fillna(0)
    counts, withheld_counts = suppress(frame, "n_obs", [], min_cell_size, group_totals=(), where=f"effect by {by}: inspections")
    shown, withheld_estimates = suppress(counts, "smallest_arm", ["estimate", "ci_low", "ci_high"], min_cell_size,
                                         withhold_count=False, where=f"effect by {by}: estimates")
    return shown.drop(columns="smallest_arm"), combine(f"effect on {outcome} by {by}", withheld_counts, withheld_estimates)


def sensitivity(table: pd.DataFrame, results: list[Estimate], method: str = "aipw") -> pd.DataFrame:
    """E-values for each outcome's estimate (binary outcomes on the risk-ratio scale)."""
    from .diagnostics import e_value

    rows = []
    for r in results:
        if r.method != method or r.estimand != "ATE":
            continue
        binary = set(np.unique(table[r.outcome])) <= {0.0, 1.0}
        values = e_value(r, None if binary else float(table[r.outcome].std()))
        rows.append({"outcome": r.outcome, "estimate": r.estimate, **values})
    return pd.DataFrame(rows)


def _points(x: float) -> str:
    return f"{100 * x:+.1f} percentage points"


OUTCOME_WORDS = {
    "hazards_found": ("number of hidden dangers found per inspection", "{:+.2f}".format),
    "major_hazard_found": ("chance of finding a major hazard", _points),
    "case_filed": ("chance that a penalty case is filed", _points),
    "penalty_amount": ("fines per inspection", lambda x: f"{x:+,.0f} yuan"),
}


def reading(results: list[Estimate], method: str = "aipw") -> list[str]:
    """One sentence per outcome: adjusted effect, interval, and how much the naive gap overstated it."""
    by_key = {(r.outcome, r.method, r.estimand): r for r in results}
    sentences = []
    for outcome, (words, fmt) in OUTCOME_WORDS.items():
        adjusted, naive = by_key.get((outcome, method, "ATE")), by_key.get((outcome, "naive", "ATE"))
        if adjusted is None:
            continue
        text = (f"Unannounced inspections change the {words} by {fmt(adjusted.estimate)} "
                f"(95% CI {fmt(adjusted.ci_low)} to {fmt(adjusted.ci_high)}) once risk grade, industry, "
                f"size and campaigns are accounted for")
        if naive is not None:
            text += f"; the raw comparison says {fmt(naive.estimate)}"
        sentences.append(text + ".")
    return sentences
