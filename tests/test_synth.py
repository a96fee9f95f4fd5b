"""The simulated world: valid, reproducible, calibrated, with its planted effects in place."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.data import load
from analysis.errors import ParameterError
from analysis.metrics import compute
from analysis.synth import DEFAULT_SEED, params, simulate, write_dataset

CALIBRATION_TOLERANCE = 0.02  # the "within 2%"


def test_generated_data_validates_cleanly(default_world):
    dataset = load(default_world, strict=True)
    assert len(dataset.inspections) > 200_000
    assert dataset.reconciliation()["balanced"].all()
    names = set(dataset.regions["province"].astype(str))
    for named in ("Beijing", "Zhejiang", "Sichuan", "Jiangsu", "Shandong", "Inner Mongolia", "Hunan", "Guangdong"):
        assert named in names
    quarters = dataset.inspections["inspection_date"].dt.to_period("Q")
    assert str(quarters.min()) == "2019Q1" and str(quarters.max()) == "2024Q4"


@pytest.mark.parametrize("metric", sorted(params.JIANGSU_TARGETS))
def test_jiangsu_figures_reproduce_the_notice(default_world, metric):
    row = compute(load(default_world), by="province", period="2022H1", yoy=True).set_index("province").loc["Jiangsu"]
    target = params.JIANGSU_TARGETS[metric]
    assert row[f"{metric}_yoy"] == pytest.approx(target, rel=CALIBRATION_TOLERANCE)


def test_hunan_team_expansion_matches_the_notice(default_world):
    dataset = load(default_world)
    before = compute(dataset, by="province", period="2021").set_index("province").loc["Hunan", "officers"]
    after = compute(dataset, by="province", period="2022").set_index("province").loc["Hunan", "officers"]
    assert (before, after) == (1952, 2767)


def test_truth_lists_every_required_estimand(default_world):
    truth = json.loads((default_world / "truth.json").read_text())
    present = {(r["study"], r["outcome"], r["estimand"]) for r in truth["estimands"]}
    required = [
        ("surprise", o, e)
        for o in ("hazards_found", "major_hazard_found", "case_filed", "penalty_amount")
        for e in ("ATE", "ATT")
    ]
    required += [
        ("cross_region", o, e)
        for o in ("case_rate", "avg_case_value", "major_hazard_filing_rate")
        for e in ["ATT"] + [f"ATT_e{k}" for k in range(5)]
    ]
    required += [("team", o, "elasticity") for o in ("inspections", "cases", "major_hazards", "penalty_total")]
    assert set(required) <= present
    assert all(np.isfinite(r["value"]) for r in truth["estimands"])


def test_same_seed_gives_byte_identical_files(tmp_path):
    digests = []
    for run in ("a", "b"):
        write_dataset(tmp_path / run, seed=7, scale=0.05)
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted((tmp_path / run).iterdir())})
    assert digests[0] == digests[1]
    write_dataset(tmp_path / "c", seed=8, scale=0.05)
    assert (
        hashlib.sha256((tmp_path / "c" / "inspections.parquet").read_bytes()).hexdigest()
        != digests[0]["inspections.parquet"]
    )


SMALL = {"seed": 3, "scale": 0.05}  # ~1,800 inspections a half-year
# That world's inspections as generated before half-years were streamed in chunks (commit d822649):
# one figure per random draw, so a change in any draw's stream shows here.
SMALL_WORLD_FIGURES = {
    "rows": 21172,
    "enterprise_numbers": 853340572,
    "surprise": 6053,
    "cross_region": 1980,
    "major_hazards": 6037,
    "hazards_found": 58305,
    "case_filed": 4989,
    "key_matter": 3509,
    "double_penalty": 773,
    "penalty_amount": 110254125.0,
    "days_since_2019": 25644307,
    "inspecting_county_numbers": 116298,
    "officers": 57406,
    "technical_inspector": 6846,
}


@pytest.fixture(scope="module")
def small_worlds(tmp_path_factory):
    """The small world written whole (each half-year one chunk) and in chunks of 400 rows."""
    root = tmp_path_factory.mktemp("chunks")
    write_dataset(root / "whole", **SMALL)
    write_dataset(root / "chunked", **SMALL, rows_per_chunk=400)
    return root / "whole", root / "chunked"


def test_chunk_size_changes_nothing(small_worlds):
    whole, chunked = small_worlds
    assert pq.ParquetFile(whole / "inspections.parquet").num_row_groups == 12  # half-years
    assert pq.ParquetFile(chunked / "inspections.parquet").num_row_groups >= 12 * 4
    for table in ("inspections", "regions", "staffing", "programs", "accidents"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(chunked / f"{table}.parquet"), pd.read_parquet(whole / f"{table}.parquet"), check_exact=True
        )
    assert json.loads((chunked / "truth.json").read_text()) == json.loads((whole / "truth.json").read_text())


def test_a_seed_gives_the_same_world_as_before_streaming(small_worlds):
    for folder in small_worlds:
        ins = pd.read_parquet(folder / "inspections.parquet")
        figures = {
            "rows": len(ins),
            "enterprise_numbers": int(ins["enterprise_id"].str[1:].astype(int).sum()),
            "surprise": int(ins["surprise"].sum()),
            "cross_region": int(ins["cross_region"].sum()),
            "major_hazards": int(ins["major_hazards"].sum()),
            "hazards_found": int(ins["hazards_found"].sum()),
            "case_filed": int(ins["case_filed"].sum()),
            "key_matter": int(ins["key_matter"].sum()),
            "double_penalty": int(ins["double_penalty"].sum()),
            "penalty_amount": float(ins["penalty_amount"].sum()),
            "days_since_2019": int((ins["inspection_date"] - pd.Timestamp("2019-01-01")).dt.days.sum()),
            "inspecting_county_numbers": int(ins["inspecting_region_id"].str[-2:].astype(int).sum()),
            "officers": int(ins["officers"].sum()),
            "technical_inspector": int(ins["technical_inspector"].sum()),
        }
        assert figures == SMALL_WORLD_FIGURES


@pytest.mark.parametrize("rows", [0, -5, 2.5, True])
def test_rows_per_chunk_must_be_a_positive_whole_number(tmp_path, rows):
    with pytest.raises(ParameterError, match="rows_per_chunk"):
        write_dataset(tmp_path / "w", scale=0.05, rows_per_chunk=rows)
    assert not (tmp_path / "w").exists()


@pytest.fixture(scope="module")
def world():
    return simulate(seed=DEFAULT_SEED)


def test_surprise_visits_go_to_riskier_sites_so_naive_comparison_overstates(world):
    inspections = world.tables["inspections"]
    by_surprise = inspections.groupby("surprise")["risk_level"].mean()
    assert by_surprise[True] > by_surprise[False] + 0.2
    naive = inspections.groupby("surprise")["hazards_found"].mean().diff().iloc[-1]
    truth = next(r["value"] for r in world.truth if (r["outcome"], r["estimand"]) == ("hazards_found", "ATE"))
    assert naive > truth * 1.3


def test_cross_region_effects_grow_with_time_since_adoption(world):
    truth = pd.DataFrame(world.truth)
    dynamic = truth[(truth["outcome"] == "case_rate") & truth["estimand"].str.startswith("ATT_e")]["value"].to_numpy()
    assert np.all(np.diff(dynamic) > 0)
    assert dynamic[0] > 0


def test_team_expansion_raises_inspections_with_elasticity_below_one(world):
    """Two-way FE regression of log inspections on log officers recovers the planted 0.6."""
    inspections = world.tables["inspections"]
    counts = inspections.groupby(["region_id", inspections["inspection_date"].dt.to_period("Q").astype(str)]).size()
    staff = world.tables["staffing"].set_index(["region_id", "period"])["officers"]
    panel = pd.DataFrame({"y": np.log(counts), "x": np.log(staff.reindex(counts.index).to_numpy())}).reset_index()
    panel.columns = ["region", "quarter", "y", "x"]
    design = pd.get_dummies(panel[["region", "quarter"]], drop_first=True, dtype=float).assign(x=panel["x"], const=1.0)
    coef, *_ = np.linalg.lstsq(design.to_numpy(), panel["y"].to_numpy(), rcond=None)
    elasticity = coef[list(design.columns).index("x")]
    assert elasticity == pytest.approx(params.Effects().inspections_elasticity, abs=0.1)
    assert elasticity < 1
