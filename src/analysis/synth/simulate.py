"""Generate the simulated world: tables in the data contract plus their planted truth.

Inspections are generated half-year by half-year, so `write_dataset` can stream
them to Parquet with memory bounded by one half-year, whatever the scale.
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ParameterError
from . import outcomes as o
from . import params as p
from . import world as w
from .calibrate import calibrate, jiangsu_figures
from .truth import TruthAccumulator

CALIBRATION_HALF = ("2022Q1", "2022Q2")
REFERENCE_HALF = ("2021Q1", "2021Q2")


@dataclass
class Simulation:
    tables: dict[str, pd.DataFrame]
    truth: list[dict]
    shifts: p.CampaignShifts


def simulate(seed: int = p.DEFAULT_SEED, scale: float = 1.0) -> Simulation:
    """The whole world in memory (use `write_dataset` for large scales)."""
    generator = _Generator(p.World(seed=seed, scale=scale))
    chunks = list(generator.inspection_chunks())
    tables = {**generator.static_tables(), "inspections": pd.concat(chunks, ignore_index=True)}
    return Simulation(tables, generator.truth.rows(), generator.shifts)


DATASET_MARKER = ".enforcement-reform-dataset"  # in every folder write_dataset created


def write_dataset(out: str | Path, seed: int = p.DEFAULT_SEED, scale: float = 1.0) -> dict:
    """Write the dataset as Parquet files plus truth.json; return a small summary.

    The files are written into a hidden folder beside `out` and moved into place when
    complete, so an interrupted run never leaves a half-written dataset. An existing
    `out` is replaced only when it is empty or was written by this function; anything
    else raises ParameterError and is left alone.
    """
    out = Path(out)
    _check_target(out)
    if not (seed >= 0 and math.isfinite(scale) and scale > 0):
        raise ParameterError(f"seed must be >= 0 and scale a positive number (got seed {seed}, scale {scale})")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".synth-{out.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        summary = _write_tables(staging, seed, scale)
        (staging / DATASET_MARKER).write_text(json.dumps({"seed": seed, "scale": scale}) + "\n")
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _check_target(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ParameterError(f"{out}: exists and is not a folder; the simulated world needs a folder of its own")
    if out.is_dir() and any(out.iterdir()) and not (out / DATASET_MARKER).exists():
        raise ParameterError(
            f"{out}: holds files that were not written by `analysis synth`; they are left alone. "
            "Give a new or empty folder."
        )


def _move_into_place(staging: Path, out: Path) -> None:
    if out.exists():
        _check_target(out)  # again: it may have changed while the world was generated
        shutil.rmtree(out)
    try:
        staging.rename(out)
    except OSError:
        if not (out / DATASET_MARKER).exists():  # another process finished the same world first: keep theirs
            raise


def _write_tables(out: Path, seed: int, scale: float) -> dict:
    generator = _Generator(p.World(seed=seed, scale=scale))
    n_inspections = 0
    writer = None
    try:
        for chunk in generator.inspection_chunks():
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(out / "inspections.parquet", table.schema)
            writer.write_table(table)
            n_inspections += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    static = generator.static_tables()
    for name, frame in static.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
    truth = {
        "seed": seed,
        "scale": scale,
        "campaign_shifts": generator.shifts.__dict__,
        "jiangsu_ratios": generator.jiangsu_ratios,  # achieved 2022H1 / 2021H1, targets in params.JIANGSU_TARGETS
        "estimands": generator.truth.rows(),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    return {"inspections": n_inspections, "regions": len(static["regions"])}


class _Generator:
    def __init__(self, world: p.World):
        self.world = world
        self.fx = world.effects
        streams = np.random.SeedSequence(world.seed).spawn(3)
        self.static_rng = np.random.default_rng(streams[0])
        self.chunk_seeds = streams[1]
        self.regions = w.make_regions(self.static_rng)
        self.enterprises = w.make_enterprises(self.static_rng, self.regions)
        self.programs = w.make_programs(self.regions)
        self.staffing = w.make_staffing(self.static_rng, self.regions, world.quarters)
        self.accidents = w.make_accidents(self.static_rng, self.regions, world.quarters)
        self.counties = w.counties(self.regions)
        self.shifts = p.CampaignShifts()
        self.truth = TruthAccumulator(self.fx)
        self._reference: dict[str, float] = {}  # Jiangsu's reference half-year, filled before calibration
        self._next_number = 1
        self.jiangsu_ratios: dict[str, float] = {}
        self._expected_inspections = self._inspection_rates(self.static_rng)

    def static_tables(self) -> dict[str, pd.DataFrame]:
        return {
            "regions": self.regions,
            "staffing": self.staffing,
            "programs": self.programs,
            "accidents": self.accidents,
        }

    def _inspection_rates(self, rng) -> pd.Series:
        """Expected inspections per county-quarter: region and quarter effects times officers^elasticity."""
        region_effect = pd.Series(rng.normal(0, 0.25, len(self.counties)), index=self.counties["region_id"])
        quarters = self.world.quarters
        season = np.tile([-0.15, 0.05, 0.05, 0.05], len(quarters) // 4)
        quarter_effect = pd.Series(season + 0.02 * np.arange(len(quarters)), index=quarters.astype(str))
        staff = self.staffing.set_index(["region_id", "period"])["officers"]
        log_rate = (
            np.log(self.fx.inspections_per_county_quarter * self.world.scale)
            + region_effect.reindex(staff.index.get_level_values(0)).to_numpy()
            + quarter_effect.reindex(staff.index.get_level_values(1)).to_numpy()
            + self.fx.inspections_elasticity * np.log(staff.to_numpy() / 110)
        )
        return pd.Series(np.exp(log_rate), index=staff.index)

    def inspection_chunks(self) -> Iterator[pd.DataFrame]:
        quarters = self.world.quarters.astype(str)
        halves = [tuple(quarters[i : i + 2]) for i in range(0, len(quarters), 2)]
        for half, seed in zip(halves, self.chunk_seeds.spawn(len(halves)), strict=False):
            yield self._half_year(half, np.random.default_rng(seed))

    def _half_year(self, half: tuple[str, str], rng: np.random.Generator) -> pd.DataFrame:
        frame = self._draw_visits(half, rng)
        units = self._units(frame, rng)
        latent = o.draw_latent(rng, units, self.fx)
        jiangsu = (frame["province"] == "Jiangsu").to_numpy()
        if half == CALIBRATION_HALF:
            campaign_rows = jiangsu & units.campaign
            self.shifts = calibrate(
                _subset(units, campaign_rows), _subset(latent, campaign_rows), self.fx, self._reference
            )
        realized = o.realize(units, latent, self.fx, self.shifts)
        if half == REFERENCE_HALF:
            self._reference = jiangsu_figures({k: v[jiangsu] for k, v in realized.items()})
        if half == CALIBRATION_HALF:
            achieved = jiangsu_figures({k: v[jiangsu] for k, v in realized.items()})
            self.jiangsu_ratios = {m: achieved[m] / self._reference[m] for m in p.JIANGSU_TARGETS}
        self.truth.add(frame, units, self.shifts)
        table = _inspection_table(frame, units, realized, self._next_number, self.counties, rng)
        self._next_number += len(table)
        return table

    def _draw_visits(self, half, rng) -> pd.DataFrame:
        """Which enterprises are inspected, where and when (riskier ones more often)."""
        rates = self._expected_inspections.loc[(slice(None), list(half))]
        counts = rng.poisson(rates.to_numpy())
        cells = rates.index.to_frame(index=False).assign(n=counts)
        by_region = self.enterprises.groupby("region_id", sort=False).indices
        picks, periods = [], []
        for region_id, cell in cells.groupby("region_id", sort=False):
            pool = by_region[region_id]
            weights = 0.5 + self.enterprises["risk_level"].to_numpy()[pool]
            picks.append(rng.choice(pool, size=cell["n"].sum(), p=weights / weights.sum()))
            periods.append(np.repeat(cell["period"].to_numpy(), cell["n"].to_numpy()))
        visits = self.enterprises.iloc[np.concatenate(picks)].reset_index(drop=True)
        quarters = self.world.quarters.astype(str)
        visits["period"] = pd.Categorical(np.concatenate(periods), categories=quarters)
        visits["province"] = visits["region_id"].map(self.counties.set_index("region_id")["province"])
        staff = self.staffing.set_index(["region_id", "period"])
        cell = pd.MultiIndex.from_arrays([visits["region_id"], visits["period"]])
        visits["technical_share"] = (staff["technical_inspectors"] / staff["officers"]).reindex(cell).to_numpy()
        return visits

    def _units(self, frame: pd.DataFrame, rng) -> o.Units:
        ordinal = _ordinals(frame["period"])
        campaign = ordinal >= _start_ordinals(self.programs, "surprise_campaign", frame["region_id"])
        cross_start = _start_ordinals(self.programs, "cross_region", frame["region_id"])
        adopted = cross_start < NEVER
        event_time = np.where(adopted, ordinal - np.where(adopted, cross_start, 0), -1)
        cross_active = adopted & (event_time >= 0)
        units = o.Units(
            risk=frame["risk_level"].to_numpy(),
            industry=frame["industry_code"].to_numpy(),
            size=frame["size_code"].to_numpy(),
            campaign=campaign,
            cross_active=cross_active,
            event_time=np.maximum(event_time, 0),
            surprise=np.zeros(len(frame), dtype=bool),
            outside_team=np.zeros(len(frame), dtype=bool),
        )
        units.surprise = rng.random(len(frame)) < o.surprise_probability(units, self.fx)
        units.outside_team = cross_active & (rng.random(len(frame)) < self.fx.outside_team_share)
        frame["event_time"] = np.where(adopted, event_time, np.nan)
        return units


NEVER = np.iinfo(np.int64).max


def _ordinals(period: pd.Series) -> np.ndarray:
    """Quarter ordinals of a categorical of quarter labels (computed once per label)."""
    labels = pd.PeriodIndex(period.cat.categories, freq="Q-DEC").asi8
    return labels[period.cat.codes.to_numpy()]


def _start_ordinals(programs: pd.DataFrame, program: str, region_id: pd.Series) -> np.ndarray:
    """Adoption quarter ordinal of each row's region (NEVER where not adopted)."""
    by_region = {region: quarter.ordinal for region, quarter in w.program_start(programs, program).items()}
    start = region_id.map(by_region)
    return np.where(start.isna(), NEVER, start.fillna(0).to_numpy(dtype=np.int64))


