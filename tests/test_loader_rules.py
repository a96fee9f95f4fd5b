"""Each rule of the data contract, triggered by a small bad file."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import tiny_tables, write_csv_dataset

from analysis.data import load
from analysis.errors import DataContractError


def dataset_with(tmp_path, table: str, row: int, **values):
    tables = tiny_tables()
    for column, value in values.items():
        tables[table].loc[row, column] = value
    return write_csv_dataset(tmp_path / "bad", tables)


# (table, row, {column: bad value}, column blamed, fragment of the reason)
ROW_FAULTS = [
    ("inspections", 0, {"surprise": "maybe"}, "surprise", "not a boolean"),
    ("inspections", 1, {"hazards_found": "-1"}, "hazards_found", "below the minimum 0"),
    ("inspections", 1, {"hazards_found": "2.5"}, "hazards_found", "not an integer"),
    ("inspections", 2, {"major_hazards": "9"}, "major_hazards", "exceeds hazards_found"),
    ("inspections", 1, {"penalty_amount": "500"}, "penalty_amount", "case_filed is false"),
    ("inspections", 1, {"penalty_amount": "-3"}, "penalty_amount", "below the minimum 0"),
    ("inspections", 1, {"penalty_amount": "a lot"}, "penalty_amount", "not a number"),
    ("inspections", 1, {"double_penalty": "true"}, "double_penalty", "case_filed is false"),
    ("inspections", 0, {"region_id": "NOWHERE"}, "region_id", "unknown region_id"),
    ("inspections", 0, {"inspecting_region_id": "NOWHERE"}, "inspecting_region_id", "unknown region_id"),
    ("inspections", 1, {"inspecting_region_id": "C1"}, "inspecting_region_id", "equals region_id"),
    ("inspections", 0, {"inspecting_region_id": "C2"}, "inspecting_region_id", "cross_region is false"),
    ("inspections", 0, {"inspection_date": "05/01/2022"}, "inspection_date", "not an ISO date"),
    ("inspections", 0, {"inspection_date": "2022-02-30"}, "inspection_date", "not an ISO date"),
    ("inspections", 0, {"industry": "Heavy Industry"}, "industry", "not a snake_case name"),
    ("inspections", 0, {"enterprise_size": "huge"}, "enterprise_size", "not one of small/medium/large"),
    ("inspections", 0, {"risk_level": "5"}, "risk_level", "above the maximum 4"),
    ("inspections", 0, {"officers": "0"}, "officers", "below the minimum 1"),
    ("inspections", 0, {"enterprise_id": ""}, "enterprise_id", "empty value in a required column"),
    ("inspections", 3, {"inspection_id": "I1"}, "inspection_id", "duplicate key inspection_id (first at line 2)"),
    ("regions", 1, {"level": "district"}, "level", "not one of province/city/county"),
    ("regions", 1, {"parent_id": "P9"}, "parent_id", "unknown region_id"),
    ("regions", 1, {"population": "-5"}, "population", "below the minimum 0"),
    ("staffing", 0, {"period": "2022Q5"}, "period", "not a quarter"),
    ("staffing", 1, {"period": "2022Q1"}, "region_id", "duplicate key region_id/period (first at line 2)"),
    ("staffing", 0, {"officers": "-1"}, "officers", "below the minimum 0"),
    ("staffing", 0, {"region_id": "ZZ"}, "region_id", "unknown region_id"),
    ("programs", 0, {"start_period": "2022-04"}, "start_period", "not a quarter"),
    ("programs", 1, {"program": "cross_region", "region_id": "C1"}, "region_id", "duplicate key region_id/program"),
    ("programs", 0, {"program": "Cross Region"}, "program", "not a snake_case name"),
    ("accidents", 0, {"deaths": "-2"}, "deaths", "below the minimum 0"),
]


@pytest.mark.parametrize("table, row, values, column, reason", ROW_FAULTS)
def test_row_fault_goes_to_quarantine(tmp_path, table, row, values, column, reason):
    ds = load(dataset_with(tmp_path, table, row, **values))
    q = ds.quarantine[ds.quarantine["table"] == table]  # a bad region also holds rows that refer to it
    assert len(q) == 1, q
    fault = q.iloc[0]
    assert fault["table"] == table
    assert fault["file"].endswith(f"{table}.csv")
    assert fault["line"] == row + 2  # header is line 1
    assert fault["column"] == column
    assert reason in fault["reason"]
    assert fault["value"] == str(values.get(column, tiny_tables()[table].loc[row, column]))
    recon = ds.reconciliation().set_index("table")
    assert recon.loc[table, "quarantined"] == 1
    assert recon["balanced"].all()
    assert len(ds.tables[table]) == len(tiny_tables()[table]) - 1


def test_quarantine_keeps_the_whole_row_and_every_fault(tmp_path):
    ds = load(dataset_with(tmp_path, "inspections", 0, surprise="maybe", risk_level="7"))
    fault = ds.quarantine.iloc[0]
    assert "surprise='maybe'" in fault["all_faults"] and "risk_level='7'" in fault["all_faults"]
    assert '"inspection_id": "I1"' in fault["record"]


def test_quarantined_region_cascades_with_its_own_reason(tmp_path):
    ds = load(dataset_with(tmp_path, "regions", 1, level="district"))
    inspections_held = ds.quarantine[ds.quarantine["table"] == "inspections"]
    assert len(inspections_held) == 3  # C1's three inspections
    assert set(inspections_held["reason"]) == {"refers to a region that is quarantined"}
    assert ds.reconciliation()["balanced"].all()


def test_booleans_accept_every_spelling(tmp_path):
    ds = load(write_csv_dataset(tmp_path / "ok", tiny_tables()))
    assert ds.inspections["surprise"].tolist() == [True, False, True, False, True, False]
    assert ds.quarantine.empty


def test_strict_mode_turns_quarantine_into_error(tmp_path):
    path = dataset_with(tmp_path, "inspections", 0, surprise="maybe")
    with pytest.raises(DataContractError, match=r"inspections\.csv line 2, column surprise, value 'maybe'"):
        load(path, strict=True)


# --- structural faults --------------------------------------------------------


def test_missing_required_column_names_file_and_column(tmp_path):
    tables = tiny_tables()
    tables["inspections"] = tables["inspections"].drop(columns=["case_filed"])
    with pytest.raises(DataContractError, match=r"inspections\.csv: required column\(s\) missing: case_filed") as err:
        load(write_csv_dataset(tmp_path / "d", tables))
    assert err.value.column == "case_filed"


def test_duplicate_region_id_is_structural_and_names_rows(tmp_path):
    path = dataset_with(tmp_path, "regions", 2, region_id="C1")
    with pytest.raises(
        DataContractError,
        match=r"regions\.csv: column region_id must be unique; repeated at line 3 \(C1\), line 4 \(C1\)",
    ):
        load(path)


def test_missing_required_table(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    (path / "staffing.csv").unlink()
    with pytest.raises(DataContractError, match="required table\\(s\\) missing: staffing"):
        load(path)


def test_optional_table_may_be_absent(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    (path / "accidents.csv").unlink()
    ds = load(path)
    assert ds.accidents.empty and list(ds.accidents.columns) == ["region_id", "period", "accidents", "deaths"]


def test_programs_may_be_empty(tmp_path):
    tables = tiny_tables()
    tables["programs"] = tables["programs"].iloc[0:0]
    ds = load(write_csv_dataset(tmp_path / "d", tables))
    assert ds.programs.empty


def test_unknown_table_format(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    (path / "accidents.xlsx").write_bytes(b"PK")
    with pytest.raises(DataContractError, match=r"accidents\.xlsx: unknown table format '\.xlsx'"):
        load(path)


def test_table_given_twice(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    tiny_tables()["accidents"].to_parquet(path / "accidents.parquet")
    with pytest.raises(DataContractError, match="given twice"):
        load(path)


def test_unreadable_file(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    (path / "programs.csv").write_bytes(b"region_id,program,start_period\n\xff\xfe,bad,2022Q1\n")
    with pytest.raises(DataContractError, match=r"programs\.csv: unreadable"):
        load(path)


def test_unknown_dataset_path(tmp_path):
    with pytest.raises(DataContractError, match="no such dataset"):
        load(tmp_path / "nope")


def test_other_files_are_ignored_and_listed(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    (path / "truth.json").write_text("{}")
    assert load(path).ignored_files == ["truth.json"]


def test_extra_columns_are_kept(tmp_path):
    tables = tiny_tables()
    tables["regions"]["note"] = ["a", "b", "c"]
    assert load(write_csv_dataset(tmp_path / "d", tables)).regions["note"].tolist() == ["a", "b", "c"]


# --- formats --------------------------------------------------------------------


def test_parquet_and_duckdb_give_the_same_tables(tmp_path):
    import duckdb

    csv_ds = load(write_csv_dataset(tmp_path / "csv", tiny_tables()))
    parquet_dir = tmp_path / "pq"
    parquet_dir.mkdir()
    db_path = tmp_path / "data.duckdb"
    con = duckdb.connect(str(db_path))
    for name, frame in csv_ds.tables.items():
        native = frame.copy()
        for col in native.columns:
            if isinstance(native[col].dtype, pd.PeriodDtype):
                native[col] = native[col].astype("str")
        native.to_parquet(parquet_dir / f"{name}.parquet", index=False)
        con.register("frame_view", native)
        con.execute(f"create table {name} as select * from frame_view")
        con.unregister("frame_view")
    con.close()
    for other in (load(parquet_dir), load(db_path)):
        assert other.quarantine.empty
        for name, frame in csv_ds.tables.items():
            pd.testing.assert_frame_equal(other.tables[name], frame, check_dtype=False, check_categorical=False)


def test_parquet_bad_value_reports_row_number(tmp_path):
    tables = tiny_tables()
    path = tmp_path / "pq"
    path.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(path / f"{name}.parquet", index=False)
    native = tables["inspections"].copy()
    native["hazards_found"] = native["hazards_found"].astype(int)
    native["major_hazards"] = native["major_hazards"].astype(int)
    native.loc[4, "major_hazards"] = 7
    native.to_parquet(path / "inspections.parquet", index=False)
    fault = load(path).quarantine.iloc[0]
    assert (fault["line"], fault["column"], fault["value"]) == (5, "major_hazards", "7")


def test_programme_in_force_from_its_start_quarter(tiny_dir):
    dataset = load(tiny_dir)  # C1 runs cross_region from 2022Q2, C2 a surprise campaign from 2022Q3
    in_force = dataset.in_force(
        "cross_region", ["C1", "C1", "C1", "C2", "P1"], ["2022Q1", "2022Q2", "2023Q1", "2023Q1", "2023Q1"]
    )
    assert in_force.tolist() == [False, True, True, False, False]
    assert dataset.in_force("no_such_programme", ["C1"], ["2023Q1"]).tolist() == [False]


@pytest.mark.parametrize("column", ["key_matter", "technical_inspector", "enterprise_size"])
def test_an_optional_column_with_no_value_at_all_in_parquet_loads(tmp_path, column):
    """A typed Parquet column of nothing but nulls (no category to check) is simply not recorded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write_csv_dataset(tmp_path / "data", tiny_tables())
    frame = pd.read_csv(folder / "inspections.csv", dtype=str, keep_default_na=False)
    table = pa.Table.from_pandas(frame.drop(columns=[column]), preserve_index=False)
    kind = pa.string() if column == "enterprise_size" else pa.bool_()
    table = table.append_column(pa.field(column, kind), pa.nulls(len(frame), kind))
    (folder / "inspections.csv").unlink()
    pq.write_table(table, folder / "inspections.parquet")
    dataset = load(folder)
    assert dataset.quarantine.empty
    assert len(dataset.inspections) == len(frame) and dataset.inspections[column].isna().all()
