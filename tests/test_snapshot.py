"""The validated snapshot: what `load` returned, written once and read back unchanged, used only for its source."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from conftest import tiny_tables, write_csv_dataset

from analysis import snapshot
from analysis.data import load


def assert_same_dataset(left, right) -> None:
    for field in dataclasses.fields(left):
        a, b = getattr(left, field.name), getattr(right, field.name)
        if field.name == "tables":
            assert list(a) == list(b)
            for name in a:
                pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
        elif field.name == "quarantine":
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj="quarantine")
        else:
            assert a == b, field.name


@pytest.fixture
def faulty_dir(tmp_path):
    """The tiny dataset with one bad risk level and one bad date: two rows in quarantine."""
    tables = tiny_tables()
    tables["inspections"].loc[1, "risk_level"] = "9"
    tables["inspections"].loc[2, "inspection_date"] = "2022-13-40"
    return write_csv_dataset(tmp_path / "faulty", tables)


def test_a_snapshot_reads_back_exactly_what_load_returned(faulty_dir, tmp_path):
    dataset = load(faulty_dir)
    assert len(dataset.quarantine) == 2
    folder = snapshot.write(dataset, tmp_path / "snap")
    assert_same_dataset(dataset, snapshot.read(folder))


def test_a_world_round_trips_with_its_types(world_factory, tmp_path):
    dataset = load(world_factory(seed=3, scale=0.02))
    assert str(dataset.inspections["inspection_date"].dtype) == "datetime64[s]"  # Parquet alone would give ms
    assert_same_dataset(dataset, snapshot.read(snapshot.write(dataset, tmp_path / "snap")))


def test_load_opens_the_snapshot_only_for_its_own_source(faulty_dir, tiny_dir, tmp_path, monkeypatch):
    dataset = load(faulty_dir)
    folder = snapshot.write(dataset, tmp_path / "snap")
    marked = dataclasses.replace(dataset, notes=[*dataset.notes, "read from the snapshot"])
    snapshot.write(marked, tmp_path / "marked")
    monkeypatch.setenv(snapshot.SNAPSHOT_ENV, str(tmp_path / "marked"))
    assert load(faulty_dir).notes[-1] == "read from the snapshot"
    assert "read from the snapshot" not in load(tiny_dir).notes  # another dataset: read and validated
    window = ("2000-01-01", "2030-12-31")
    assert "read from the snapshot" not in load(faulty_dir, date_window=window).notes  # other options: read again
    with pytest.raises(Exception, match="quarantin"):  # strict reads the files again, and refuses
        load(faulty_dir, strict=True)
    monkeypatch.setenv(snapshot.SNAPSHOT_ENV, str(tmp_path / "missing"))
    assert_same_dataset(load(faulty_dir), dataset)
    assert folder.is_dir()


def test_an_existing_snapshot_is_kept_and_an_incomplete_one_ignored(faulty_dir, tmp_path):
    dataset = load(faulty_dir)
    folder = snapshot.write(dataset, tmp_path / "snap")
    written = (folder / "tables" / "inspections.parquet").stat().st_mtime_ns
    snapshot.write(dataset, folder)
    assert (folder / "tables" / "inspections.parquet").stat().st_mtime_ns == written
    (folder / snapshot.DESCRIPTION).unlink()  # interrupted: not a snapshot
    with pytest.raises(FileNotFoundError, match="not a complete dataset snapshot"):
        snapshot.read(folder)
    assert_same_dataset(snapshot.read(snapshot.write(dataset, folder)), dataset)


@pytest.mark.slow  # a real notebook on data of its own
def test_a_report_build_validates_once_and_its_kernels_read_the_snapshot(tiny_dir, tmp_path):
    """The kernels' `load` must return the runner's snapshot: plant one whose accounting no read of the files
    could give, and find it on the data quality page."""
    from analysis.report import build, record, schema

    cache_dir = tmp_path / "cache"
    dataset = load(tiny_dir)
    planted = dataclasses.replace(dataset, rows_read={**dataset.rows_read, "inspections": 1234567})
    snapshot.write(planted, cache_dir / "snapshots" / record.data_fingerprint(tiny_dir)["sha256"][:24])
    result = build(
        tiny_dir,
        "2023Q1",
        out=tmp_path / "report",
        jobs=1,
        specs=schema.select(["00_data_quality"]),
        cache_dir=cache_dir,
        log=lambda *_: None,
    )
    assert result.ok, [(n.name, n.status, n.message) for n in result.notebooks]
    page = (tmp_path / "report" / "00_data_quality.html").read_text(encoding="utf-8")
    assert re.search(r"1,?234,?567", page), "the kernel validated the files again instead of reading the snapshot"