def _subset(batch, rows: np.ndarray):
    return type(batch)(**{k: v[rows] for k, v in batch.__dict__.items()})


def _team_home(frame: pd.DataFrame, counties: pd.DataFrame, outside: np.ndarray, rng) -> np.ndarray:
    """The inspecting team's home: the county itself, or another county of its province."""
    position = counties.groupby("province").cumcount()
    size = counties.groupby("province")["region_id"].transform("size")
    by_province = {prov: ids.to_numpy() for prov, ids in counties.groupby("province")["region_id"]}
    own = frame["region_id"].map(pd.Series(position.to_numpy(), index=counties["region_id"])).to_numpy()
    n = frame["region_id"].map(pd.Series(size.to_numpy(), index=counties["region_id"])).to_numpy()
    other = (own + rng.integers(1, n)) % n  # any position but its own
    home = frame["region_id"].to_numpy().astype(object)
    for province, ids in by_province.items():
        rows = outside & (frame["province"] == province).to_numpy()
        home[rows] = ids[other[rows]]
    return home


def _inspection_table(
    frame: pd.DataFrame, units: o.Units, realized: dict, first_number: int, counties, rng
) -> pd.DataFrame:
    quarters = pd.PeriodIndex(frame["period"].cat.categories, freq="Q-DEC")
    code = frame["period"].cat.codes.to_numpy()
    start = quarters.start_time.to_numpy().astype("datetime64[D]")
    days = (quarters.end_time.to_numpy().astype("datetime64[D]") - start).astype(int) + 1
    dates = start[code] + (rng.random(len(frame)) * days[code]).astype(int).astype("timedelta64[D]")
    numbers = np.arange(first_number, first_number + len(frame))
    technical_share = frame["technical_share"].to_numpy()
    return pd.DataFrame(
        {
            "inspection_id": pd.Series(numbers).map("INS{:09d}".format),
            "region_id": frame["region_id"].to_numpy(),
            "inspection_date": dates,
            "enterprise_id": frame["enterprise_id"].to_numpy(),
            "industry": np.asarray(p.INDUSTRIES)[units.industry],
            "enterprise_size": np.asarray(p.SIZES)[units.size],
            "risk_level": units.risk,
            "surprise": units.surprise,
            "cross_region": units.outside_team,
            "inspecting_region_id": _team_home(frame, counties, units.outside_team, rng),
            "officers": 2 + rng.poisson(0.7, len(frame)),
            "technical_inspector": rng.random(len(frame)) < np.minimum(1.0, 2 * technical_share),
            "key_matter": realized["key_matter"],
            "hazards_found": realized["hazards_found"],
            "major_hazards": realized["major_hazards"],
            "case_filed": realized["case_filed"],
            "penalty_amount": realized["penalty_amount"],
            "double_penalty": realized["double_penalty"],
        }
    )
