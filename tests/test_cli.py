"""The `analysis` command line: exit codes and summaries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny_tables, write_csv_dataset

from analysis.cli import main


def test_validate_clean_dataset_exits_zero(tiny_dir, capsys):
    assert main(["validate", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    assert "inspections" in out and "6" in out


def test_validate_reports_quarantine_and_writes_it(tmp_path, capsys):
    tables = tiny_tables()
    tables["inspections"].loc[2, "surprise"] = "maybe"
    path = write_csv_dataset(tmp_path / "d", tables)
    out_file = tmp_path / "q" / "quarantine.csv"
    assert main(["validate", str(path), "--quarantine-out", str(out_file)]) == 0
    printed = capsys.readouterr().out
    assert "surprise: not a boolean (true/false, 1/0, yes/no) (1)" in printed
    held = pd.read_csv(out_file)
    assert held.loc[0, ["table", "line", "column", "value"]].tolist() == ["inspections", 4, "surprise", "maybe"]


def test_validate_strict_fails_on_quarantine(tmp_path, capsys):
    tables = tiny_tables()
    tables["inspections"].loc[2, "surprise"] = "maybe"
    assert main(["validate", str(write_csv_dataset(tmp_path / "d", tables)), "--strict"]) == 1
    assert "strict mode" in capsys.readouterr().err


def test_validate_structural_fault_exits_one(tmp_path, capsys):
    tables = tiny_tables()
    tables["staffing"] = tables["staffing"].drop(columns="officers")
    assert main(["validate", str(write_csv_dataset(tmp_path / "d", tables))]) == 1
    err = capsys.readouterr().err
    assert "staffing.csv: required column(s) missing: officers" in err


@pytest.mark.parametrize("argv", [[], ["validate"], ["validate", "x", "--bogus"], ["frobnicate"]])
def test_bad_usage_exits_two(argv):
    result = subprocess.run([sys.executable, "-m", "analysis.cli", *argv], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr


def test_console_script_is_installed(tiny_dir):
    script = Path(sys.executable).parent / "analysis"
    result = subprocess.run([str(script), "validate", str(tiny_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
