"""The report runner with tiny purpose-made notebooks (tests/fixtures/notebooks), one per failure mode."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import ParameterError
from analysis.report import build, record, render
from analysis.report.diff import estimate_changes
from analysis.report.schema import DATA_DIR, PERIOD, NotebookSpec, Param

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
LABEL = Param("label", str, "x", "free text")
pytestmark = pytest.mark.usefixtures("without_pdf")  # builds of fixture notebooks: no report.pdf (conftest.py)


def spec(name: str, timeout: int = 120) -> NotebookSpec:
    return NotebookSpec(name, f"Fixture {name}", (DATA_DIR, PERIOD, LABEL), timeout_seconds=timeout)


def run(tiny_dir, tmp_path, names, period="2022Q4", **kwargs):
    specs = tuple(spec(n) if isinstance(n, str) else n for n in names)
    return build(
        tiny_dir,
        period,
        out=tmp_path / "reports" / period,
        jobs=2,
        specs=specs,
        notebooks_dir=FIXTURES,
        cache_dir=tmp_path / "cache",
        log=lambda *_: None,
        **kwargs,
    )


# --- parameters are checked before anything runs ---------------------------------------


@pytest.mark.parametrize(
    "period, overrides, message",
    [
        ("2022Q4", {"ok": {"bogus": 1}}, "unknown parameter 'bogus'"),
        ("2022Q4", {"ok": {"label": 3}}, "label: expected str, got int 3"),
        ("2023Q5", {}, "'2023Q5' is not a quarter like 2023Q4"),
        ("2030Q1", {}, "period: 2030Q1 is outside the data \\(2022Q1 to 2023Q1\\)"),
        ("2022Q4", {"nope": {}}, "not in this report: nope"),
    ],
)
def test_bad_parameters_rejected_before_execution(tiny_dir, tmp_path, period, overrides, message):
    with pytest.raises(ParameterError, match=message):
        run(tiny_dir, tmp_path, ["ok"], period=period, overrides=overrides)
    assert not (tmp_path / "reports").exists()  # nothing ran, nothing staged
    cached = {path.name for path in (tmp_path / "cache").glob("*")}
    assert cached <= {"snapshots"}  # at most the data, validated for the corrected command


# --- failures stay with their notebook ---------------------------------------------------


@pytest.mark.slow  # a build (~5 s)
def test_raising_notebook_is_isolated_and_visible(tiny_dir, tmp_path):
    result = run(tiny_dir, tmp_path, ["ok", "broken"])
    status = {n.name: n for n in result.notebooks}
    assert not result.ok
    assert status["ok"].status == "ok"
    assert status["broken"].status == "failed" and "planted failure" in status["broken"].message
    page = (result.out / "broken.html").read_text()
    assert "planted failure" in page and "before the error" in page and "never runs" in page
    index = (result.out / "index.html").read_text()
    assert "Fixture broken" in index and "failed" in index and "Fixture ok" in index


@pytest.mark.slow  # a build that waits for a kernel to die
def test_dead_kernel_is_reported_not_waited_on(tiny_dir, tmp_path):
    result = run(tiny_dir, tmp_path, ["dead_kernel", "ok"])
    status = {n.name: n.status for n in result.notebooks}
    assert status == {"dead_kernel": "dead kernel", "ok": "ok"}
    assert (result.out / "dead_kernel.html").exists()


@pytest.mark.slow  # waits out an 8 s timeout
def test_notebook_timeout_stops_it(tiny_dir, tmp_path):
    result = run(tiny_dir, tmp_path, [spec("slow", timeout=8)])
    outcome = result.notebooks[0]
    assert outcome.status == "timed out" and outcome.seconds < 30
    assert "timed out" in (result.out / "slow.html").read_text()


@pytest.mark.slow  # two builds
def test_failed_build_leaves_no_staging_and_keeps_the_old_report(tiny_dir, tmp_path, monkeypatch):
    first = run(tiny_dir, tmp_path, ["ok"])
    before = (first.out / "index.html").read_text()

    def explode(**_):
        raise RuntimeError("render failed")

    monkeypatch.setattr(render, "index_page", explode)
    with pytest.raises(RuntimeError, match="render failed"):
        run(tiny_dir, tmp_path, ["ok"], force=True)
    assert (first.out / "index.html").read_text() == before
    assert sorted(p.name for p in first.out.parent.iterdir()) == ["2022Q4"]  # no .staging-*, no .old-*


# --- results, record, pages -------------------------------------------------------------


@pytest.mark.slow  # a build (~4 s)
def test_estimates_and_run_record(tiny_dir, tmp_path):
    result = run(tiny_dir, tmp_path, ["ok"], overrides={"ok": {"label": "<script>alert(1)</script>"}})
    estimates = pd.read_csv(result.out / "estimates.csv")
    assert estimates.loc[0, ["study", "estimate", "n_obs"]].tolist() == ["fixture", 1.5, 10]
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert {"data", "git", "environment", "seed", "timings", "notebooks", "source_sha256"} <= set(manifest)
    page = (result.out / "ok.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Run record" in page and manifest["data"]["sha256"] in page
    assert "toggleCode" in page and "nav class='toc'" in page


# --- cache --------------------------------------------------------------------------------


@pytest.mark.slow  # seven builds
def test_cache_hits_and_each_kind_of_miss(tiny_dir, tmp_path, monkeypatch):
    cached = lambda result: result.notebooks[0].cached  # noqa: E731
    assert not cached(run(tiny_dir, tmp_path, ["ok"]))
    assert cached(run(tiny_dir, tmp_path, ["ok"]))  # unchanged: hit
    assert not cached(run(tiny_dir, tmp_path, ["ok"], force=True))  # --force
    assert not cached(run(tiny_dir, tmp_path, ["ok"], overrides={"ok": {"label": "y"}}))  # parameter changed
    monkeypatch.setattr(record, "source_digest", lambda: "another package source")
    assert not cached(run(tiny_dir, tmp_path, ["ok"]))  # package source changed
    monkeypatch.undo()
    inspections = tiny_dir / "inspections.csv"
    inspections.write_text(inspections.read_text().replace("20000", "20001"))
    assert not cached(run(tiny_dir, tmp_path, ["ok"]))  # data file changed
    assert cached(run(tiny_dir, tmp_path, ["ok"]))


def test_source_digest_notices_a_changed_source_file(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "module.py").write_text("x = 1\n")
    first = record.source_digest(package)
    (package / "module.py").write_text("x = 2\n")
    assert record.source_digest(package) != first


@pytest.mark.slow  # two builds
def test_diff_between_two_reports(tiny_dir, tmp_path):
    a = run(tiny_dir, tmp_path / "a", ["ok"]).out
    b = run(tiny_dir, tmp_path / "b", ["ok"]).out
    assert set(estimate_changes(a, b)["status"]) == {"unchanged"}
    frame = pd.read_csv(b / "estimates.csv")
    frame.loc[0, "estimate"] = 2.0
    frame.to_csv(b / "estimates.csv", index=False)
    changes = estimate_changes(a, b)
    assert changes.loc[0, "status"] == "changed" and changes.loc[0, "change"] == pytest.approx(0.5)


def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch):
    """It ran no cell, so a second start is safe; a notebook that fails for itself is not re-run."""
    import nbformat

    from analysis.report import worker

    output = tmp_path / "out.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), output)
    answers = iter([("failed", f"RuntimeError: {worker.NEVER_STARTED}"), ("ok", "")])
    calls = []
    monkeypatch.setattr(worker, "_execute", lambda job: calls.append(job) or next(answers))
    assert worker.run({"output": str(output)})["status"] == "ok" and len(calls) == 2
    failing = iter([("failed", "ValueError: the notebook's own error")] * 3)
    calls.clear()
    monkeypatch.setattr(worker, "_execute", lambda job: calls.append(job) or next(failing))
    assert worker.run({"output": str(output)})["status"] == "failed" and len(calls) == 1


def test_a_page_records_the_finding_it_opens_with(tmp_path, monkeypatch):
    from analysis import results
    from analysis.limits import Missing

    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "results"))
    results.record_finding(Missing("Scorecard", "no scores"))  # a step that was not possible: nothing kept
    assert not (tmp_path / "results" / results.FINDING_FILE).exists()
    results.record_finding("  In 2024Q4, 3 of the 134 regions scored are warned.  ")
    assert (
        tmp_path / "results" / results.FINDING_FILE
    ).read_text() == "In 2024Q4, 3 of the 134 regions scored are warned."


def test_a_first_build_starts_the_longest_notebooks_first_and_then_learns(tmp_path):
    """Without durations of its own, a build starts the notebooks by their typical seconds (the scorecard
    before the short data-quality page); once a notebook has run, its own duration counts."""
    from analysis.report import cache
    from analysis.report.builder import longest_first
    from analysis.report.schema import NOTEBOOKS

    cold = [spec.name for _, spec in longest_first(NOTEBOOKS, tmp_path)]
    by_typical = sorted(NOTEBOOKS, key=lambda spec: -(spec.typical_seconds or 0))
    assert cold == [spec.name for spec in by_typical]
    assert cold.index("05_quarterly_scorecard") < cold.index("04_team_expansion") and cold[-1] == "00_data_quality"
    executed, results = tmp_path / "run.ipynb", tmp_path / "results"
    executed.write_text("{}")
    results.mkdir()
    cache.store(tmp_path / "00_data_quality" / "key", executed, results, seconds=120.0)  # slow on this data
    warm = [spec.name for _, spec in longest_first(NOTEBOOKS, tmp_path)]
    assert warm[0] == "00_data_quality"
    assert [number for number, _ in longest_first(NOTEBOOKS, tmp_path)][0] == 1  # numbered as in the report
