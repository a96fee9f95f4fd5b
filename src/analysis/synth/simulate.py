"""Generate the simulated world: tables in the data contract plus their planted truth.

Inspections are generated half-year by half-year, and a half-year in chunks of at
most `rows_per_chunk` rows (inspections.py), so `write_dataset` streams them to
Parquet, one row group per chunk, with memory bounded whatever the scale. The chunk
size changes nothing in the data: the same seed and scale give the same tables.
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
from .calibrate import add_counts, calibrate, jiangsu_figures
from .calibrate import jiangsu_counts as count
from .inspections import Generators, HalfYear, Inspections, fresh, one_generator
from .truth import TruthAccumulator

CALIBRATION_HALF = ("2022Q1", "2022Q2")
REFERENCE_HALF = ("2021Q1", "2021Q2")
ROWS_PER_CHUNK = 250_000  # peak RSS ~0.4 GiB at scale 24, ~0.5 GiB at scale 240 (benchmarks/results/synth.csv)


@dataclass
class Simulation:
    tables: dict[str, pd.DataFrame]
    truth: list[dict]
    shifts: p.CampaignShifts


def simulate(seed: int = p.DEFAULT_SEED, scale: float = 1.0, *, rows_per_chunk: int = ROWS_PER_CHUNK) -> Simulation:
    """The whole world in memory (use `write_dataset` for large scales)."""
    generator = _Generator(p.World(seed=seed, scale=scale), _rows_per_chunk(rows_per_chunk))
    chunks = list(generator.inspection_chunks())
    tables = {**generator.static_tables(), "inspections": pd.concat(chunks, ignore_index=True)}
    return Simulation(tables, generator.truth.rows(), generator.shifts)


DATASET_MARKER = ".enforcement-reform-dataset"  # in every folder write_dataset created


def write_dataset(
    out: str | Path, seed: int = p.DEFAULT_SEED, scale: float = 1.0, *, rows_per_chunk: int = ROWS_PER_CHUNK
) -> dict:
    """Write the dataset as Parquet files plus truth.json; return a small summary.

    The files are written into a hidden folder beside `out` and moved into place when
    complete, so an interrupted run never leaves a half-written dataset. An existing
    `out` is replaced only when it is empty or was written by this function; anything
    else raises ParameterError and is left alone. Inspections are generated and written
    `rows_per_chunk` rows at a time (one Parquet row group each), which bounds memory;
    any chunk size writes the same rows.
    """
    out = Path(out)
    _check_target(out)
    if not (seed >= 0 and math.isfinite(scale) and scale > 0):
        raise ParameterError(f"seed must be >= 0 and scale a positive number (got seed {seed}, scale {scale})")
    rows_per_chunk = _rows_per_chunk(rows_per_chunk)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".synth-{out.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        summary = _write_tables(staging, seed, scale, rows_per_chunk)
        (staging / DATASET_MARKER).write_text(json.dumps({"seed": seed, "scale": scale}) + "\n")
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _rows_per_chunk(rows: int) -> int:
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise ParameterError(f"rows_per_chunk must be a positive whole number (got {rows!r})")
    return int(rows)


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


def _write_tables(out: Path, seed: int, scale: float, rows_per_chunk: int) -> dict:
    generator = _Generator(p.World(seed=seed, scale=scale), rows_per_chunk)
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
    def __init__(self, world: p.World, rows_per_chunk: int = ROWS_PER_CHUNK):
        self.world = world
        self.fx = world.effects
        self.rows_per_chunk = rows_per_chunk
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
        self.inspections = Inspections(
            world,
            self.enterprises,
            self.counties,
            self.programs,
            self.staffing,
            self._inspection_rates(self.static_rng),
        )

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
        """The inspections table in chunks of at most `rows_per_chunk` rows, half-year by half-year."""
        quarters = self.world.quarters.astype(str)
        halves = [tuple(quarters[i : i + 2]) for i in range(0, len(quarters), 2)]
        for half, seed in zip(halves, self.chunk_seeds.spawn(len(halves)), strict=False):
            yield from self._half_year(half, np.random.default_rng(seed))

    def _half_year(self, half: tuple[str, str], rng: np.random.Generator) -> Iterator[pd.DataFrame]:
        plan = self.inspections.half_year(half, rng)
        chunks = plan.chunks(self.rows_per_chunk)
        # One chunk draws everything from `rng` in turn; more give each draw its own generator.
        starts = one_generator(rng) if len(chunks) == 1 else self.inspections.positioned(plan, chunks, rng)
        if half == CALIBRATION_HALF:
            self.shifts = self._calibrate(plan, chunks, fresh(starts))
        gens = fresh(starts)
        jiangsu_counts: dict[str, float] = {}
        for start, stop in chunks:
            chunk = self.inspections.chunk(plan, start, stop, gens)
            units = chunk.units
            latent = o.draw_latent(gens, units, self.fx)
            realized = o.realize(units, latent, self.fx, self.shifts)
            if half in (REFERENCE_HALF, CALIBRATION_HALF):
                jiangsu = self.inspections.jiangsu[chunk.county]
                jiangsu_counts = add_counts(jiangsu_counts, count({k: v[jiangsu] for k, v in realized.items()}))
            self.truth.add(self.inspections.places(chunk), units, self.shifts)
            table = self.inspections.table(chunk, realized, self._next_number, gens)
            self._next_number += len(table)
            yield table
        if half == REFERENCE_HALF:
            self._reference = jiangsu_figures(jiangsu_counts)
        if half == CALIBRATION_HALF:
            achieved = jiangsu_figures(jiangsu_counts)
            self.jiangsu_ratios = {m: achieved[m] / self._reference[m] for m in p.JIANGSU_TARGETS}

    def _calibrate(self, plan: HalfYear, chunks: list[tuple[int, int]], gens: Generators) -> p.CampaignShifts:
        """Campaign shifts solved on all the half-year's campaign inspections in Jiangsu.

        No row of the half-year is realized before the shifts are known, so this pass remakes
        its draws (from fresh copies of its generators) and keeps only those rows.
        """
        units, latent = [], []
        for start, stop in chunks:
            chunk = self.inspections.chunk(plan, start, stop, gens)
            draws = o.draw_latent(gens, chunk.units, self.fx)
            rows = self.inspections.jiangsu[chunk.county] & chunk.units.campaign
            units.append(_subset(chunk.units, rows))
            latent.append(_subset(draws, rows))
        return calibrate(_concat(units), _concat(latent), self.fx, self._reference)


def _subset(batch, rows: np.ndarray):
    return type(batch)(**{k: v[rows] for k, v in batch.__dict__.items()})


def _concat(batches: list):
    return type(batches[0])(**{k: np.concatenate([b.__dict__[k] for b in batches]) for k in batches[0].__dict__})
