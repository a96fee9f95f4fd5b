"""The simulated world's fixed design: provinces, programmes and planted effects.

Every number a test compares against lives here, named, so a reader can see what
was planted without reading the generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

DEFAULT_SEED = 20220824  # the notice's date; the calibration test uses this seed
FIRST_QUARTER = pd.Period("2019Q1", freq="Q-DEC")
LAST_QUARTER = pd.Period("2024Q4", freq="Q-DEC")

# province name, region-code prefix, number of counties
PROVINCES: tuple[tuple[str, str, int], ...] = (
    ("Beijing", "BJ", 8),
    ("Zhejiang", "ZJ", 10),
    ("Sichuan", "SC", 10),
    ("Jiangsu", "JS", 14),
    ("Shandong", "SD", 12),
    ("Inner Mongolia", "NM", 8),
    ("Hunan", "HN", 10),
    ("Guangdong", "GD", 12),
    ("Henan", "HA", 10),
    ("Hubei", "HB", 8),
    ("Anhui", "AH", 8),
    ("Fujian", "FJ", 8),
    ("Hebei", "HE", 8),
    ("Shanxi", "SX", 8),
)

# Programme adoption by province (every county of the province starts together).
# Provinces absent from cross_region never adopt it: they are the DiD controls.
ADOPTION: dict[str, dict[str, str]] = {
    "cross_region": {
        "Shandong": "2020Q1",
        "Zhejiang": "2021Q1",
        "Sichuan": "2021Q3",
        "Guangdong": "2022Q1",
        "Hunan": "2022Q3",
        "Hubei": "2023Q1",
    },
    "surprise_campaign": {"Jiangsu": "2022Q1", "Anhui": "2023Q3"},
    "technical_inspectors": {"Beijing": "2021Q1", "Sichuan": "2022Q1"},
}

INDUSTRIES = (
    "mining",
    "hazardous_chemicals",
    "fireworks",
    "metallurgy",
    "construction",
    "manufacturing",
    "trade",
    "other",
)
INDUSTRY_SHARE = (0.06, 0.08, 0.03, 0.07, 0.18, 0.30, 0.18, 0.10)
# industry effects on (hazard rate log, major-hazard logit, case logit, penalty log, key-matter logit)
INDUSTRY_HAZARD = (0.45, 0.40, 0.35, 0.30, 0.20, 0.0, -0.30, -0.20)
INDUSTRY_MAJOR = (0.50, 0.60, 0.50, 0.30, 0.20, 0.0, -0.40, -0.30)
INDUSTRY_PENALTY = (0.40, 0.50, 0.30, 0.25, 0.10, 0.0, -0.30, -0.20)
INDUSTRY_KEY = (0.60, 0.70, 0.60, 0.30, 0.20, 0.0, -0.50, -0.40)
HIGH_HAZARD_INDUSTRIES = frozenset({"mining", "hazardous_chemicals", "fireworks", "metallurgy"})
SIZES = ("small", "medium", "large")
SIZE_SHARE = (0.62, 0.28, 0.10)
SIZE_PENALTY = (0.0, 0.30, 0.70)

HUNAN_OFFICERS_BEFORE = 1952
HUNAN_OFFICERS_AFTER = 2767
HUNAN_EXPANSION_QUARTER = "2022Q1"
HUNAN_TRAININGS_2022 = 172
HUNAN_TRAINEES_2022 = 4040

# The notice's Jiangsu figures: 2022H1 over 2021H1 (shared/contract/seed-figures.csv).
JIANGSU_TARGETS = {
    "key_matter_cases": 2.7,
    "penalty_total": 1.12,
    "avg_case_value": 1.236,
    "double_penalty_cases": 2.4,
    "major_hazard_filing_rate": 2.1,
}


@dataclass(frozen=True)
class Effects:
    """Planted structural parameters of the inspection-level outcome model."""

    # Who gets a surprise visit (logit): riskier and more hazardous sites, campaigns.
    surprise_intercept: float = -1.3
    surprise_per_risk: float = 0.55
    surprise_high_hazard: float = 0.45
    surprise_large: float = 0.25
    surprise_campaign: float = 1.1
    # Hazards found ~ Poisson(mu); log mu:
    hazard_intercept: float = 0.15
    hazard_per_risk: float = 0.30
    hazard_small: float = 0.15
    surprise_hazard_log: float = 0.26  # surprise finds ~30% more hazards
    # Each hazard is major with probability p (logit):
    major_intercept: float = -3.2
    major_per_risk: float = 0.30
    surprise_major_logit: float = 0.35
    # Case filed (logit) given hazards (H>0) and major hazards (M>0):
    case_intercept: float = -3.4
    case_per_risk: float = 0.15
    case_any_hazard: float = 1.7
    case_major: float = 0.5
    surprise_case_logit: float = 0.40
    # Penalty when a case is filed: base * exp(...) * Gamma(shape, 1/shape)
    penalty_base_yuan: float = 9000.0
    penalty_per_risk: float = 0.12
    penalty_major: float = 0.55
    surprise_penalty_log: float = 0.15
    penalty_gamma_shape: float = 2.0
    # Key matter and double penalty (logit)
    key_intercept: float = -1.9
    key_per_risk: float = 0.30
    double_intercept: float = -2.1
    double_major: float = 0.8
    # Cross-region enforcement, after adoption: share of inspections by outside teams,
    # their case-logit shift, the local teams' shift growing with quarters since
    # adoption (capped), and the shift in case value.
    outside_team_share: float = 0.30
    outside_case_logit: float = 0.60
    local_case_logit_per_quarter: float = 0.07
    event_time_cap: int = 8
    cross_region_penalty_log: float = 0.05
    cross_region_penalty_log_per_quarter: float = 0.01
    # Team size: inspections per county-quarter ~ Poisson(scale * exp(a_r + b_t) * officers^elasticity)
    inspections_elasticity: float = 0.6
    inspections_per_county_quarter: float = 90.0


@dataclass(frozen=True)
class CampaignShifts:
    """Enforcement regime of a surprise campaign, calibrated to Jiangsu (see calibrate.py)."""

    case_logit: float = 0.0  # all inspections
    case_major_logit: float = 0.0  # extra for inspections with a major hazard
    key_logit: float = 0.0
    double_logit: float = 0.0
    penalty_log: float = 0.0


@dataclass(frozen=True)
class World:
    seed: int = DEFAULT_SEED
    scale: float = 1.0
    effects: Effects = field(default_factory=Effects)

    @property
    def quarters(self) -> pd.PeriodIndex:
        return pd.period_range(FIRST_QUARTER, LAST_QUARTER, freq="Q-DEC")
