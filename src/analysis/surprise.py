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
            "campaign_active": _campaign_in_force(dataset, inspections["region_id"], quarter),
            "quarter": quarter.astype(str),
        }
    )
    if last_period:
        table = table[table["quarter"] <= last_period]
    complete = table[COVARIATES].notna().all(axis=1)
    table = table[complete].reset_index(drop=True)
    table["risk_level"] = table["risk_level"].astype(int).astype(str)  # grades as categories: no linearity assumed
    table["risk_by_industry"] = table["risk_level"] + ":" + table["industry"]
    table["campaign_by_risk"] = table["campaign_active"].astype(int).astype(str) + ":" + table["risk_level"]
    return table, int((~complete).sum())


def _campaign_in_force(dataset: Dataset, region_id: pd.Series, quarter: pd.PeriodIndex) -> np.ndarray:
    programs = dataset.programs
    rows = programs[programs["program"].astype(str) == "surprise_campaign"]
    start = dict(zip(rows["region_id"].astype(str), pd.PeriodIndex(rows["start_period"]).asi8))
    ordinal = region_id.astype(str).map(start).fillna(np.iinfo(np.int64).max).to_numpy(dtype=np.float64)
    return (quarter.asi8 >= ordinal).astype(float)


def estimates(table: pd.DataFrame, outcomes=OUTCOMES, methods=METHODS, estimands=("ATE",)) -> list[Estimate]:
    return estimate_many(table, list(outcomes), TREATMENT, OUTCOME_COVARIATES, list(methods), list(estimands),
                         propensity_covariates=COVARIATES)


def estimates_frame(results: list[Estimate]) -> pd.DataFrame:
    return pd.DataFrame([r.as_row(STUDY) for r in results])
