"""The real report notebooks run end to end through the runner on a small simulated world."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import build


@pytest.fixture(scope="module")
def small_world(world_factory):
    return world_factory(seed=11, scale=0.3)


@pytest.mark.xdist_group("notebooks")
def test_default_report_builds(small_world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = Path("reports") / "2024Q4"  # relative, as `make report` passes it
    result = build(small_world, "2024Q4", out=out, jobs=2, log=lambda *_: None)
    assert result.ok, [(n.name, n.status, n.message) for n in result.notebooks]
    for name in ("index.html", "00_data_quality.html", "01_reform_overview.html", "manifest.json", "estimates.csv"):
        assert (out / name).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 11 and len(manifest["data"]["sha256"]) == 64
    estimates = pd.read_csv(out / "estimates.csv")
    assert list(estimates.columns)[:3] == ["study", "outcome", "estimand"]
    assert set(estimates["study"]) == {"surprise", "cross_region", "team"}
    page = (out / "01_reform_overview.html").read_text()
    assert "<img" in page and "data:image/png;base64" in page  # figures embedded
    assert "http://" not in page and "https://" not in page  # self-contained
    for html_file in out.glob("*.html"):
        assert "E0000" not in html_file.read_text(), f"enterprise identifier in {html_file.name}"
    assert not list(out.parent.glob(".staging-*"))
    for name, words in (("00_data_quality", "rows"), ("05_quarterly_scorecard", "regions scored")):
        text = (out / f"{name}.html").read_text()
        finding = text.index("Main finding")
        assert words in text[finding : finding + 600], name  # the page opens with what it found


@pytest.mark.xdist_group("notebooks")
@pytest.mark.parametrize("name", ["00_data_quality", "01_reform_overview"])
def test_notebook_runs_top_to_bottom_with_its_own_defaults(small_world, monkeypatch, name):
    """As a researcher would run it: no injected parameters, data from $ANALYSIS_DATA."""
    import nbformat
    from nbclient import NotebookClient

    from analysis.paths import DATA_ENV, NOTEBOOKS

    monkeypatch.setenv(DATA_ENV, str(small_world))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_default_data_is_generated_on_first_use(tmp_path, monkeypatch):
    from analysis import paths

    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.setattr(paths, "DEFAULT_DATA", tmp_path / "default")
    resolved = paths.resolve_data("")
    assert resolved == tmp_path / "default" and (resolved / "inspections.parquet").exists()
