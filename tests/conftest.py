"""Shared fixtures: a tiny hand-made dataset that meets the contract."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).parent


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Three regions, six inspections, staffing, programs, accidents; all valid, all text."""
    regions = pd.DataFrame(
        {
            "region_id": ["P1", "C1", "C2"],
            "name": ["Province One", "City One", "City Two"],
            "province": ["Province One"] * 3,
            "level": ["province", "city", "city"],
            "parent_id": ["", "P1", "P1"],
            "enterprises": ["100", "60", "40"],
            "population": ["", "1000", "800"],
        }
    )
    inspections = pd.DataFrame(
        {
            "inspection_id": [f"I{i}" for i in range(1, 7)],
            "region_id": ["C1", "C1", "C2", "C2", "C1", "C2"],
            "inspection_date": ["2022-01-05", "2022-02-10", "2022-03-15", "2022-04-20", "2023-01-05", "2023-02-01"],
            "enterprise_id": ["E1", "E2", "E3", "E4", "E1", "E3"],
            "industry": ["mining", "trade", "fireworks", "mining", "construction", "other"],
            "enterprise_size": ["small", "large", "", "medium", "small", "large"],
            "risk_level": ["4", "1", "2", "", "3", "2"],
            "surprise": ["true", "false", "Yes", "0", "1", "no"],
            "cross_region": ["false", "true", "false", "false", "true", "false"],
            "inspecting_region_id": ["C1", "C2", "", "C2", "C2", ""],
            "officers": ["2", "3", "2", "", "4", "2"],
            "technical_inspector": ["true", "", "false", "true", "false", "true"],
            "key_matter": ["true", "false", "false", "true", "", "false"],
            "hazards_found": ["3", "0", "5", "1", "2", "0"],
            "major_hazards": ["1", "0", "2", "0", "0", "0"],
            "case_filed": ["true", "false", "true", "false", "true", "false"],
            "penalty_amount": ["20000", "0", "5000.5", "0", "0", "0"],
            "double_penalty": ["true", "false", "false", "false", "false", "false"],
        }
    )
    staffing = pd.DataFrame(
        {
            "region_id": ["C1", "C1", "C2", "C2"],
            "period": ["2022Q1", "2022Q2", "2022Q1", "2022Q2"],
            "officers": ["10", "12", "8", "8"],
            "technical_inspectors": ["5", "6", "", "4"],
            "social_supervisors": ["1", "1", "0", "0"],
            "trainings": ["2", "0", "1", "1"],
            "trainees": ["20", "0", "8", "9"],
        }
    )
    programs = pd.DataFrame(
        {
            "region_id": ["C1", "C2"],
            "program": ["cross_region", "surprise_campaign"],
            "start_period": ["2022Q2", "2022Q3"],
        }
    )
    accidents = pd.DataFrame(
        {"region_id": ["C1", "C2"], "period": ["2022Q1", "2022Q1"], "accidents": ["1", "0"], "deaths": ["0", "0"]}
    )
    return {
        "regions": regions,
        "inspections": inspections,
        "staffing": staffing,
        "programs": programs,
        "accidents": accidents,
    }


def write_csv_dataset(directory: Path, tables: dict[str, pd.DataFrame]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return directory


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    return write_csv_dataset(tmp_path / "tiny", tiny_tables())


# --- simulated worlds, built once per test run ----------------------------------------------------


@contextlib.contextmanager
def _file_lock(path: Path):
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes
        yield


@pytest.fixture(scope="session")
def world_factory(tmp_path_factory):
    """`world(seed, scale)`: the simulated world's folder, written once per test run and shared by
    every test and every xdist worker (a file lock makes the first one write it). Read it, never change it."""
    from analysis.synth import DEFAULT_SEED, write_dataset

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "worlds"
    root.mkdir(exist_ok=True)

    def world(seed: int = DEFAULT_SEED, scale: float = 1.0) -> Path:
        path = root / f"seed{seed}-scale{scale:g}"
        with _file_lock(root / f"{path.name}.lock"):
            if not (path / "truth.json").exists():
                write_dataset(path, seed=seed, scale=scale)
        return path

    return world


@pytest.fixture(scope="session")
def default_world(world_factory) -> Path:
    """The default simulated world (the calibrated seed, scale 1)."""
    return world_factory()
