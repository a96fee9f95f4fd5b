"""The real report notebooks run end to end through the runner on a small simulated world."""

from __future__ import annotations

import json

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def small_world(report_world):
    return report_world  # the world of the shared report (conftest.py)


@pytest.mark.slow  # reads the shared full report (conftest.built_report: one build per run, ~45 s)
def test_default_report_builds(built_report):
    out = built_report  # every notebook, all "ok", out given relative as `make report` passes it (conftest.py)
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


@pytest.mark.slow  # two notebooks, each in a kernel of its own (~5 s each)
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
    from analysis import paths, synth

    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.setattr(paths, "DEFAULT_DATA", tmp_path / "default")
    calls, write_dataset = [], synth.write_dataset

    def write_small(out, **options):  # the point is that it is written; scale 1 takes many seconds
        calls.append((out, options))
        return write_dataset(out, scale=0.02)

    monkeypatch.setattr(synth, "write_dataset", write_small)
    resolved = paths.resolve_data("")
    assert resolved == tmp_path / "default" and (resolved / "inspections.parquet").exists()
    assert calls == [(tmp_path / "default", {})]  # the default world: default seed and scale
    assert paths.resolve_data("") == resolved and len(calls) == 1  # generated once, then found
