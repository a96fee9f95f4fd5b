"""The inspection-level outcome model: its expectations and its draws.

One model serves both: `expected` gives each inspection's expected outcomes under
any treatment state (the potential outcomes behind truth.json), and `realize`
turns fixed random draws into observed outcomes under the same formulas. Keeping
randomness (`Latent`) apart from parameters lets the calibration move a
parameter and re-realize the same world.

Hazards found H = M + N with M ~ Poisson(mu p) major and N ~ Poisson(mu (1 - p))
other hazards (Poisson thinning), so P(M > 0) = 1 - exp(-mu p) and the case
probability, which depends on 1[H > 0] and 1[M > 0], has a closed-form mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from . import params as p

INDUSTRY_HAZARD = np.asarray(p.INDUSTRY_HAZARD)
INDUSTRY_MAJOR = np.asarray(p.INDUSTRY_MAJOR)
INDUSTRY_PENALTY = np.asarray(p.INDUSTRY_PENALTY)
INDUSTRY_KEY = np.asarray(p.INDUSTRY_KEY)
SIZE_PENALTY = np.asarray(p.SIZE_PENALTY)


@dataclass
class Units:
    """Covariates and treatment states of a batch of inspections (arrays of equal length)."""

    risk: np.ndarray  # 1..4
    industry: np.ndarray  # index into params.INDUSTRIES
    size: np.ndarray  # index into params.SIZES
    campaign: np.ndarray  # surprise campaign in force (bool)
    cross_active: np.ndarray  # cross-region enforcement in force (bool)
    event_time: np.ndarray  # quarters since cross-region adoption (only where active)
    surprise: np.ndarray  # realized (bool)
    outside_team: np.ndarray  # realized (bool)


@dataclass
class Latent:
    """The random draws, fixed once per inspection."""

    major: np.ndarray
    other: np.ndarray
    u_case: np.ndarray
    u_key: np.ndarray
    u_double: np.ndarray
    gamma: np.ndarray  # mean-one penalty multiplier


def surprise_probability(units: Units, fx: p.Effects) -> np.ndarray:
    high = np.isin(units.industry, [p.INDUSTRIES.index(i) for i in p.HIGH_HAZARD_INDUSTRIES])
    return expit(
        fx.surprise_intercept
        + fx.surprise_per_risk * (units.risk - 2.5)
        + fx.surprise_high_hazard * high
        + fx.surprise_large * (units.size == 2)
        + fx.surprise_campaign * units.campaign
    )


def hazard_mean(units: Units, surprise, fx: p.Effects) -> np.ndarray:
    return np.exp(
        fx.hazard_intercept
        + fx.hazard_per_risk * (units.risk - 1)
        + INDUSTRY_HAZARD[units.industry]
        + fx.hazard_small * (units.size == 0)
        + fx.surprise_hazard_log * surprise
    )


def major_share(units: Units, surprise, fx: p.Effects) -> np.ndarray:
    return expit(
        fx.major_intercept
        + fx.major_per_risk * (units.risk - 1)
        + INDUSTRY_MAJOR[units.industry]
        + fx.surprise_major_logit * surprise
    )


def cross_region_case_shift(units: Units, outside_team, fx: p.Effects) -> np.ndarray:
    """Case-logit shift of cross-region enforcement: outside teams, and local teams improving with time."""
    local = fx.local_case_logit_per_quarter * np.minimum(units.event_time, fx.event_time_cap)
    return np.where(units.cross_active, np.where(outside_team, fx.outside_case_logit, local), 0.0)


def cross_region_penalty_shift(units: Units, fx: p.Effects) -> np.ndarray:
    growth = fx.cross_region_penalty_log_per_quarter * np.minimum(units.event_time, fx.event_time_cap)
    return np.where(units.cross_active, fx.cross_region_penalty_log + growth, 0.0)


def _case_logits(units, surprise, case_shift, fx, shifts: p.CampaignShifts):
    base = (
        fx.case_intercept
        + fx.case_per_risk * (units.risk - 1)
        + fx.surprise_case_logit * surprise
        + case_shift
        + shifts.case_logit * units.campaign
    )
    with_hazard = base + fx.case_any_hazard
    with_major = with_hazard + fx.case_major + shifts.case_major_logit * units.campaign
    return base, with_hazard, with_major


def _penalty_scale(units, surprise, fx, shifts: p.CampaignShifts):
    return fx.penalty_base_yuan * np.exp(
        fx.penalty_per_risk * (units.risk - 1)
        + INDUSTRY_PENALTY[units.industry]
        + SIZE_PENALTY[units.size]
        + fx.surprise_penalty_log * surprise
        + cross_region_penalty_shift(units, fx)
        + shifts.penalty_log * units.campaign
    )


def expected(
    units: Units, fx: p.Effects, shifts: p.CampaignShifts, *, surprise, cross: str = "realized"
) -> dict[str, np.ndarray]:
    """Expected outcomes of each inspection under a given treatment state.

    `surprise` is an array (or 0/1) of the surprise state; `cross` is "realized"
    (the inspection's own cross-region state and team), "treated" (cross-region
    in force, averaged over which team inspects) or "untreated" (not in force).
    Returns expected hazards, P(major hazard found), P(case), P(case and major
    hazard) and expected penalty (yuan).
    """
    if cross == "realized":
        return _expected_given_team(units, fx, shifts, surprise, units.outside_team)
    if cross == "untreated":
        untreated = _with(units, cross_active=np.zeros_like(units.cross_active))
        return _expected_given_team(untreated, fx, shifts, surprise, False)
    treated = _with(units, cross_active=np.ones_like(units.cross_active))
    outside = _expected_given_team(treated, fx, shifts, surprise, True)
    local = _expected_given_team(treated, fx, shifts, surprise, False)
    share = fx.outside_team_share
    return {k: share * outside[k] + (1 - share) * local[k] for k in outside}


def _with(units: Units, **changes) -> Units:
    return Units(**{**units.__dict__, **changes})


def _expected_given_team(units, fx, shifts, surprise, outside_team):
    mu = hazard_mean(units, surprise, fx)
    share = major_share(units, surprise, fx)
    p_no_hazard = np.exp(-mu)
    p_no_major = np.exp(-mu * share)
    p_minor_only = p_no_major - p_no_hazard
    p_major = 1 - p_no_major
    base, with_hazard, with_major = _case_logits(
        units, surprise, cross_region_case_shift(units, outside_team, fx), fx, shifts
    )
    case_none, case_minor, case_major = expit(base), expit(with_hazard), expit(with_major)
    case_and_major = p_major * case_major
    penalty = _penalty_scale(units, surprise, fx, shifts) * (
        p_no_hazard * case_none + p_minor_only * case_minor + case_and_major * np.exp(fx.penalty_major)
    )
    return {
        "hazards_found": mu,
        "major_hazard_found": p_major,
        "case_filed": p_no_hazard * case_none + p_minor_only * case_minor + case_and_major,
        "case_and_major": case_and_major,
        "penalty_amount": penalty,
    }


LATENT_DRAWS = ("major", "other", "u_case", "u_key", "u_double", "gamma")  # Latent's fields, in drawing order


def hazard_count_means(units: Units, fx: p.Effects) -> dict[str, np.ndarray]:
    """Means of the Poisson major and other hazard counts (Latent.major, Latent.other)."""
    mu = hazard_mean(units, units.surprise, fx)
    share = major_share(units, units.surprise, fx)
    return {"major": mu * share, "other": mu * (1 - share)}


def draw_penalty_multiplier(rng: np.random.Generator, n: int, fx: p.Effects) -> np.ndarray:
    return rng.gamma(fx.penalty_gamma_shape, 1 / fx.penalty_gamma_shape, n)


def draw_latent(rngs: Mapping[str, np.random.Generator], units: Units, fx: p.Effects) -> Latent:
    """Each inspection's random draws: field f from `rngs[f]`, in the order of LATENT_DRAWS.

    One generator under every name draws them one after the other.
    """
    means = hazard_count_means(units, fx)
    n = len(units.risk)
    return Latent(
        major=rngs["major"].poisson(means["major"]),
        other=rngs["other"].poisson(means["other"]),
        u_case=rngs["u_case"].random(n),
        u_key=rngs["u_key"].random(n),
        u_double=rngs["u_double"].random(n),
        gamma=draw_penalty_multiplier(rngs["gamma"], n, fx),
    )


def realize(units: Units, latent: Latent, fx: p.Effects, shifts: p.CampaignShifts) -> dict[str, np.ndarray]:
    """Observed outcomes of the realized treatment state, from the fixed draws."""
    s = units.surprise
    has_hazard = (latent.major + latent.other) > 0
    has_major = latent.major > 0
    base, with_hazard, with_major = _case_logits(
        units, s, cross_region_case_shift(units, units.outside_team, fx), fx, shifts
    )
    case_logit = np.where(has_major, with_major, np.where(has_hazard, with_hazard, base))
    case = latent.u_case < expit(case_logit)
    scale = _penalty_scale(units, s, fx, shifts) * np.exp(fx.penalty_major * has_major)
    penalty = np.where(case, np.round(scale * latent.gamma), 0.0)
    key = latent.u_key < expit(
        fx.key_intercept
        + fx.key_per_risk * (units.risk - 2.5)
        + INDUSTRY_KEY[units.industry]
        + shifts.key_logit * units.campaign
    )
    double = case & (
        latent.u_double
        < expit(fx.double_intercept + fx.double_major * has_major + shifts.double_logit * units.campaign)
    )
    return {
        "hazards_found": latent.major + latent.other,
        "major_hazards": latent.major,
        "case_filed": case,
        "penalty_amount": penalty,
        "key_matter": key,
        "double_penalty": double,
    }
