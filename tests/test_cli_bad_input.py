"""Bad command-line input gets a one-line message and a documented exit code, never a traceback,
and never a deleted or half-written path. Ends with a hypothesis fuzz of arguments and file bytes."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny_tables, write_csv_dataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis.report
import analysis.report.builder
from analysis.cli import main
from analysis.csvout import neutralise, neutralised, write_csv


def run_cli(argv: list[str]) -> int:
    """`main(argv)`, with argparse's own exit (bad usage) turned into its code."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


# --- spreadsheet formulas ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, written",
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (-3.5, -3.5),
        (None, None),
    ],
)
def test_formula_cells_are_neutralised(cell, written):
    assert neutralise(cell) == written


def test_numbers_stay_numbers_and_text_is_guarded(tmp_path):
    frame = pd.DataFrame({"name": ["=1+1", "ok"], "value": [-1.5, 2.0], "group": pd.Categorical(["@x", "y"])})
    write_csv(frame, tmp_path / "out.csv")
    back = pd.read_csv(tmp_path / "out.csv")
    assert back["name"].tolist() == ["'=1+1", "ok"] and back["value"].tolist() == [-1.5, 2.0]
    assert back["group"].tolist() == ["'@x", "y"]
    assert neutralised(frame)["name"].tolist() == ["'=1+1", "ok"] and frame["name"].tolist() == ["=1+1", "ok"]


def test_quarantine_file_neutralises_formulas(tmp_path, capsys):
    tables = tiny_tables()
    tables["inspections"].loc[0, "surprise"] = '=HYPERLINK("http://evil","click")'
    quarantine = tmp_path / "q.csv"
    assert main(["validate", str(write_csv_dataset(tmp_path / "d", tables)), "--quarantine-out", str(quarantine)]) == 0
    held = pd.read_csv(quarantine, dtype=str, keep_default_na=False)
    assert held.loc[0, "value"] == '\'=HYPERLINK("http://evil","click")'
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in held.to_numpy().ravel())
    assert "start with '" in capsys.readouterr().out


