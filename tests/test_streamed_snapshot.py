"""Validating a large inspections file chunk by chunk gives the snapshot `load` gives, fault for fault."""

from __future__ import annotations

import decimal
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_snapshot import assert_same_dataset

from analysis import contract as c
from analysis import snapshot, streamed_snapshot
from analysis.data import load
from analysis.errors import DataContractError
from analysis.streamed_snapshot import _file_positions, large_inspections_file

CHUNK = 500  # rows per chunk in these tests; the messy file spans 17 chunks


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text written the way a user might (so any value can be made bad)."""
    out = {}
    for name, values in frame.items():
        if pd.api.types.is_datetime64_any_dtype(values):
            out[name] = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(values):
            out[name] = values.map({True: "true", False: "false"}).astype(object)
        else:
            out[name] = values.astype("str").replace({"<NA>": "", "nan": ""})
    return pd.DataFrame(out)


@pytest.fixture
def messy_dir(world_factory, tmp_path):
    """A world whose inspections (a Parquet file of text) hold faults in many chunks, keys repeated
    within and across chunks, a chunk with no good row, and rows of a quarantined region."""
    world = world_factory(seed=3, scale=0.02)
    tables = {t.name: pd.read_parquet(world / f"{t.name}.parquet") for t in c.TABLES}
    regions = as_text(tables["regions"])
    broken_region = regions.loc[regions["level"] == "county", "region_id"].iloc[3]
    regions.loc[regions["region_id"] == broken_region, "level"] = "galaxy"
    rows = as_text(tables["inspections"].head(8_400))
    ids = rows["inspection_id"]
    rows.loc[3, "inspection_date"] = "2022-13-40"
    rows.loc[10, "risk_level"] = "9"
    rows.loc[600, "region_id"] = "NOWHERE"
    rows.loc[700, "region_id"] = broken_region
    rows.loc[1200, "penalty_amount"] = "-5"
    rows.loc[[21, 1500], "inspection_id"] = ids[20]  # repeated within the first chunk and in a later one
    rows.loc[30, "inspection_date"] = "not a date"  # the first row with this key is bad ...
    rows.loc[2500, "inspection_id"] = f"  {ids[30]} "  # ... so this one (trimmed) is the first accepted
    rows.loc[3000, "inspection_id"] = ids[30]
    rows.loc[[4000, 4100], "inspection_id"] = ids[40]
    rows.loc[5000:5499, "surprise"] = "maybe"  # a whole chunk quarantined
    rows.loc[6000, "inspection_id"] = ""
    rows["note"] = np.where(np.arange(len(rows)) % 7 == 0, "checked", "")
    folder = tmp_path / "messy"
    folder.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    regions.to_parquet(folder / "regions.parquet", index=False)
    rows.to_parquet(folder / "inspections.parquet", index=False)
    return folder


@pytest.mark.parametrize("chunk_rows", [CHUNK, 1_299, 8_399])
def test_chunks_give_the_snapshot_load_gives(messy_dir, tmp_path, chunk_rows):
    assert large_inspections_file(messy_dir, chunk_rows) == messy_dir / "inspections.parquet"
    whole = snapshot.read(snapshot.write(load(messy_dir), tmp_path / "whole"))
    chunked = snapshot.read(streamed_snapshot.write(messy_dir, tmp_path / "chunked", chunk_rows=chunk_rows))
    assert_same_dataset(whole, chunked)
    assert chunked.reconciliation()["balanced"].all()
    reasons = chunked.quarantine.set_index("line")["reason"]
    assert reasons[1501] == "duplicate key inspection_id (first at line 21)"
    assert reasons[22] == "duplicate key inspection_id (first at line 21)"
    assert reasons[3001] == "duplicate key inspection_id (first at line 2501)"
    assert 2501 not in reasons.index  # the first accepted row with a key that a bad row had first
    assert {reasons[4001], reasons[4101]} == {"duplicate key inspection_id (first at line 41)"}
    assert (chunked.quarantine["line"].between(5001, 5500)).sum() == 500


def test_a_small_file_is_validated_whole(messy_dir, tmp_path):
    assert large_inspections_file(messy_dir, 8_400) is None  # not more rows than one chunk
    whole = snapshot.read(snapshot.write(load(messy_dir), tmp_path / "whole"))
    assert_same_dataset(whole, snapshot.read(streamed_snapshot.write(messy_dir, tmp_path / "s", chunk_rows=8_400)))


def test_a_simulated_world_in_chunks_equals_it_whole(world_factory, tmp_path):
    world = world_factory(seed=3, scale=0.02)
    whole = snapshot.read(snapshot.write(load(world), tmp_path / "whole"))
    assert_same_dataset(whole, snapshot.read(streamed_snapshot.write(world, tmp_path / "chunked", chunk_rows=CHUNK)))
    for summary in (tmp_path / "whole" / "summaries").iterdir():
        pd.testing.assert_frame_equal(
            pd.read_parquet(summary), pd.read_parquet(tmp_path / "chunked" / "summaries" / summary.name)
        )


def test_a_missing_required_table_is_the_same_error_in_chunks(messy_dir, tmp_path):
    (messy_dir / "staffing.parquet").unlink()
    with pytest.raises(Exception, match="required table\\(s\\) missing: staffing") as whole:
        load(messy_dir)
    with pytest.raises(type(whole.value), match="required table\\(s\\) missing: staffing"):
        streamed_snapshot.write(messy_dir, tmp_path / "s", chunk_rows=CHUNK)
    assert not list(tmp_path.glob("s*"))  # nothing half-written is left


def test_other_inputs_are_not_read_in_chunks(messy_dir, tmp_path):
    assert large_inspections_file(tmp_path / "absent", CHUNK) is None
    pd.read_parquet(messy_dir / "inspections.parquet").to_csv(messy_dir / "inspections.csv", index=False)
    assert large_inspections_file(messy_dir, CHUNK) is None  # two inspections files: `load` says so
    (messy_dir / "inspections.parquet").unlink()
    assert large_inspections_file(messy_dir, CHUNK) is None  # CSV


@given(st.sets(st.integers(0, 60), max_size=40), st.data())
def test_accepted_rows_map_back_to_their_place_in_the_file(quarantined, data):
    file_rows = 61
    accepted = np.array([p for p in range(file_rows) if p not in quarantined], dtype=np.int64)
    if not len(accepted):
        return
    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, len(accepted) - 1), min_size=1))), dtype=np.int64)
    found = _file_positions(chosen, np.array(sorted(quarantined), dtype=np.int64))
    np.testing.assert_array_equal(found, accepted[chosen])


def test_the_validate_command_reads_a_large_file_in_chunks(messy_dir, tmp_path, monkeypatch, capsys):
    from analysis.cli import main

    assert main(["validate", str(messy_dir), "--quarantine-out", str(tmp_path / "whole.csv")]) == 0
    whole = capsys.readouterr().out
    monkeypatch.setattr(streamed_snapshot, "CHUNK_ROWS", CHUNK)
    monkeypatch.setattr(streamed_snapshot, "load", None)  # fails if the command validates the table whole
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert main(["validate", str(messy_dir), "--quarantine-out", str(tmp_path / "chunked.csv")]) == 0
    assert capsys.readouterr().out.replace("chunked.csv", "whole.csv") == whole
    assert "duplicate key inspection_id" in (tmp_path / "whole.csv").read_text()
    assert (tmp_path / "chunked.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert not list(scratch.iterdir())  # the temporary snapshot is gone


def test_a_snapshot_of_a_snapshot_restricted_to_a_province_holds_only_its_rows(world_factory, tmp_path):
    world = snapshot.read(streamed_snapshot.write(world_factory(seed=3, scale=0.02), tmp_path / "all", CHUNK))
    province = world.regions["province"].astype("str").iloc[0]
    scoped = world.within([province])
    again = snapshot.read(snapshot.write(scoped, tmp_path / "scoped"))
    regions = set(world.province_by_region().loc[lambda by: by == province].index)
    kept = again.inspections["region_id"].astype("str")
    assert len(kept) == scoped.row_count("inspections") < world.row_count("inspections")
    assert set(kept) <= regions
    assert (tmp_path / "all" / "tables" / "inspections.parquet").exists()  # the source snapshot is untouched


# --- found by an adversarial review: data `load` reads, which chunks must read the same way ---


def world_folder(world_factory, tmp_path, inspections: pd.DataFrame, row_group_size: int) -> Path:
    world = world_factory(seed=3, scale=0.02)
    folder = tmp_path / "data"
    folder.mkdir()
    for table in c.TABLES:
        if table.name != "inspections":
            pd.read_parquet(world / f"{table.name}.parquet").to_parquet(folder / f"{table.name}.parquet")
    pq.write_table(
        pa.Table.from_pandas(inspections, preserve_index=False), folder / "inspections.parquet", row_group_size
    )
    return folder


def world_inspections(world_factory, rows: int = 3_000) -> pd.DataFrame:
    return pd.read_parquet(world_factory(seed=3, scale=0.02) / "inspections.parquet").head(rows).copy()


def assert_chunks_equal_whole(folder: Path, tmp_path: Path, chunk_rows: int) -> None:
    assert large_inspections_file(folder, chunk_rows) is not None
    whole = snapshot.read(snapshot.write(load(folder), tmp_path / "whole"))
    chunked = snapshot.read(streamed_snapshot.write(folder, tmp_path / "chunked", chunk_rows=chunk_rows))
    assert_same_dataset(whole, chunked)
    assert list(whole.files) == list(chunked.files)


def test_a_first_chunk_all_quarantined_with_columns_outside_the_contract(world_factory, tmp_path):
    rows = world_inspections(world_factory)
    rows["flag"] = pd.array([True, None, False] * 1_000, dtype="boolean")
    rows.loc[0:999, "flag"] = pd.NA  # the first chunk alone cannot tell its type
    rows["amount"] = pd.array([None] * 1_000 + [decimal.Decimal("12345.678")] * 2_000, dtype=object)
    rows["count"] = pd.array(range(3_000), dtype="Int64")
    rows.loc[5, "count"] = pd.NA  # an integer column with a missing value stays integer
    rows["surprise"] = rows["surprise"].astype(object)
    rows.loc[0:999, "surprise"] = None  # every row of the first chunk quarantined
    folder = world_folder(world_factory, tmp_path, rows, 1_000)
    assert_chunks_equal_whole(folder, tmp_path, 1_000)
    chunked = snapshot.read(tmp_path / "chunked")
    assert chunked.rows_read["inspections"] == 3_000 and len(chunked.quarantine) == 1_000
    in_memory = load(folder).inspections["industry"]
    assert list(chunked.inspections["industry"].cat.categories) == list(in_memory.cat.categories)


def test_integer_ids_with_a_missing_one_are_read_as_written(world_factory, tmp_path):
    rows = world_inspections(world_factory)
    rows["inspection_id"] = pd.array(range(1, 3_001), dtype="Int64")
    rows.loc[2_500, "inspection_id"] = pd.NA  # in the last chunk only
    folder = world_folder(world_factory, tmp_path, rows, 1_000)
    assert_chunks_equal_whole(folder, tmp_path, 1_000)
    ids = snapshot.read(tmp_path / "chunked").inspections["inspection_id"]
    assert list(ids[:3]) == ["1", "2", "3"]  # not "1.0"


def test_a_column_called_file_row_number_and_repeated_ids(world_factory, tmp_path):
    rows = world_inspections(world_factory)
    rows["file_row_number"] = np.arange(3_000)[::-1]
    rows.loc[2_500, "inspection_id"] = rows.loc[5, "inspection_id"]
    folder = world_folder(world_factory, tmp_path, rows, 1_000)
    assert_chunks_equal_whole(folder, tmp_path, 1_000)
    assert "first at line 6" in snapshot.read(tmp_path / "chunked").quarantine["reason"].iloc[0]


def test_a_text_column_missing_in_a_whole_row_group_is_read(world_factory, tmp_path):
    rows = world_inspections(world_factory)
    rows.loc[0:999, "enterprise_size"] = None  # a row group whose dictionary is empty
    folder = world_folder(world_factory, tmp_path, rows, 1_000)
    assert load(folder).inspections["enterprise_size"].isna().sum() == 1_000  # once a TypeError
    assert_chunks_equal_whole(folder, tmp_path, 1_500)


def test_an_unreadable_later_chunk_is_the_contracts_error_and_leaves_nothing(world_factory, tmp_path):
    rows = world_inspections(world_factory)
    folder = world_folder(world_factory, tmp_path, rows, 1_000)
    file = folder / "inspections.parquet"
    group = pq.ParquetFile(file).metadata.row_group(2)
    damaged = bytearray(file.read_bytes())
    for i in range(group.num_columns):
        column = group.column(i)
        middle = (column.dictionary_page_offset or column.data_page_offset) + column.total_compressed_size // 2
        damaged[middle : middle + 16] = b"\xff" * 16
    file.write_bytes(bytes(damaged))
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(5):  # the write of the chunk before may still be running when the error comes
        with pytest.raises(DataContractError, match="inspections.parquet: unreadable .parquet file"):
            streamed_snapshot.write(folder, out / "snapshot", chunk_rows=1_000)
    assert not list(out.iterdir())


def test_chunk_rows_must_be_positive(messy_dir, tmp_path):
    with pytest.raises(ValueError, match="chunk_rows"):
        streamed_snapshot.write(messy_dir, tmp_path / "s", chunk_rows=0)
