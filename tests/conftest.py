"""Shared fixtures: a tiny hand-made dataset that meets the contract."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
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


def _shared_folder(tmp_path_factory, name: str) -> Path:
    """A folder of this test run that every xdist worker sees (the workers' temporary folders' parent)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def world_factory(tmp_path_factory):
    """`world(seed, scale)`: the simulated world's folder, written once per test run and shared by
    every test and every xdist worker (a file lock makes the first one write it). Read it, never change it."""
    from analysis.synth import DEFAULT_SEED, write_dataset

    root = _shared_folder(tmp_path_factory, "worlds")

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


# --- the whole report of a small world, built once per test run -----------------------------------------

REPORT_SEED, REPORT_SCALE, REPORT_PERIOD = 11, 0.3, "2024Q4"


@pytest.fixture(scope="session")
def report_world(world_factory) -> Path:
    """The small world the shared report is built from (seed 11, scale 0.3: about 130,000 inspections; the
    scorecard, figure and table tests use it too). A smaller world builds no faster: the kernels' start-up,
    imports and pages cost the time, not the rows (scale 0.1 and 0.3 both take ~50 s)."""
    return world_factory(seed=REPORT_SEED, scale=REPORT_SCALE)


@pytest.fixture(scope="session")
def once_per_run(tmp_path_factory):
    """`once_per_run(name, make)`: `make(folder)` runs once per test run, for the first test (of any xdist
    worker) that asks for `name`, in a new folder; every call, in every worker, waits for it and gets its
    JSON-able answer. For costly things that tests only read, such as built reports."""
    root = _shared_folder(tmp_path_factory, "once")

    def once(name: str, make):
        folder, answer = root / name, root / f"{name}.json"
        with _file_lock(root / f"{name}.lock"):
            if not answer.exists():
                shutil.rmtree(folder, ignore_errors=True)  # left by a `make` that raised
                folder.mkdir()
                answer.write_text(json.dumps(make(folder)))
        return json.loads(answer.read_text())

    return once


@pytest.fixture(scope="session")
def built_report(report_world, once_per_run) -> Path:
    """The published folder of the full report (every notebook) of `report_world` for 2024Q4.

    Built as `make report` builds it (a relative --out, the default cache beside it, two jobs), once
    per test run and shared by every test and every xdist worker. Read it, never change it. Tests of
    building itself (caching, failures, publishing) build their own from the tiny fixture notebooks.
    """
    from analysis.report import build

    def make(folder: Path) -> dict:
        with contextlib.chdir(folder):
            result = build(report_world, REPORT_PERIOD, out=Path("reports") / REPORT_PERIOD, jobs=2, log=print)
        failed = [f"{n.name}: {n.status}: {n.message}" for n in result.notebooks if n.status != "ok"]
        return {"out": str(folder / "reports" / REPORT_PERIOD), "ok": result.ok, "failed": failed}

    built = once_per_run("built-report", make)
    if not built["ok"]:
        pytest.fail(f"the shared report did not build (nothing published at {built['out']}): {built['failed']}")
    return Path(built["out"])


@pytest.fixture
def without_pdf(monkeypatch):
    """Builds in this test print no report.pdf: Chromium takes seconds per build, and builds of the
    fixture notebooks test building, not printing (the PDF is tested on `built_report`)."""
    from analysis.report import pdf

    monkeypatch.setattr(pdf, "find_chromium", lambda: None)
