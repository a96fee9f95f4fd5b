"""Calibrate the surprise-campaign regime to the notice's Jiangsu figures.

The notice reports Jiangsu's 2022H1 outcomes as ratios to 2021H1. Sampling noise
alone would put a simulated ratio several percent off, so the campaign's regime
parameters (`CampaignShifts`) are solved on the simulated draws themselves
(common random numbers): given the realized 2021H1 figures and the fixed random
draws of 2022H1, each shift is chosen so that the realized 2022H1 figure hits its
target. The shifts then hold for every campaign quarter and region, and the truth
is computed from them like any other parameter.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from . import outcomes as o
from . import params as p


def jiangsu_counts(realized: dict[str, np.ndarray]) -> dict[str, float]:
    """The sums behind the notice's metrics over a set of inspections (add them up over chunks).

    Exact whatever the chunks: counts, and penalties in whole yuan, are integers.
    """
    case = realized["case_filed"]
    major = realized["major_hazards"] > 0
    return {
        "cases": float(case.sum()),
        "key_matter_cases": float((case & realized["key_matter"]).sum()),
        "penalty_total": float(realized["penalty_amount"].sum()),
        "double_penalty_cases": float(realized["double_penalty"].sum()),
        "major_cases": float((case & major).sum()),
        "inspections_with_major": float(major.sum()),
    }


def add_counts(total: dict[str, float], counts: dict[str, float]) -> dict[str, float]:
    return {k: total.get(k, 0.0) + v for k, v in counts.items()}


def jiangsu_figures(counts: dict[str, float]) -> dict[str, float]:
    """The notice's metrics (definitions as in analysis.metrics) from `jiangsu_counts` (summed)."""
    c = {k: np.float64(v) for k, v in counts.items()}  # numpy division: 0/0 is nan, as in a tiny world
    return {
        "cases": float(c["cases"]),
        "key_matter_cases": float(c["key_matter_cases"]),
        "penalty_total": float(c["penalty_total"]),
        "avg_case_value": float(c["penalty_total"] / c["cases"]),
        "double_penalty_cases": float(c["double_penalty_cases"]),
        "major_hazard_filing_rate": float(c["major_cases"] / c["inspections_with_major"]),
        "inspections_with_major": float(c["inspections_with_major"]),
    }


def shift_for_count(u: np.ndarray, logits: np.ndarray, target: int) -> float:
    """The logit shift d for which exactly `target` of the events u < expit(logits + d) occur.

    A target out of reach (possible in very small worlds) is clipped to the nearest
    reachable count; `jiangsu_ratios` in truth.json then shows the shortfall.
    """
    thresholds = np.sort(logit(np.clip(u, 1e-12, 1 - 1e-12)) - logits)
    if len(thresholds) < 2:
        return 0.0
    target = int(np.clip(target, 1, len(thresholds) - 1))
    return float((thresholds[target - 1] + thresholds[target]) / 2)


def calibrate(units: o.Units, latent: o.Latent, fx: p.Effects, reference: dict[str, float]) -> p.CampaignShifts:
    """Solve the campaign shifts so that these (campaign) inspections hit the targets against `reference`."""
    targets = p.JIANGSU_TARGETS
    zero = p.CampaignShifts()
    base, with_hazard, with_major = o._case_logits(
        units, units.surprise, o.cross_region_case_shift(units, units.outside_team, fx), fx, zero
    )
    has_major = latent.major > 0
    has_hazard = (latent.major + latent.other) > 0

    # 1. Filing rate among inspections with a major hazard.
    n_major = int(has_major.sum())
    major_cases = round(targets["major_hazard_filing_rate"] * reference["major_hazard_filing_rate"] * n_major)
    shift_major = shift_for_count(latent.u_case[has_major], with_major[has_major], major_cases)
    # 2. All cases: penalty_total / avg_case_value fixes the number of cases.
    all_cases = round(reference["cases"] * targets["penalty_total"] / targets["avg_case_value"])
    minor = ~has_major
    minor_logits = np.where(has_hazard, with_hazard, base)[minor]
    shift_all = shift_for_count(latent.u_case[minor], minor_logits, all_cases - major_cases)
    case = latent.u_case < expit(
        np.where(has_major, with_major + shift_major, np.where(has_hazard, with_hazard, base) + shift_all)
    )

    # 3. Key-matter cases and 4. double-penalty cases, among these cases.
    key_logits = fx.key_intercept + fx.key_per_risk * (units.risk - 2.5) + o.INDUSTRY_KEY[units.industry]
    key_shift = shift_for_count(
        latent.u_key[case], key_logits[case], round(targets["key_matter_cases"] * reference["key_matter_cases"])
    )
    double_logits = fx.double_intercept + fx.double_major * has_major
    double_shift = shift_for_count(
        latent.u_double[case],
        double_logits[case],
        round(targets["double_penalty_cases"] * reference["double_penalty_cases"]),
    )

    # 5. Average case value scales exactly with exp(penalty_log).
    unshifted = p.CampaignShifts(case_logit=shift_all, case_major_logit=shift_major - shift_all)
    realized = o.realize(units, latent, fx, unshifted)
    avg_now = realized["penalty_amount"].sum() / realized["case_filed"].sum()
    penalty_log = float(np.log(targets["avg_case_value"] * reference["avg_case_value"] / avg_now))
    return p.CampaignShifts(
        case_logit=shift_all,
        case_major_logit=shift_major - shift_all,
        key_logit=key_shift,
        double_logit=double_shift,
        penalty_log=penalty_log,
    )