def test_metrics_csv_neutralises_formulas(tmp_path, capsys):
    tables = tiny_tables()
    tables["regions"]["province"] = "+cmd|' /C calc'!A0"
    assert main(["metrics", str(write_csv_dataset(tmp_path / "d", tables)), "--period", "2022", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].startswith("'+cmd|") or rows[1].startswith("\"'+cmd|")


# --- arguments out of range -------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["synth", "--out", "{tmp}/w", "--scale", "nan"], "must be a number above 0"),
        (["synth", "--out", "{tmp}/w", "--scale", "inf"], "must be a number above 0"),
        (["synth", "--out", "{tmp}/w", "--scale", "0"], "must be a number above 0"),
        (["synth", "--out", "{tmp}/w", "--scale", "-1"], "must be a number above 0"),
        (["synth", "--out", "{tmp}/w", "--scale", "1e9"], "at most 1000"),
        (["synth", "--out", "{tmp}/w", "--seed", "-1"], "must be between 0 and 2**63 - 1"),
        (["synth", "--out", "{tmp}/w", "--seed", "1.5"], "is not a whole number"),
        (["report", "--period", "2022Q4", "--jobs", "0"], "must be at least 1"),
        (["report", "--period", "2022Q4", "--jobs", "-1"], "must be at least 1"),
        (["report", "--period", "2022Q4", "--min-cell-size", "0"], "must be at least 1"),
    ],
)
def test_out_of_range_arguments_are_usage_errors(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert run_cli(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "w").exists() and not list(tmp_path.glob(".synth-*"))  # no half-written folder


def test_only_named_twice_runs_once(tiny_dir, monkeypatch):
    seen = {}
    monkeypatch.setattr(analysis.report, "build", lambda *a, **k: seen.update(k) or type("R", (), {"ok": True})())
    assert (
        main(
            [
                "report",
                "--data",
                str(tiny_dir),
                "--period",
                "2022Q4",
                "--only",
                "00_data_quality",
                "00_data_quality",
                "01_reform_overview",
            ]
        )
        == 0
    )
    assert seen["only"] == ["00_data_quality", "01_reform_overview"]


# --- synth never writes over what it did not write --------------------------------------------


def test_synth_refuses_an_existing_file(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert main(["synth", "--out", str(target), "--scale", "0.01"]) == 2
    assert "is not a folder" in capsys.readouterr().err and target.read_text() == "mine"


def test_synth_refuses_a_folder_of_other_files(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "inspections.csv").write_text("my own data")
    assert main(["synth", "--out", str(tmp_path / "data"), "--scale", "0.01"]) == 2
    assert "not written by `analysis synth`" in capsys.readouterr().err
    assert (tmp_path / "data" / "inspections.csv").read_text() == "my own data"


def test_synth_replaces_its_own_world_and_leaves_nothing_behind(tmp_path):
    out = tmp_path / "world"
    assert main(["synth", "--out", str(out), "--scale", "0.02", "--seed", "3"]) == 0
    first = (out / "truth.json").read_text()
    assert main(["synth", "--out", str(out), "--scale", "0.02", "--seed", "4"]) == 0
    assert (out / "truth.json").read_text() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]


# --- files that are not what they claim -------------------------------------------------------


def test_quarantine_out_a_folder_is_a_usage_error(tiny_dir, tmp_path, capsys):
    assert main(["validate", str(tiny_dir), "--quarantine-out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def fake_report(folder: Path, estimates: str, headline: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "estimates.csv").write_text(estimates)
    (folder / "headline.csv").write_text(headline)
    return folder


ESTIMATES = "study,outcome,estimand,method,estimate,std_error,ci_low,ci_high,n_obs\ns,y,ATE,naive,1.0,0.1,0.8,1.2,10\n"


@pytest.mark.parametrize(
    "estimates, headline, code, message",
    [
        (
            "study,outcome\ns,y\n",
            "metric,value\n",
            2,
            "lacks the column(s) estimand, method, estimate, ci_low, ci_high",
        ),
        (ESTIMATES, "", 0, "Estimates: 1 unchanged"),  # the builder writes an empty headline for an empty quarter
        (ESTIMATES, "metric,value,year_on_year\ninspections,5,1.1\n", 0, "inspections"),
        ("", "", 0, "No estimates in either report"),
    ],
)
def test_diff_on_odd_reports(tmp_path, capsys, estimates, headline, code, message):
    a = fake_report(tmp_path / "a", estimates, headline)
    b = fake_report(tmp_path / "b", estimates, headline)
    assert main(["diff", str(a), str(b)]) == code
    captured = capsys.readouterr()
    assert message in (captured.out if code == 0 else captured.err)


def test_diff_on_a_folder_that_is_not_a_report(tmp_path, capsys):
    assert main(["diff", str(tmp_path), str(tmp_path)]) == 2
    assert "not a built report (no estimates.csv)" in capsys.readouterr().err


# --- fuzz: arguments and bytes ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A dataset, a folder of precious files, and a place for outputs."""
    root = tmp_path_factory.mktemp("fuzz")
    data = write_csv_dataset(root / "data", tiny_tables())
    precious = root / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    return root, data, precious


OPTION_VALUES = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "1",
        "2",
        "nan",
        "inf",
        "1e308",
        "2022Q4",
        "2022Q5",
        "2900Q1",
        "2022H1",
        "2022",
        "abc",
        "/",
        "=cmd",
        "{data}",
        "{precious}",
        "{precious}/thesis.tex",
        "{root}/new",
        "{data}/inspections.csv",
        "none",
        "province",
        "csv",
        "table",
        "00_data_quality",
        "nope",
    ]
)
FLAGS = st.sampled_from(
    [
        "--out",
        "--period",
        "--data",
        "--jobs",
        "--only",
        "--scale",
        "--seed",
        "--by",
        "--format",
        "--quarantine-out",
        "--strict",
        "--yoy",
        "--force",
        "--allow-failures",
        "--min-cell-size",
    ]
)
COMMANDS = st.sampled_from(["validate", "synth", "metrics", "report", "diff", "bogus"])


class NoPool:
    size = 1

    def __init__(self, size):
        pass

    def close(self):
        pass


@pytest.mark.slow  # property-based: 120 generated command lines (make check, CI)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=COMMANDS, words=st.lists(st.one_of(FLAGS, OPTION_VALUES), max_size=8))
def test_fuzzed_arguments_give_documented_errors_only(sandbox, monkeypatch, command, words):
    root, data, precious = sandbox
    would_build = []
    # A fuzzed command line that is fully valid would build a whole report: note it instead.
    monkeypatch.setattr(
        analysis.report.builder._Build,
        "run",
        lambda self, *a: would_build.append(self.out) or analysis.report.BuildResult(self.out, []),
    )
    monkeypatch.setattr(analysis.report.builder, "WorkerPool", NoPool)
    monkeypatch.setattr(analysis.report.builder, "resolve_data", lambda given: Path(given) if given else data)
    monkeypatch.setattr("analysis.cli.MAX_SCALE", 0.02)  # a fuzzed synth stays tiny
    argv = [command] + [w.format(root=root, data=data, precious=precious) for w in words]
    code = run_cli(argv)
    assert code in (0, 1, 2), argv
    assert (precious / "thesis.tex").read_text() == "years of work" and sorted(p.name for p in precious.iterdir()) == [
        "thesis.tex"
    ]
    assert sorted(p.name for p in data.iterdir()) == sorted(f"{t}.csv" for t in tiny_tables())


@pytest.mark.slow  # property-based: 80 corrupted files, each loaded (make check, CI)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(sorted(tiny_tables())), position=st.floats(0, 1), junk=st.binary(min_size=1, max_size=40))
def test_fuzzed_file_bytes_are_validated_or_refused(tmp_path_factory, capsys, table, position, junk):
    folder = write_csv_dataset(tmp_path_factory.mktemp("bytes"), tiny_tables())
    file = folder / f"{table}.csv"
    raw = file.read_bytes()
    cut = math.floor(position * len(raw))
    file.write_bytes(raw[:cut] + junk + raw[cut:])
    code = main(["validate", str(folder)])
    captured = capsys.readouterr()
    assert code in (0, 1)
    assert "Traceback" not in captured.err
    if code == 1:
        assert captured.err.startswith("error: ") and table in captured.err


def test_validate_lists_unknown_columns_and_notes(tmp_path, capsys):
    tables = tiny_tables()
    tables["inspections"]["inspector_name"] = "x"
    tables["regions"].loc[2, "region_id"] = "c1"  # differs from C1 only in letter case
    tables["regions"].loc[2, "parent_id"] = "P1"
    assert main(["validate", str(write_csv_dataset(tmp_path / "d", tables))]) == 0
    printed = capsys.readouterr().out
    assert "columns outside the contract in inspections (kept, not used): inspector_name" in printed
    assert "note: " in printed and "c1" in printed
