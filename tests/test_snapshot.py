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


def data_quality_page(data, out, cache_dir) -> str:
    """The data-quality page of a report built on `data` (that notebook alone), as HTML."""
    from analysis.report import build, schema

    quality_only = schema.select(["00_data_quality"])
    result = build(data, "2023Q1", out=out, jobs=1, specs=quality_only, cache_dir=cache_dir, log=lambda *_: None)
    assert result.ok, [(n.name, n.status, n.message) for n in result.notebooks]
    return (out / "00_data_quality.html").read_text(encoding="utf-8")


@pytest.mark.slow  # a real notebook on data of its own
def test_a_report_build_validates_once_and_its_kernels_read_the_snapshot(tiny_dir, tmp_path):
    """The kernels' `load` must return the runner's snapshot: plant one whose accounting no read of the files
    could give, and find it on the data quality page."""
    from analysis.report import record
    from analysis.report.builder import snapshot_key

    cache_dir = tmp_path / "cache"
    dataset = load(tiny_dir)
    planted = dataclasses.replace(dataset, rows_read={**dataset.rows_read, "inspections": 1234567})
    base_record = {
        "data": record.data_fingerprint(tiny_dir),
        "source_sha256": record.source_digest(),
        "environment": record.environment(),
    }
    snapshot.write(planted, cache_dir / "snapshots" / snapshot_key(base_record))
    page = data_quality_page(tiny_dir, tmp_path / "report", cache_dir)
    assert re.search(r"1,?234,?567", page), "the kernel validated the files again instead of reading the snapshot"


@pytest.mark.slow  # a real notebook on data of its own
def test_data_whose_every_inspection_is_quarantined_still_gets_its_data_quality_page(tmp_path):
    """Nothing to analyse is no reason to fail: the page says why nothing was accepted."""
    tables = tiny_tables()
    tables["inspections"]["region_id"] = "nowhere"  # a region the regions table lacks: every row quarantined
    data = write_csv_dataset(tmp_path / "none-accepted", tables)
    assert load(data).inspections.empty
    page = data_quality_page(data, tmp_path / "report", tmp_path / "cache")
    assert re.search(r"6 of \d+ rows \([\d.]+%\) were quarantined", page)
    assert "No inspection was accepted, so this report for 2023Q1 has nothing to count" in page
    index = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "No inspection in the data was accepted" in index and "NaT" not in index


def test_a_snapshot_is_validated_once_and_a_bad_dataset_fails_with_the_contracts_error(faulty_dir, tmp_path):
    from analysis.errors import DataContractError
    from analysis.report.builder import validated_snapshot

    folder = validated_snapshot(faulty_dir, tmp_path / "snapshot")
    assert_same_dataset(snapshot.read(folder), load(faulty_dir))
    (folder / "quarantine.parquet").unlink()  # a complete snapshot is not validated again...
    (folder / "quarantine.parquet").write_bytes(b"")
    assert validated_snapshot(faulty_dir, folder) == folder and (folder / "quarantine.parquet").read_bytes() == b""
    (faulty_dir / "regions.csv").write_text("not,a,regions,table\n", encoding="utf-8")
    with pytest.raises(DataContractError, match="regions") as raised:
        validated_snapshot(faulty_dir, tmp_path / "other")
    assert raised.value.file and "regions" in raised.value.file  # the loader's error, as it raised it
    assert not (tmp_path / "other").exists()


@pytest.mark.slow  # a build from a script of its own
def test_a_build_runs_from_a_plain_script_without_a_main_guard(tiny_dir, tmp_path):
    """Validation runs as a module of its own: a script calling `build` at its top level is not run again."""
    import subprocess
    import sys

    script = tmp_path / "build_it.py"
    script.write_text(
        "from analysis.report import build, schema\n"
        f"result = build({str(tiny_dir)!r}, '2023Q1', out={str(tmp_path / 'report')!r}, jobs=1,\n"
        "               specs=schema.select(['00_data_quality']), log=lambda *_: None)\n"
        "print('ok' if result.ok else 'failed')\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
