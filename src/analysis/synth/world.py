"""The slow-moving parts of the simulated world: regions, enterprises, staff, programmes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import params as p


def make_regions(rng: np.random.Generator) -> pd.DataFrame:
    """One province-level row per province and its counties (the inspection units)."""
    rows = []
    for province, code, n_counties in p.PROVINCES:
        rows.append(dict(region_id=code, name=province, province=province, level="province", parent_id=None))
        for k in range(1, n_counties + 1):
            rows.append(
                dict(
                    region_id=f"{code}-{k:02d}",
                    name=f"{province} county {k:02d}",
                    province=province,
                    level="county",
                    parent_id=code,
                )
            )
    regions = pd.DataFrame(rows)
    county = regions["level"] == "county"
    regions["enterprises"] = pd.array(np.where(county, rng.integers(300, 900, len(regions)), pd.NA), dtype="Int64")
    regions["population"] = pd.array(
        np.where(county, rng.integers(200_000, 1_500_000, len(regions)), pd.NA), dtype="Int64"
    )
    province_totals = regions[county].groupby("province")[["enterprises", "population"]].sum()
    for column in ("enterprises", "population"):
        regions.loc[~county, column] = regions.loc[~county, "province"].map(province_totals[column]).to_numpy()
    return regions


def counties(regions: pd.DataFrame) -> pd.DataFrame:
    return regions[regions["level"] == "county"].reset_index(drop=True)


def make_enterprises(rng: np.random.Generator, regions: pd.DataFrame) -> pd.DataFrame:
    """The enterprises under supervision in each county, with fixed characteristics."""
    county = counties(regions)
    n = county["enterprises"].astype(int).to_numpy()
    industry = rng.choice(len(p.INDUSTRIES), size=n.sum(), p=p.INDUSTRY_SHARE)
    high_hazard = np.isin(np.asarray(p.INDUSTRIES)[industry], list(p.HIGH_HAZARD_INDUSTRIES))
    # Risk grade 1..4, higher in hazardous industries.
    risk_score = rng.normal(0, 1, n.sum()) + 0.8 * high_hazard
    risk = np.digitize(risk_score, [-0.6, 0.4, 1.3]) + 1
    return pd.DataFrame(
        {
            "enterprise_id": [f"E{i:07d}" for i in rng.permutation(n.sum()) + 1],
            "region_id": np.repeat(county["region_id"].to_numpy(), n),
            "industry_code": industry,
            "size_code": rng.choice(len(p.SIZES), size=n.sum(), p=p.SIZE_SHARE),
            "risk_level": risk,
        }
    )


def make_programs(regions: pd.DataFrame) -> pd.DataFrame:
    county = counties(regions)
    rows = [
        {"region_id": region_id, "program": program, "start_period": start}
        for program, by_province in p.ADOPTION.items()
        for province, start in by_province.items()
        for region_id in county.loc[county["province"] == province, "region_id"]
    ]
    return pd.DataFrame(rows, columns=["region_id", "program", "start_period"])


def make_staffing(rng: np.random.Generator, regions: pd.DataFrame, quarters: pd.PeriodIndex) -> pd.DataFrame:
    """Officers per county and quarter: stable establishments with occasional expansions.

    Hunan's counties hold exactly 1,952 officers before its 2022 expansion and
    2,767 after it (the notice's figures); elsewhere each county has up to two
    random expansion or contraction steps.
    """
    county = counties(regions)
    n_q = len(quarters)
    base = np.exp(rng.normal(np.log(110), 0.35, len(county)))
    log_path = np.zeros((len(county), n_q))
    for i in range(len(county)):
        for _ in range(rng.integers(0, 3)):
            step_at = rng.integers(1, n_q)
            log_path[i, step_at:] += rng.choice(
                [np.log(rng.uniform(1.08, 1.40)), np.log(rng.uniform(0.85, 0.95))], p=[0.75, 0.25]
            )
        log_path[i] += np.cumsum(rng.normal(0, 0.01, n_q))
    officers = np.rint(base[:, None] * np.exp(log_path)).astype(int)

    hunan = (county["province"] == "Hunan").to_numpy()
    expansion = quarters >= pd.Period(p.HUNAN_EXPANSION_QUARTER, freq="Q-DEC")
    weights = base[hunan]
    officers[np.ix_(hunan, ~expansion)] = _allocate(p.HUNAN_OFFICERS_BEFORE, weights)[:, None]
    officers[np.ix_(hunan, expansion)] = _allocate(
        p.HUNAN_OFFICERS_AFTER, weights * rng.uniform(0.9, 1.1, hunan.sum())
    )[:, None]

    frame = pd.DataFrame(
        {
            "region_id": np.repeat(county["region_id"].to_numpy(), n_q),
            "province": np.repeat(county["province"].to_numpy(), n_q),
            "period": np.tile(quarters.astype(str), len(county)),
            "officers": officers.ravel(),
        }
    )
    frame["technical_inspectors"] = _technical_inspectors(rng, frame)
    frame["social_supervisors"] = rng.poisson(np.where(frame["province"] == "Zhejiang", 12, 4))
    frame["trainings"], frame["trainees"] = _trainings(rng, frame)
    return frame.drop(columns="province")


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights (largest remainder), exactly."""
    raw = total * weights / weights.sum()
    whole = np.floor(raw).astype(int)
    whole[np.argsort(whole - raw)[: total - whole.sum()]] += 1
    return whole


def _technical_inspectors(rng, staffing: pd.DataFrame) -> np.ndarray:
    ratio = rng.uniform(0.08, 0.2, len(staffing))
    period = pd.PeriodIndex(staffing["period"], freq="Q-DEC")
    for province, start in p.ADOPTION["technical_inspectors"].items():
        # Beijing's standard: one technical inspector per two officers once adopted.
        target = 0.5 if province == "Beijing" else 0.3
        adopted = (staffing["province"] == province).to_numpy() & (period >= pd.Period(start, freq="Q-DEC"))
        ratio[adopted] = target
    return np.rint(ratio * staffing["officers"].to_numpy()).astype(int)


def _trainings(rng, staffing: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    trainings = rng.poisson(1.5, len(staffing))
    trainees = rng.poisson(12 * trainings)
    hunan_2022 = ((staffing["province"] == "Hunan") & staffing["period"].str.startswith("2022")).to_numpy()
    weights = np.ones(hunan_2022.sum())
    trainings[hunan_2022] = _allocate(p.HUNAN_TRAININGS_2022, weights)
    trainees[hunan_2022] = _allocate(p.HUNAN_TRAINEES_2022, weights)
    return trainings, trainees


def make_accidents(rng, regions: pd.DataFrame, quarters: pd.PeriodIndex) -> pd.DataFrame:
    county = counties(regions)
    n_q = len(quarters)
    rate = np.repeat(county["enterprises"].astype(float).to_numpy() / 250, n_q)
    accidents = rng.poisson(rate)
    return pd.DataFrame(
        {
            "region_id": np.repeat(county["region_id"].to_numpy(), n_q),
            "period": np.tile(quarters.astype(str), len(county)),
            "accidents": accidents,
            "deaths": rng.binomial(accidents, 0.25),
        }
    )


def program_start(programs: pd.DataFrame, program: str) -> dict[str, pd.Period]:
    """Adoption quarter by region_id for one programme."""
    rows = programs[programs["program"] == program]
    return {r: pd.Period(q, freq="Q-DEC") for r, q in zip(rows["region_id"], rows["start_period"], strict=False)}
