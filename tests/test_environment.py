"""environment.yml (conda users) lists the same packages as pyproject.toml (make env)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"python-duckdb": "duckdb"}  # conda-forge name -> PyPI name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    listed = {CONDA_NAMES.get(_name(d), _name(d)) for d in conda if isinstance(d, str)} - {"python", "pip"}
    pip_section = next(d["pip"] for d in conda if isinstance(d, dict))
    listed |= {_name(d) for d in pip_section if not d.startswith("-e")}
    assert listed == pypi


def test_lock_file_pins_every_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {
        _name(line)
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    }
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert _name(requirement).replace("_", "-") in {n.replace("_", "-") for n in locked}, requirement
