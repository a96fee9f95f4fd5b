"""Adversarial input for the loader: each case states its exact outcome.

A case either stops the load with a `DataContractError` that names the file (and the
column where there is one), or sends rows to the quarantine at their physical line
with the column, the value as written and the reason. Nothing raises a raw
traceback and read = accepted + quarantined always holds.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import tiny_tables, write_csv_dataset

from analysis import contract as c
from analysis.data import load
from analysis.errors import DataContractError, ParameterError

START, END = c.default_date_window()
WINDOW = f"outside the plausible window {START.isoformat()} to {END.isoformat()}"


# --- helpers --------------------------------------------------------------------


def csv_lines(table: str) -> list[str]:
    """The tiny table as CSV lines (header = lines[0], data row i = lines[i + 1])."""
    return tiny_tables()[table].to_csv(index=False).splitlines()


def dataset_with_text(tmp_path: Path, table: str, text: str | bytes) -> Path:
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    data = text.encode("utf-8") if isinstance(text, str) else text
    (path / f"{table}.csv").write_bytes(data)
    return path


def dataset_with_values(tmp_path: Path, table: str, row: int, **values) -> Path:
    tables = tiny_tables()
    for column, value in values.items():
        tables[table].loc[row, column] = value
    return write_csv_dataset(tmp_path / "d", tables)


def held(ds, table: str) -> list[tuple]:
    """The table's quarantined rows as (line, column, value, reason)."""
    q = ds.quarantine[ds.quarantine["table"] == table]
    return list(zip(q["line"].astype(int), q["column"], q["value"], q["reason"], strict=False))


def assert_reconciles(ds) -> None:
    recon = ds.reconciliation()
    assert recon["balanced"].all(), recon


def parquet_dataset(tmp_path: Path, **replace: pa.Table) -> Path:
    """The tiny dataset as Parquet (text columns), with some tables replaced."""
    path = tmp_path / "pq"
    path.mkdir()
    for name, frame in tiny_tables().items():
        table = replace.get(name, pa.Table.from_pandas(frame, preserve_index=False))
        pq.write_table(table, path / f"{name}.parquet")
    return path


def inspections_arrow(**columns: pa.Array) -> pa.Table:
    table = pa.Table.from_pandas(tiny_tables()["inspections"], preserve_index=False)
    for name, array in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, array)
    return table


def duckdb_dataset(tmp_path: Path, statements: tuple[str, ...] = ()) -> Path:
    """The tiny dataset in DuckDB (text columns), then `statements` run on it."""
    import duckdb

    path = tmp_path / "data.duckdb"
    con = duckdb.connect(str(path))
    for name, frame in tiny_tables().items():
        con.register("frame_view", frame)
        con.execute(f"create table {name} as select * from frame_view")
        con.unregister("frame_view")
    for statement in statements:
        con.execute(statement)
    con.close()
    return path


# --- 1-3. the shape of a CSV file: header, field counts, physical lines -----------


def _long_row(lines):
    lines[3] += ",x,y"
    return lines


def _trailing_comma(lines):
    lines[3] += ","
    return lines


def _short_row(lines):
    lines[2] = lines[2].rsplit(",", 1)[0]  # double_penalty (required) left out
    return lines


def set_field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


def _blank_line(lines):
    lines.insert(3, "")
    lines[6] = set_field(lines[6], 7, "maybe")  # I5's surprise, moved from line 6 to line 7
    return lines


def _whitespace_line(lines):
    lines.insert(2, "   ")
    return lines


def _blank_lines_at_end(lines):
    return lines + ["", ""]


def _quoted_newline(lines):
    lines[1] = lines[1].replace(",E1,", ',"E\n1",')  # I1 spans lines 2-3
    lines[3] = lines[3].replace(",Yes,", ",maybe,")  # I3 is now on line 5
    return lines


