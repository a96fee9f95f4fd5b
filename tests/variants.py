"""Contract-valid variants of a small simulated world: the data a new user might bring.

Each variant changes the world the way real data differs from it (an optional column
missing, no programme of some kind, one province, an early window, other file formats,
opaque ids, ...) and still passes `analysis validate` with nothing quarantined. The
any-data tests build a full report on each and check that every notebook completes and
says, in words, what it could not do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import contract as c

BASE_SEED, BASE_SCALE = 11, 0.08
Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Variant:
    name: str
    change: Callable[[Tables], Tables] = lambda tables: tables
    format: str = "parquet"  # parquet | csv | duckdb
    period: str = "2024Q4"
    truth: str = "drop"  # keep (the data is still the simulated world) | drop | foreign | not-json
    expect: dict[str, tuple[str, ...]] = field(default_factory=dict)  # notebook -> sentences its page must contain


def optional_columns() -> list[tuple[str, str]]:
    return [(t.name, col.name) for t in c.TABLES if t.name != "accidents" for col in t.columns if not col.required]


def drop_columns(*pairs: tuple[str, str]) -> Callable[[Tables], Tables]:
    def change(tables: Tables) -> Tables:
        out = dict(tables)
        for table, column in pairs:
            out[table] = out[table].drop(columns=column)
        return out

    return change


def without_programs(*names: str) -> Callable[[Tables], Tables]:
    def change(tables: Tables) -> Tables:
        programs = tables["programs"]
        keep = ~programs["program"].isin(names) if names else np.zeros(len(programs), dtype=bool)
        return {**tables, "programs": programs[keep].reset_index(drop=True)}

    return change


def everyone_adopts(start: str | None) -> Callable[[Tables], Tables]:
    """Every county runs cross-region enforcement: from `start`, or (None) staggered with no never-adopters."""

    def change(tables: Tables) -> Tables:
        programs = tables["programs"]
        counties = tables["regions"].loc[tables["regions"]["level"] == "county", "region_id"]
        existing = programs[programs["program"] == "cross_region"].set_index("region_id")["start_period"]
        late = sorted(existing.unique())[-1]
        starts = [start or existing.get(r, late) for r in counties]
        cross = pd.DataFrame({"region_id": counties.to_numpy(), "program": "cross_region", "start_period": starts})
        others = programs[programs["program"] != "cross_region"]
        return {**tables, "programs": pd.concat([others, cross], ignore_index=True)}

    return change


def keep_provinces(*provinces: str) -> Callable[[Tables], Tables]:
    def change(tables: Tables) -> Tables:
        regions = tables["regions"][tables["regions"]["province"].isin(provinces)]
        ids = set(regions["region_id"])
        out = {"regions": regions.reset_index(drop=True)}
        for name, frame in tables.items():
            if name == "regions":
                continue
            frame = frame[frame["region_id"].isin(ids)]
            if name == "inspections":
                frame = frame[frame["inspecting_region_id"].isna() | frame["inspecting_region_id"].isin(ids)]
            out[name] = frame.reset_index(drop=True)
        return out

    return change


def rename_provinces(tables: Tables) -> Tables:
    regions = tables["regions"].copy()
    names = {p: f"Province {i + 1}" for i, p in enumerate(sorted(regions["province"].unique()))}
    regions["province"] = regions["province"].map(names)
    regions["name"] = [f"Region {i}" for i in range(len(regions))]
    return {**tables, "regions": regions}


def window(first: str, last: str) -> Callable[[Tables], Tables]:
    """Keep the quarters from `first` to `last` (inspections, staffing, accidents)."""

    def change(tables: Tables) -> Tables:
        out = dict(tables)
        quarter = tables["inspections"]["inspection_date"].dt.to_period("Q").astype(str)
        out["inspections"] = tables["inspections"][(quarter >= first) & (quarter <= last)].reset_index(drop=True)
        for name in ("staffing", "accidents"):
            period = tables[name]["period"].astype(str)
            out[name] = tables[name][(period >= first) & (period <= last)].reset_index(drop=True)
        return out

    return change


def drop_quarters(*quarters: str) -> Callable[[Tables], Tables]:
    def change(tables: Tables) -> Tables:
        quarter = tables["inspections"]["inspection_date"].dt.to_period("Q").astype(str)
        return {**tables, "inspections": tables["inspections"][~quarter.isin(quarters)].reset_index(drop=True)}

    return change


def staffing_gaps(tables: Tables) -> Tables:
    """Every fifth county misses its last two staffing quarters and one in the middle."""
    staffing = tables["staffing"]
    counties = sorted(staffing["region_id"].unique())[::5]
    periods = sorted(staffing["period"].astype(str).unique())
    gone = staffing["region_id"].isin(counties) & staffing["period"].astype(str).isin(
        [periods[-1], periods[-2], periods[8]]
    )
    return {**tables, "staffing": staffing[~gone].reset_index(drop=True)}


def tiny(tables: Tables) -> Tables:
    inspections = tables["inspections"].sample(n=300, random_state=3).sort_values("inspection_date")
    return {**tables, "inspections": inspections.reset_index(drop=True)}


def shuffled(tables: Tables) -> Tables:
    return {name: frame.sample(frac=1.0, random_state=5).reset_index(drop=True) for name, frame in tables.items()}


def opaque_ids(tables: Tables) -> Tables:
    """Region, inspection and enterprise ids replaced by hashes (no structure to lean on)."""

    def hashed(values: pd.Series) -> pd.Series:
        mapping = {v: hashlib.sha1(str(v).encode()).hexdigest()[:12] for v in values.dropna().unique()}
        return values.map(mapping)

    out = {name: frame.copy() for name, frame in tables.items()}
    region_map = {v: hashlib.sha1(v.encode()).hexdigest()[:10] for v in out["regions"]["region_id"]}
    for frame in out.values():
        for column in ("region_id", "parent_id", "inspecting_region_id"):
            if column in frame.columns:
                frame[column] = frame[column].map(region_map)
    out["inspections"]["inspection_id"] = hashed(out["inspections"]["inspection_id"])
    out["inspections"]["enterprise_id"] = hashed(out["inspections"]["enterprise_id"])
    return out


def no_accidents(tables: Tables) -> Tables:
    return {name: frame for name, frame in tables.items() if name != "accidents"}


VARIANTS: tuple[Variant, ...] = (
    Variant("base", truth="keep"),
    *(Variant(f"no-{table}.{column}", drop_columns((table, column))) for table, column in optional_columns()),
    Variant(
        "no-optional-columns",
        drop_columns(*optional_columns()),
        expect={
            "02_surprise_inspections": ("has a risk grade (column risk_level)",),
            "04_team_expansion": ("trainees are not recorded",),
        },
    ),
    Variant("no-accidents", no_accidents),
    Variant("programs-empty", without_programs()),
    Variant(
        "no-surprise-campaign",
        without_programs("surprise_campaign"),
        expect={"02_surprise_inspections": ("No surprise campaign was in force",)},
    ),
    Variant(
        "no-cross-region",
        without_programs("cross_region"),
        expect={"03_cross_region_enforcement": ("has no cross_region programme",)},
    ),
    Variant("no-never-treated", everyone_adopts(None)),
    Variant(
        "everyone-adopts-at-once",
        everyone_adopts("2019Q1"),
        expect={"03_cross_region_enforcement": ("had done so by 2019Q1, the first quarter in the data",)},
    ),
    Variant("provinces-renamed", rename_provinces),
    Variant("one-province", keep_provinces("Shandong")),
    Variant(
        "eight-quarters-early",
        window("2019Q1", "2020Q4"),
        period="2020Q4",
        expect={"01_reform_overview": ("the data has no inspections in period 2022H1",)},
    ),
    Variant("eight-quarters-late", window("2023Q1", "2024Q4")),
    Variant("period-first-quarter", period="2019Q1", truth="keep"),
    Variant("period-mid-way", period="2021Q4", truth="keep"),
    Variant("csv", format="csv", truth="keep"),
    Variant("duckdb", format="duckdb"),
    Variant("opaque-ids", opaque_ids),
    Variant("rows-shuffled", shuffled, truth="keep"),
    Variant("zero-inspection-quarters", drop_quarters("2020Q2", "2022Q4")),
    Variant("staffing-gaps", staffing_gaps),
    Variant("tiny", tiny),
    Variant("foreign-truth", truth="foreign"),
    Variant("truth-not-json", truth="not-json"),
)
VARIANTS_BY_NAME = {v.name: v for v in VARIANTS}


def base_world(directory: Path) -> tuple[Tables, dict]:
    """The small world every variant starts from (written to `directory` unless it is there), and its truth.json."""
    from analysis.synth import write_dataset

    if not (directory / "truth.json").exists():
        write_dataset(directory, seed=BASE_SEED, scale=BASE_SCALE)
    tables = {t.name: pd.read_parquet(directory / f"{t.name}.parquet") for t in c.TABLES}
    return tables, json.loads((directory / "truth.json").read_text())


def write_variant(variant: Variant, tables: Tables, truth: dict, directory: Path) -> Path:
    """Write the variant's tables in its format; return the dataset path (a folder or a .duckdb file)."""
    tables = variant.change({name: frame.copy() for name, frame in tables.items()})
    directory.mkdir(parents=True, exist_ok=True)
    if variant.format == "duckdb":
        target = directory / "data.duckdb"
        _write_duckdb(tables, target)
    else:
        target = directory
        for name, frame in tables.items():
            if variant.format == "csv":
                _text(frame).to_csv(directory / f"{name}.csv", index=False)
            else:
                frame.to_parquet(directory / f"{name}.parquet", index=False)
    if variant.format != "duckdb":
        if variant.truth == "keep":
            (directory / "truth.json").write_text(json.dumps(truth))
        elif variant.truth == "foreign":
            (directory / "truth.json").write_text(json.dumps({"model": "another project", "estimands": {"x": 1}}))
        elif variant.truth == "not-json":
            (directory / "truth.json").write_text("these are not the droids\n")
    return target


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out


def _write_duckdb(tables: Tables, target: Path) -> None:
    import duckdb

    con = duckdb.connect(str(target))
    try:
        for name, frame in tables.items():
            con.register("frame_view", frame)
            con.execute(f'create table "{name}" as select * from frame_view')
            con.unregister("frame_view")
    finally:
        con.close()
