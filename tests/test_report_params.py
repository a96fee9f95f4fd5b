"""Notebook parameters from the command line (--param) and from a TOML file (--config)."""

from __future__ import annotations

import pytest

import analysis.report
from analysis.cli import main
from analysis.errors import ParameterError
from analysis.report import schema


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("notice_period=2023H1", (None, "notice_period", "2023H1")),
        ("01_reform_overview.notice_period=2023H1", ("01_reform_overview", "notice_period", "2023H1")),
        ('scope=["Jiangsu"]', (None, "scope", ["Jiangsu"])),
        ("lags=2", (None, "lags", 2)),
        ("flag=true", (None, "flag", True)),
        ("label=a=b", (None, "label", "a=b")),
    ],
)
def test_assignments_are_parsed_as_json_else_text(text, parsed):
    assert schema.parse_assignment(text) == parsed


@pytest.mark.parametrize("text", ["notice_period", "=3", " =x"])
def test_malformed_assignment_is_a_usage_error(text):
    with pytest.raises(ParameterError, match="expected NAME=VALUE or NOTEBOOK.NAME=VALUE"):
        schema.parse_assignment(text)


def test_a_bare_name_goes_to_every_notebook_that_declares_it():
    specs = schema.select(None)
    overrides = schema.overrides_from([(None, "notice_period", "2023H1")], specs)
    assert overrides == {"01_reform_overview": {"notice_period": "2023H1"}}


@pytest.mark.parametrize(
    "assignment, message",
    [
        ((None, "bogus", 1), "no selected notebook has a parameter of that name"),
        (("99_nope", "x", 1), "99_nope is not a notebook of this report"),
        ((None, "period", "2023Q4"), "set it with --period, not --param"),
        ((None, "min_cell_size", 3), "set it with --min-cell-size"),
    ],
)
def test_bad_assignments_name_what_is_wrong(assignment, message):
    with pytest.raises(ParameterError, match=message):
        schema.overrides_from([assignment], schema.select(None))


def test_config_file_tables_and_top_level_keys(tmp_path):
    config = tmp_path / "report.toml"
    config.write_text('notice_period = "2021H2"\n\n[01_reform_overview]\nnotice_period = "2023H1"\n')
    assert schema.assignments_from_config(config) == [
        (None, "notice_period", "2021H2"),
        ("01_reform_overview", "notice_period", "2023H1"),
    ]
    (tmp_path / "bad.toml").write_text("notice_period = \n")
    with pytest.raises(ParameterError, match="not valid TOML"):
        schema.assignments_from_config(tmp_path / "bad.toml")


@pytest.fixture
def captured_build(monkeypatch):
    seen = {}
    monkeypatch.setattr(analysis.report, "build", lambda *a, **k: seen.update(k) or type("R", (), {"ok": True})())
    return seen


def test_command_line_wins_over_the_config_file(tiny_dir, tmp_path, captured_build):
    config = tmp_path / "report.toml"
    config.write_text('[01_reform_overview]\nnotice_period = "2021H2"\n')
    assert (
        main(
            [
                "report",
                "--data",
                str(tiny_dir),
                "--period",
                "2022Q4",
                "--config",
                str(config),
                "--param",
                "notice_period=2023H1",
            ]
        )
        == 0
    )
    assert captured_build["overrides"] == {"01_reform_overview": {"notice_period": "2023H1"}}


def test_bad_value_names_notebook_parameter_and_what_is_allowed(tiny_dir, tmp_path, capsys):
    code = main(
        [
            "report",
            "--data",
            str(tiny_dir),
            "--period",
            "2022Q4",
            "--out",
            str(tmp_path / "r"),
            "--param",
            "01_reform_overview.notice_period=2023X1",
        ]
    )
    assert code == 2
    assert (
        "notebook 01_reform_overview: notice_period: '2023X1' is not a half-year like 2022H1" in capsys.readouterr().err
    )
    assert not (tmp_path / "r").exists()