def _crlf_and_quoted_newline(lines):
    lines[2] = lines[2].replace(",E2,", ',"E\r\n2",')
    lines[4] += ",extra"
    return lines


def _stray_quote_then_faults(lines):
    # A quote inside an unquoted field is a literal character; the line count must
    # survive it (the reader falls back to a slower exact scan).
    lines[1] = lines[1].replace(",E1,", ',E"1,')
    lines.insert(3, "")
    lines[4] += ",x"
    return lines


def _quoted_comma_extra(lines):
    lines[2] += ',"a,b"'
    return lines


NOT_BOOLEAN = "not a boolean (true/false, 1/0, yes/no)"
TOO_MANY = "row has {} fields; the header has 18"

# edit of the inspections CSV lines, line ending, quarantined (line, column, value, reason)
CSV_SHAPE = [
    pytest.param(_long_row, "\n", [(4, "(row)", "x,y", TOO_MANY.format(20))], id="long row"),
    pytest.param(_trailing_comma, "\n", [(4, "(row)", "", TOO_MANY.format(19))], id="trailing comma"),
    pytest.param(
        _quoted_comma_extra, "\n", [(3, "(row)", "a,b", TOO_MANY.format(19))], id="quoted comma in extra field"
    ),
    pytest.param(_short_row, "\n", [(3, "double_penalty", "", "empty value in a required column")], id="short row"),
    pytest.param(
        _blank_line, "\n", [(4, "(row)", "", "blank line"), (7, "surprise", "maybe", NOT_BOOLEAN)], id="blank line"
    ),
    pytest.param(_whitespace_line, "\n", [(3, "(row)", "   ", "blank line")], id="whitespace-only line"),
    pytest.param(
        _blank_lines_at_end,
        "\n",
        [(8, "(row)", "", "blank line"), (9, "(row)", "", "blank line")],
        id="blank lines at the end",
    ),
    pytest.param(_quoted_newline, "\n", [(5, "surprise", "maybe", NOT_BOOLEAN)], id="quoted newline"),
    pytest.param(
        _crlf_and_quoted_newline, "\r\n", [(6, "(row)", "extra", TOO_MANY.format(19))], id="CRLF with quoted newline"
    ),
    pytest.param(
        _stray_quote_then_faults,
        "\n",
        [(4, "(row)", "", "blank line"), (5, "(row)", "x", TOO_MANY.format(19))],
        id="stray quote, blank line, long row",
    ),
]


@pytest.mark.parametrize("edit, newline, expected", CSV_SHAPE)
def test_csv_rows_are_held_at_their_physical_line(tmp_path, edit, newline, expected):
    text = newline.join(edit(csv_lines("inspections"))) + newline
    ds = load(dataset_with_text(tmp_path, "inspections", text))
    assert held(ds, "inspections") == expected
    assert_reconciles(ds)


def test_short_row_with_optional_fields_left_out_is_accepted(tmp_path):
    lines = csv_lines("regions")
    lines[2] = lines[2].rsplit(",", 1)[0]  # C1 without population
    ds = load(dataset_with_text(tmp_path, "regions", "\n".join(lines) + "\n"))
    assert ds.quarantine.empty
    assert ds.regions["population"].isna().tolist() == [True, True, False]


def test_quoted_newline_in_regions_shifts_later_lines(tmp_path):
    lines = csv_lines("regions")
    lines[2] = lines[2].replace("City One", '"City\nOne"')
    lines[3] = lines[3].replace(",city,", ",district,")
    ds = load(dataset_with_text(tmp_path, "regions", "\n".join(lines) + "\n"))
    assert held(ds, "regions") == [(5, "level", "district", "not one of province/city/county")]
    assert ds.regions.loc[ds.regions["region_id"] == "C1", "name"].item() == "City\nOne"
    assert_reconciles(ds)


# --- 1, 6. structural faults: a clear error naming the file (and column) ------------


