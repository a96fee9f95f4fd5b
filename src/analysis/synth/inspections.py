"""The inspections of a half-year, generated in chunks of a bounded number of rows.

A half-year's rows are fixed by its generator: first the number of inspections in
each county-quarter, then thirteen per-inspection draws (`DRAWS`), each one value
per inspection in row order, made one after the other. A half-year that fits in one
chunk makes them exactly so, from the one generator. A larger one gives each draw a
generator of its own, positioned where that draw starts in the one generator's
stream (`Inspections.positioned`), and takes each chunk's share from it. numpy's
Generator draws the distributions used here value by value (n1 values then n2 are
the n1 + n2 values of one draw; `choice` with weights is one uniform per value), so
any chunk size gives the same world; tests/test_synth.py checks it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import outcomes as o
from . import params as p
from . import world as w

# The per-inspection draws in the order a one-chunk half-year makes them (the latent
# outcome draws are named as outcomes.Latent's fields). A new draw goes in its place
# here, and `Inspections.positioned` says how to step over it.
DRAWS = (
    "visit",  # which enterprise (riskier ones more often)
    "surprise",
    "outside_team",
    *o.LATENT_DRAWS,
    "day",  # day of the quarter
    "team",  # which county of the province an outside team comes from
    "officers",
    "technical",  # a technical inspector on the team
)
UNIFORM_DRAWS = frozenset({"surprise", "outside_team", "u_case", "u_key", "u_double", "day", "technical"})
NEVER = np.iinfo(np.int64).max
EXTRA_OFFICERS_MEAN = 0.7  # officers on a visit: 2 + Poisson(0.7)

Generators = Mapping[str, np.random.Generator]


@dataclass
class HalfYear:
    """The county-quarter cells of a half-year in row order (rows run county by county)."""

    county: np.ndarray  # per cell: county position
    quarter: np.ndarray  # per cell: quarter position in the world's quarters
    n: np.ndarray  # per cell: inspections
    block: np.ndarray  # per cell: which run of cells of one county it belongs to
    block_county: np.ndarray  # per run: its county

    @property
    def rows(self) -> int:
        return int(self.n.sum())

    def chunks(self, rows_per_chunk: int) -> list[tuple[int, int]]:
        """Row ranges [start, stop) of at most `rows_per_chunk` rows (one, possibly empty, when all fit)."""
        return [(a, min(a + rows_per_chunk, self.rows)) for a in range(0, self.rows, rows_per_chunk)] or [(0, 0)]

    def cells_in(self, start: int, stop: int) -> np.ndarray:
        """Rows of each cell within [start, stop)."""
        ends = np.cumsum(self.n)
        return np.clip(np.minimum(ends, stop) - np.maximum(ends - self.n, start), 0, None)


@dataclass
class Chunk:
    """Rows of a half-year: where, when and whom, with covariates and treatments."""

    county: np.ndarray
    quarter: np.ndarray
    enterprise: np.ndarray  # position in the enterprises table
    units: o.Units


class Inspections:
    """Lookups of the world that inspection rows are built from, and the rows themselves."""

    def __init__(
        self,
        world: p.World,
        enterprises: pd.DataFrame,
        counties: pd.DataFrame,
        programs: pd.DataFrame,
        staffing: pd.DataFrame,
        rates: pd.Series,
    ):
        self.fx = world.effects
        self.rates = rates  # expected inspections by (region_id, period)
        quarters = world.quarters
        self.quarter_labels = np.asarray(quarters.astype(str), dtype=object)
        self.quarter_position = {label: i for i, label in enumerate(self.quarter_labels)}
        self.ordinal = quarters.asi8
        self.first_day = quarters.start_time.to_numpy().astype("datetime64[D]")
        self.days = (quarters.end_time.to_numpy().astype("datetime64[D]") - self.first_day).astype(int) + 1

        self.county_ids = counties["region_id"].to_numpy(dtype=object)
        self.county_position = {region_id: i for i, region_id in enumerate(self.county_ids)}
        province = counties["province"].to_numpy(dtype=object)
        self.jiangsu = province == "Jiangsu"
        # Counties grouped by province (provinces sorted, counties in order): an outside team
        # comes from position (own + k) mod size of its province's counties, 0 < k < size.
        self.by_province = np.argsort(province, kind="stable")
        self.province_start = np.searchsorted(province[self.by_province], province)
        self.province_size = counties.groupby("province")["region_id"].transform("size").to_numpy()
        self.province_position = counties.groupby("province").cumcount().to_numpy()

        self.campaign_start = _start_ordinals(programs, "surprise_campaign", self.county_ids)
        self.cross_start = _start_ordinals(programs, "cross_region", self.county_ids)
        staff = staffing.set_index(["region_id", "period"])
        cells = pd.MultiIndex.from_product([self.county_ids, self.quarter_labels])
        share = (staff["technical_inspectors"] / staff["officers"]).reindex(cells).to_numpy()
        self.technical_share = share.reshape(len(self.county_ids), len(self.quarter_labels))

        self.enterprise_ids = enterprises["enterprise_id"].to_numpy(dtype=object)
        self.risk = enterprises["risk_level"].to_numpy()
        self.industry = enterprises["industry_code"].to_numpy()
        self.size = enterprises["size_code"].to_numpy()
        by_region = enterprises.groupby("region_id", sort=False).indices
        self.pools = [by_region[region_id] for region_id in self.county_ids]
        weights = [0.5 + self.risk[pool] for pool in self.pools]
        self.pick_p = [weight / weight.sum() for weight in weights]

    def half_year(self, half: tuple[str, str], rng: np.random.Generator) -> HalfYear:
        """Draw how many inspections each county-quarter of the half-year has."""
        rates = self.rates.loc[(slice(None), list(half))]
        counts = rng.poisson(rates.to_numpy())
        # Rows run county by county, in order of first appearance, each county's cells in order.
        cells = rates.index.to_frame(index=False).assign(n=counts)
        run, region_ids = pd.factorize(cells["region_id"])
        order = np.argsort(run, kind="stable")
        return HalfYear(
            county=np.array([self.county_position[r] for r in region_ids])[run[order]],
            quarter=np.array([self.quarter_position[q] for q in cells["period"]])[order],
            n=counts[order],
            block=run[order],
            block_county=np.array([self.county_position[r] for r in region_ids]),
        )

    def positioned(self, plan: HalfYear, chunks: list[tuple[int, int]], rng: np.random.Generator) -> Generators:
        """Each draw's generator, at the state where the one-chunk half-year starts it in `rng`.

        Walks `rng` through every draw, chunk by chunk, discarding the values. Only the
        hazard counts depend on earlier draws (their means on the enterprise and the
        surprise state); those are remade from the generators already positioned.
        """
        starts: dict[str, np.random.Generator] = {}
        for name in DRAWS:
            starts[name] = copy.deepcopy(rng)
            if name == DRAWS[-1]:
                break
            earlier = fresh(starts)
            for start, stop in chunks:
                n = stop - start
                if name in UNIFORM_DRAWS:
                    rng.random(n)
                elif name == "visit":
                    self._pick(plan, start, stop, rng)
                elif name in ("major", "other"):
                    rng.poisson(o.hazard_count_means(self.chunk(plan, start, stop, earlier).units, self.fx)[name])
                elif name == "gamma":
                    o.draw_penalty_multiplier(rng, n, self.fx)
                elif name == "team":
                    _team_draw(rng, self.province_size[self._rows(plan, start, stop)[0]])
                elif name == "officers":
                    _officers_draw(rng, n)
                else:
                    raise NotImplementedError(f"draw {name!r}: say how to skip it")
        return starts

    def chunk(self, plan: HalfYear, start: int, stop: int, gens: Generators) -> Chunk:
        """Rows [start, stop): who is inspected where and when, covariates and treatments."""
        county, quarter = self._rows(plan, start, stop)
        enterprise = self._pick(plan, start, stop, gens["visit"])
        ordinal = self.ordinal[quarter]
        cross_start = self.cross_start[county]
        adopted = cross_start < NEVER
        event_time = np.where(adopted, ordinal - np.where(adopted, cross_start, 0), -1)
        cross_active = adopted & (event_time >= 0)
        n = len(county)
        units = o.Units(
            risk=self.risk[enterprise],
            industry=self.industry[enterprise],
            size=self.size[enterprise],
            campaign=ordinal >= self.campaign_start[county],
            cross_active=cross_active,
            event_time=np.maximum(event_time, 0),
            surprise=np.zeros(n, dtype=bool),
            outside_team=np.zeros(n, dtype=bool),
        )
        units.surprise = gens["surprise"].random(n) < o.surprise_probability(units, self.fx)
        units.outside_team = cross_active & (gens["outside_team"].random(n) < self.fx.outside_team_share)
        return Chunk(county, quarter, enterprise, units)

    def _rows(self, plan: HalfYear, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        take = plan.cells_in(start, stop)
        return np.repeat(plan.county, take), np.repeat(plan.quarter, take)

    def _pick(self, plan: HalfYear, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        """The inspected enterprises of rows [start, stop), one weighted choice per run of a county's rows."""
        per_run = np.bincount(plan.block, weights=plan.cells_in(start, stop), minlength=len(plan.block_county))
        picks = [
            rng.choice(self.pools[county], size=int(m), p=self.pick_p[county])
            for county, m in zip(plan.block_county, per_run, strict=True)
            if m > 0
        ]
        return np.concatenate(picks) if picks else np.zeros(0, dtype=np.intp)

    def table(self, chunk: Chunk, realized: dict[str, np.ndarray], first_number: int, gens: Generators) -> pd.DataFrame:
        """The chunk's rows of the inspections table, numbered from `first_number`."""
        units, county, quarter = chunk.units, chunk.county, chunk.quarter
        n = len(county)
        day = (gens["day"].random(n) * self.days[quarter]).astype(int)
        size = self.province_size[county]
        team = (self.province_position[county] + _team_draw(gens["team"], size)) % size
        outside = units.outside_team
        home = self.county_ids[county]  # the inspecting team's county: its own, or another of its province
        home[outside] = self.county_ids[self.by_province[self.province_start[county] + team]][outside]
        officers = _officers_draw(gens["officers"], n)
        technical = gens["technical"].random(n) < np.minimum(1.0, 2 * self.technical_share[county, quarter])
        numbers = np.arange(first_number, first_number + n)
        return pd.DataFrame(
            {
                "inspection_id": pd.Series(numbers).map("INS{:09d}".format),
                "region_id": self.county_ids[county],
                "inspection_date": self.first_day[quarter] + day.astype("timedelta64[D]"),
                "enterprise_id": self.enterprise_ids[chunk.enterprise],
                "industry": np.asarray(p.INDUSTRIES)[units.industry],
                "enterprise_size": np.asarray(p.SIZES)[units.size],
                "risk_level": units.risk,
                "surprise": units.surprise,
                "cross_region": outside,
                "inspecting_region_id": home,
                "officers": officers,
                "technical_inspector": technical,
                "key_matter": realized["key_matter"],
                "hazards_found": realized["hazards_found"],
                "major_hazards": realized["major_hazards"],
                "case_filed": realized["case_filed"],
                "penalty_amount": realized["penalty_amount"],
                "double_penalty": realized["double_penalty"],
            }
        )

    def places(self, chunk: Chunk) -> pd.DataFrame:
        """Region and quarter label of each row (what the truth groups by)."""
        return pd.DataFrame({"region_id": self.county_ids[chunk.county], "period": self.quarter_labels[chunk.quarter]})


def one_generator(rng: np.random.Generator) -> Generators:
    """Every draw from the one generator, one after the other (a one-chunk half-year)."""
    return dict.fromkeys(DRAWS, rng)


def fresh(gens: Generators) -> dict[str, np.random.Generator]:
    """Copies of `gens` at their current states (where one generator serves several draws, so does its copy)."""
    copies: dict[int, np.random.Generator] = {}
    for rng in gens.values():
        if id(rng) not in copies:
            copies[id(rng)] = copy.deepcopy(rng)
    return {name: copies[id(rng)] for name, rng in gens.items()}


def _team_draw(rng: np.random.Generator, province_size: np.ndarray) -> np.ndarray:
    return rng.integers(1, province_size)  # any other county of the province


def _officers_draw(rng: np.random.Generator, n: int) -> np.ndarray:
    return 2 + rng.poisson(EXTRA_OFFICERS_MEAN, n)


def _start_ordinals(programs: pd.DataFrame, program: str, county_ids: np.ndarray) -> np.ndarray:
    """Adoption quarter ordinal of each county (NEVER where not adopted)."""
    start = {region: quarter.ordinal for region, quarter in w.program_start(programs, program).items()}
    return np.array([start.get(region, NEVER) for region in county_ids], dtype=np.int64)