def _duplicate_column(tmp_path):
    lines = [line + "," + line.split(",")[16] for line in csv_lines("inspections")]
    return dataset_with_text(tmp_path, "inspections", "\n".join(lines) + "\n")


def _duplicate_column_after_trimming(tmp_path):
    lines = csv_lines("regions")
    lines = [lines[0] + ", region_id "] + [line + ",X" for line in lines[1:]]
    return dataset_with_text(tmp_path, "regions", "\n".join(lines) + "\n")


def _duplicate_parquet_field(tmp_path):
    table = inspections_arrow()
    table = table.append_column("penalty_amount", table.column("penalty_amount"))
    return parquet_dataset(tmp_path, inspections=table)


def _empty_csv(tmp_path):
    return dataset_with_text(tmp_path, "programs", b"")


def _whitespace_csv(tmp_path):
    return dataset_with_text(tmp_path, "programs", " \n\t\n  \r\n")


def _blank_first_line(tmp_path):
    return dataset_with_text(tmp_path, "programs", "\nregion_id,program,start_period\nC1,cross_region,2022Q2\n")


def _latin1_csv(tmp_path):
    text = "region_id,program,start_period\nC1,réforme,2022Q2\n"
    return dataset_with_text(tmp_path, "programs", text.encode("latin-1"))


def _unterminated_quote(tmp_path):
    text = 'region_id,program,start_period\nC1,"cross_region,2022Q2\nC2,x,2022Q1\n'
    return dataset_with_text(tmp_path, "programs", text)


def _directory_named_csv(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    (path / "accidents.csv").unlink()
    (path / "accidents.csv").mkdir()
    return path


def _truncated_parquet(tmp_path):
    path = parquet_dataset(tmp_path)
    data = (path / "inspections.parquet").read_bytes()
    (path / "inspections.parquet").write_bytes(data[: len(data) // 2])
    return path


def _corrupt_parquet_pages(tmp_path):
    path = parquet_dataset(tmp_path)
    data = bytearray((path / "inspections.parquet").read_bytes())
    data[4:200] = b"\xff" * 196  # header magic intact, column chunks garbled
    (path / "inspections.parquet").write_bytes(bytes(data))
    return path


def _duplicate_region_after_trimming(tmp_path):
    return dataset_with_values(tmp_path, "regions", 2, region_id=" C1 ")


def _not_a_duckdb(tmp_path):
    path = tmp_path / "data.duckdb"
    path.write_bytes(b"this is not a database\n" * 100)
    return path


def _duckdb_table_in_two_schemas(tmp_path):
    return duckdb_dataset(
        tmp_path,
        (
            "create schema a",
            "create schema b",
            "create table a.programs as select * from main.programs",
            "create table b.programs as select * from main.programs",
            "drop table main.programs",
        ),
    )


def structural(build, message: str, file: str, column: str | None = None):
    return pytest.param(build, message, file, column, id=build.__name__.strip("_").replace("_", " "))


# build the dataset, message (regex), the file the error names, the column it names
STRUCTURAL = [
    structural(
        _duplicate_column,
        r"inspections\.csv: column 'penalty_amount' appears 2 times in the header",
        "inspections.csv",
        "penalty_amount",
    ),
    structural(
        _duplicate_column_after_trimming,
        r"regions\.csv: column 'region_id' appears 2 times in the header",
        "regions.csv",
        "region_id",
    ),
    structural(
        _duplicate_parquet_field,
        r"inspections\.parquet: column 'penalty_amount' appears 2 times",
        "inspections.parquet",
        "penalty_amount",
    ),
    structural(_empty_csv, r"programs\.csv: the file is empty; its first line must be the header", "programs.csv"),
    structural(_whitespace_csv, r"programs\.csv: the file is empty; its first line must be the header", "programs.csv"),
    structural(_blank_first_line, r"programs\.csv: line 1 is blank; the first line must be the header", "programs.csv"),
    structural(_latin1_csv, r"programs\.csv: unreadable \.csv file: 'utf-8' codec can't decode", "programs.csv"),
    structural(
        _unterminated_quote,
        r"programs\.csv: unreadable \.csv file: the quote opened on line 2 is never closed",
        "programs.csv",
    ),
    structural(_directory_named_csv, r"accidents\.csv: is a directory, not a \.csv file", "accidents.csv"),
    structural(_truncated_parquet, r"inspections\.parquet: unreadable \.parquet file", "inspections.parquet"),
    structural(_corrupt_parquet_pages, r"inspections\.parquet: unreadable \.parquet file", "inspections.parquet"),
    structural(
        _duplicate_region_after_trimming,
        r"regions\.csv: column region_id must be unique; repeated at line 3 \(C1\), line 4 \(C1\)",
        "regions.csv",
        "region_id",
    ),
    structural(_not_a_duckdb, r"data\.duckdb: unreadable DuckDB file", "data.duckdb"),
    structural(
        _duckdb_table_in_two_schemas,
        r"data\.duckdb: table 'programs' is found more than once \(a\.programs, b\.programs\)",
        "data.duckdb",
    ),
]


@pytest.mark.parametrize("build, message, file, column", STRUCTURAL)
def test_structural_fault_names_file_and_column(tmp_path, build, message, file, column):
    path = build(tmp_path)
    with pytest.raises(DataContractError, match=message) as err:
        load(path)
    assert Path(err.value.file).name == file
    assert err.value.column == column


def test_unreadable_dataset_directory_is_a_contract_error(tmp_path, monkeypatch):
    # Tests may run as root, where chmod 000 does not block reading; the OS refusal
    # is therefore simulated at the one call that lists the directory.
    path = write_csv_dataset(tmp_path / "d", tiny_tables())

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.raises(DataContractError, match=r"d: cannot list the dataset directory: .*Permission denied") as err:
        load(path)
    assert err.value.file == str(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 directory anyway; the refusal is simulated above")
def test_chmod_000_dataset_directory_is_a_contract_error(tmp_path):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    path.chmod(0)
    try:
        with pytest.raises(DataContractError, match="cannot list the dataset directory"):
            load(path)
    finally:
        path.chmod(0o755)


def test_unreadable_table_file_is_a_contract_error(tmp_path, monkeypatch):
    path = write_csv_dataset(tmp_path / "d", tiny_tables())
    real = Path.read_bytes

    def refuse_staffing(self):
        if self.name == "staffing.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse_staffing)
    with pytest.raises(DataContractError, match=r"staffing\.csv: unreadable \.csv file: .*Permission denied"):
        load(path)


# --- 4. implausible values ------------------------------------------------------

# (table, row, {column: value}, column blamed, reason)
IMPLAUSIBLE = [
    ("inspections", 0, {"inspection_date": "0001-01-01"}, "inspection_date", f"date {WINDOW}"),
    ("inspections", 0, {"inspection_date": "2999-06-30"}, "inspection_date", f"date {WINDOW}"),
    ("inspections", 0, {"inspection_date": "1989-12-31"}, "inspection_date", f"date {WINDOW}"),
    ("staffing", 0, {"period": "2900Q1"}, "period", f"quarter {WINDOW}"),
    ("programs", 0, {"start_period": "0001Q1"}, "start_period", f"quarter {WINDOW}"),
    ("accidents", 0, {"period": "1989Q4"}, "period", f"quarter {WINDOW}"),
    ("inspections", 0, {"penalty_amount": "1e308"}, "penalty_amount", "above the maximum 10,000,000,000"),
    ("inspections", 0, {"penalty_amount": "inf"}, "penalty_amount", "not a finite number"),
    ("inspections", 0, {"penalty_amount": "-inf"}, "penalty_amount", "not a finite number"),
    ("inspections", 0, {"penalty_amount": "nan"}, "penalty_amount", "not a finite number"),
    ("inspections", 0, {"penalty_amount": "1e999"}, "penalty_amount", "not a finite number"),
    ("inspections", 0, {"hazards_found": "99999999999999999999"}, "hazards_found", "above the maximum 10,000"),
    ("inspections", 0, {"hazards_found": "10001"}, "hazards_found", "above the maximum 10,000"),
    ("inspections", 0, {"major_hazards": "inf"}, "major_hazards", "not a finite number"),
    ("inspections", 0, {"officers": "1001"}, "officers", "above the maximum 1,000"),
    ("staffing", 0, {"officers": "1000001"}, "officers", "above the maximum 1,000,000"),
    ("staffing", 0, {"trainees": "100000001"}, "trainees", "above the maximum 100,000,000"),
    ("regions", 1, {"enterprises": "100000001"}, "enterprises", "above the maximum 100,000,000"),
    ("regions", 1, {"population": "2000000001"}, "population", "above the maximum 2,000,000,000"),
    ("accidents", 0, {"deaths": "1000001"}, "deaths", "above the maximum 1,000,000"),
]


def case_id(case) -> str:
    table, _, values, column, _ = case
    return f"{table}.{column}={values[column]}"


@pytest.mark.parametrize("table, row, values, column, reason", IMPLAUSIBLE, ids=map(case_id, IMPLAUSIBLE))
def test_implausible_value_is_quarantined(tmp_path, table, row, values, column, reason):
    ds = load(dataset_with_values(tmp_path, table, row, **values))
    assert held(ds, table) == [(row + 2, column, values[column], reason)]
    assert_reconciles(ds)


def test_date_window_is_a_parameter(tmp_path):
    ds = load(write_csv_dataset(tmp_path / "d", tiny_tables()), date_window=("2022-01-01", "2022-12-31"))
    outside = "date outside the plausible window 2022-01-01 to 2022-12-31"
    assert held(ds, "inspections") == [
        (6, "inspection_date", "2023-01-05", outside),
        (7, "inspection_date", "2023-02-01", outside),
    ]
    assert held(ds, "staffing") == held(ds, "programs") == []


def test_date_window_must_run_forwards(tmp_path):
    with pytest.raises(ParameterError, match="date_window: start 2030-01-01 is after end 2020-01-01"):
        load(write_csv_dataset(tmp_path / "d", tiny_tables()), date_window=("2030-01-01", "2020-01-01"))


def test_default_date_window_is_stated_in_the_contract():
    assert date(1990, 1, 1) == c.DATE_WINDOW_START
    start, end = c.default_date_window(today=date(2024, 2, 29))
    assert (start, end) == (date(1990, 1, 1), date(2025, 2, 28))


def test_every_count_and_amount_states_a_maximum():
    numeric = [(t.name, col.name) for t in c.TABLES for col in t.columns if col.kind in (c.INTEGER, c.NUMBER)]
    assert [pair for pair in numeric if c.TABLES_BY_NAME[pair[0]].column(pair[1]).maximum is None] == []
    doc = (Path(__file__).parents[1] / "docs" / "data-contract.md").read_text()
    for table, column in numeric:
        maximum = c.TABLES_BY_NAME[table].column(column).maximum
        assert re.search(rf"`{column}`[^\n]*{re.escape(f'{maximum:,.0f}')}", doc), (table, column, maximum)


# --- 4, 6. Parquet and DuckDB native types ----------------------------------------------


def test_parquet_uint64_beyond_int64_is_quarantined(tmp_path):
    hazards = pa.array([3, 0, 2**63 + 5, 1, 2, 0], pa.uint64())
    majors = pa.array([1, 0, 2, 0, 0, 0], pa.uint64())
    ds = load(parquet_dataset(tmp_path, inspections=inspections_arrow(hazards_found=hazards, major_hazards=majors)))
    assert held(ds, "inspections") == [(3, "hazards_found", str(2**63 + 5), "above the maximum 10,000")]
    assert ds.inspections["hazards_found"].tolist() == [3, 0, 1, 2, 0]
    assert_reconciles(ds)


def test_parquet_infinite_penalty_is_quarantined(tmp_path):
    penalty = pa.array([float("inf"), 0, 5000.5, 0, 0, 0], pa.float64())
    ds = load(parquet_dataset(tmp_path, inspections=inspections_arrow(penalty_amount=penalty)))
    assert held(ds, "inspections") == [(1, "penalty_amount", "inf", "not a finite number")]


def test_parquet_date_outside_window_is_quarantined(tmp_path):
    dates = pa.array([date(2999, 1, 1)] + [date(2022, 1, 5)] * 5, pa.date32())
    ds = load(parquet_dataset(tmp_path, inspections=inspections_arrow(inspection_date=dates)))
    assert held(ds, "inspections") == [(1, "inspection_date", "2999-01-01", f"date {WINDOW}")]


def test_parquet_time_zone_dates_keep_their_own_calendar_date(tmp_path):
    # 00:30 in Shanghai is still the previous day in UTC: the local date is the one meant.
    stamps = pd.Series(pd.to_datetime(["2022-01-05 00:30"] * 6)).dt.tz_localize("Asia/Shanghai")
    dates = pa.array(stamps, pa.timestamp("us", tz="Asia/Shanghai"))
    ds = load(parquet_dataset(tmp_path, inspections=inspections_arrow(inspection_date=dates)))
    assert ds.quarantine.empty
    assert ds.inspections["inspection_date"].dt.strftime("%Y-%m-%d").unique().tolist() == ["2022-01-05"]
    assert ds.inspections["inspection_date"].dt.tz is None
    assert any("Asia/Shanghai" in note and "inspection_date" in note for note in ds.notes)


def test_duckdb_timestamptz_is_read_as_its_utc_date(tmp_path):
    path = duckdb_dataset(
        tmp_path,
        (
            "alter table inspections alter inspection_date type timestamptz "
            "using (inspection_date || ' 23:30:00+00')::timestamptz",
        ),
    )
    ds = load(path)
    assert ds.quarantine.empty
    assert ds.inspections["inspection_date"].dt.strftime("%Y-%m-%d").tolist()[:2] == ["2022-01-05", "2022-02-10"]
    assert any("UTC" in note and "inspection_date" in note for note in ds.notes)


@pytest.mark.parametrize(
    "statements, note",
    [
        (('alter table programs rename to "Programs"',), "table main.Programs is read as programs"),
        (
            (
                "create schema raw",
                "create table raw.programs as select * from main.programs",
                "drop table main.programs",
            ),
            "table raw.programs is read as programs",
        ),
    ],
    ids=["other letter case", "other schema"],
)
def test_duckdb_tables_found_ignoring_case_and_schema(tmp_path, statements, note):
    ds = load(duckdb_dataset(tmp_path, statements))
    assert len(ds.programs) == 2 and ds.quarantine.empty
    assert any(note in n for n in ds.notes), ds.notes


def test_duckdb_with_main_table_ignores_the_copy_elsewhere(tmp_path):
    copy = ("create schema old", "create table old.programs as select * from main.programs limit 1")
    ds = load(duckdb_dataset(tmp_path, copy))
    assert len(ds.programs) == 2
    assert ds.ignored_files == ["old.programs"]


# --- 5. ids: trimming and letter case --------------------------------------------


TRIMMED = [
    ("inspections", 0, {"region_id": " C1 "}, "region_id", "C1"),
    ("inspections", 1, {"inspecting_region_id": "\tC2"}, "inspecting_region_id", "C2"),
    ("inspections", 0, {"enterprise_id": " E1 "}, "enterprise_id", "E1"),
    ("inspections", 0, {"enterprise_size": "small "}, "enterprise_size", "small"),
    ("regions", 1, {"parent_id": "P1\u3000"}, "parent_id", "P1"),  # ideographic space
    ("regions", 0, {"province": " Province One"}, "province", "Province One"),
    ("programs", 0, {"program": " cross_region "}, "program", "cross_region"),
    ("staffing", 0, {"region_id": "C1 "}, "region_id", "C1"),
]


@pytest.mark.parametrize("table, row, values, column, trimmed", TRIMMED, ids=map(case_id, TRIMMED))
def test_surrounding_whitespace_is_trimmed_from_text(tmp_path, table, row, values, column, trimmed):
    ds = load(dataset_with_values(tmp_path, table, row, **values))
    assert ds.quarantine.empty, ds.quarantine
    assert str(ds.tables[table][column].iloc[row]) == trimmed


def test_trimmed_inspection_id_repeats_are_duplicates(tmp_path):
    ds = load(dataset_with_values(tmp_path, "inspections", 0, inspection_id=" I2 "))
    assert held(ds, "inspections") == [(3, "inspection_id", "I2", "duplicate key inspection_id (first at line 2)")]


def test_parquet_and_duckdb_ids_are_trimmed_too(tmp_path):
    regions = tiny_tables()["regions"].assign(region_id=[" P1", "C1 ", " C2 "])
    pq_path = parquet_dataset(tmp_path, regions=pa.Table.from_pandas(regions, preserve_index=False))
    db_path = duckdb_dataset(tmp_path, ("update regions set region_id = ' ' || region_id || ' '",))
    for path in (pq_path, db_path):
        ds = load(path)
        assert ds.quarantine.empty, ds.quarantine
        assert ds.regions["region_id"].tolist() == ["P1", "C1", "C2"]


@pytest.mark.parametrize(
    "table, row, column, value, suggestion",
    [
        ("inspections", 0, "region_id", "c1", "C1"),
        ("staffing", 2, "region_id", "c2", "C2"),
        ("regions", 1, "parent_id", "p1", "P1"),
    ],
)
def test_reference_in_other_letter_case_says_so(tmp_path, table, row, column, value, suggestion):
    ds = load(dataset_with_values(tmp_path, table, row, **{column: value}))
    reason = f"unknown region_id; did you mean '{suggestion}'? (ids are case-sensitive)"
    assert held(ds, table) == [(row + 2, column, value, reason)]


def test_region_ids_differing_only_in_case_are_noted(tmp_path):
    tables = tiny_tables()
    extra = pd.DataFrame(
        [{"region_id": "c1", "name": "City one", "province": "Province One", "level": "city", "parent_id": "P1"}]
    )
    tables["regions"] = pd.concat([tables["regions"], extra], ignore_index=True).fillna("")
    ds = load(write_csv_dataset(tmp_path / "d", tables))
    assert len(ds.regions) == 4 and ds.quarantine.empty
    assert any("'C1' and 'c1' differ only in letter case" in note for note in ds.notes), ds.notes


# --- 7. columns outside the contract ---------------------------------------------


def test_unknown_columns_are_listed_in_file_order(tmp_path):
    tables = tiny_tables()
    tables["regions"].insert(2, "note", ["a", "b", "c"])
    tables["staffing"]["z_budget"] = "1"
    tables["staffing"]["a_remark"] = ""
    ds = load(write_csv_dataset(tmp_path / "d", tables))
    assert ds.unknown_columns == {"regions": ["note"], "staffing": ["z_budget", "a_remark"]}
    assert ds.regions["note"].tolist() == ["a", "b", "c"]


def test_unknown_columns_in_parquet(tmp_path):
    ds = load(parquet_dataset(tmp_path, inspections=inspections_arrow().append_column("source", pa.array(["x"] * 6))))
    assert ds.unknown_columns == {"inspections": ["source"]}


def test_clean_dataset_has_no_notes_and_no_unknown_columns(tiny_dir):
    ds = load(tiny_dir)
    assert ds.notes == [] and ds.unknown_columns == {}
    assert ds.quarantine.empty
