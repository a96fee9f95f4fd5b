"""Build one report: validate, execute (or reuse from cache), render, publish."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ParameterError
from ..paths import NOTEBOOKS, REPORTS, resolve_data
from . import record, schema, uptodate
from .outcome import BuildResult, NotebookResult
from .pool import WorkerPool
from .worker_status import CRASHED, OK, TIMED_OUT

HEADLINE_METRICS = ["inspections", "case_rate", "avg_case_value", "penalty_total", "major_hazard_filing_rate", "surprise_share", "officers"]


def build(
    data: str | Path | None,
    period: str,
    out: str | Path | None = None,
    jobs: int | None = None,
    only: list[str] | None = None,
    force: bool = False,
    *,
    overrides: dict[str, dict] | None = None,
    specs: tuple[schema.NotebookSpec, ...] | None = None,
    notebooks_dir: Path = NOTEBOOKS,
    cache_dir: Path | None = None,
    log=print,
) -> BuildResult:
    """Build the report for `period` from the dataset `data` into `out` (default reports/PERIOD).

    `overrides` sets further parameters per notebook ({"01_reform_overview":
    {"notice_period": "2023H1"}}). Raises ParameterError or DataContractError
    before anything runs when a parameter or the data is unusable. A failing
    notebook does not stop the others; check `BuildResult.ok`.
    """
    started = time.perf_counter()
    specs = specs if specs is not None else schema.select(only)
    data_path = resolve_data(data)
    overrides = overrides or {}
    unknown = sorted(set(overrides) - {s.name for s in specs})
    if unknown:
        raise ParameterError(f"parameters given for notebook(s) not in this report: {', '.join(unknown)}")
    given = {s.name: {**_given(s, data_path, period), **overrides.get(s.name, {})} for s in specs}
    parameters = {s.name: s.resolve(given[s.name]) for s in specs}  # types and formats, before any data is read
    out = (Path(out) if out else REPORTS / period).resolve()  # kernels run in notebooks/: relative paths would land there
    base_record = _base_record(data_path, period)
    base_record["report_key"] = uptodate.report_key(
        period=period, data_sha=base_record["data"]["sha256"], notebooks=parameters,
        notebooks_dir=notebooks_dir, environment={**base_record["environment"], "lock": _lock_digest()},
    )
    if not force and (current := uptodate.published(out, base_record["report_key"])):
        log(f"report up to date (same data, notebooks, parameters, source and environment): {out / 'index.html'}")
        return current

    jobs = max(1, jobs or os.cpu_count() or 1)
    # Workers start now, so their imports overlap with loading and validating the data.
    pool = WorkerPool(min(jobs, len(specs)))
    try:
        return _validate_and_build(specs, given, data_path, period, out, pool, notebooks_dir,
                                   cache_dir or out.parent / ".cache", base_record, force, started, log)
    finally:
        pool.close()


def _validate_and_build(specs, given, data_path, period, out, pool, notebooks_dir, cache_dir, base_record, force, started, log):
    # Heavy imports only past the up-to-date check, so an unchanged rerun stays fast.
    from .. import results
    from ..data import load
    from ..quality import period_span
    from . import render

    dataset = load(data_path)
    span = period_span(dataset)
    parameters = {s.name: s.resolve(given[s.name], data_span=span) for s in specs}

    staging = out.parent / f".staging-{out.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        outcomes = _execute_all(specs, parameters, staging, notebooks_dir, cache_dir, base_record, pool, force, log)
        base_record["timings"] = {"total_seconds": round(time.perf_counter() - started, 2)}
        base_record["notebooks"] = [asdict(o) for o in outcomes]
        estimates = results.merge(staging / "results")
        estimates.to_csv(staging / "estimates.csv", index=False)
        headline = _headline(dataset, period)
        headline.to_csv(staging / "headline.csv", index=False)
        (staging / "index.html").write_text(
            render.index_page(period=period, results=base_record["notebooks"], headline=headline, estimates=estimates, record=base_record),
            encoding="utf-8",
        )
        (staging / "manifest.json").write_text(json.dumps(base_record, indent=2, sort_keys=True, default=str) + "\n")
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result = BuildResult(out, outcomes)
    log(f"report {'complete' if result.ok else 'built with failures'}: {out / 'index.html'}")
    return result


def _given(spec: schema.NotebookSpec, data_path: Path, period: str) -> dict:
    offered = {"data_dir": str(data_path), "period": period}
    names = {p.name for p in spec.params}
    return {k: v for k, v in offered.items() if k in names}


def _base_record(data_path: Path, period: str) -> dict:
    return {
        "period": period,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": record.data_fingerprint(data_path),
        "seed": record.data_seed(data_path),
        "git": record.git_commit(),
        "environment": record.environment(),
        "source_sha256": record.source_digest(),
    }


def _execute_all(specs, parameters, staging, notebooks_dir, cache_dir, base_record, pool, force, log) -> list[NotebookResult]:
    env_key = {**base_record["environment"], "lock": _lock_digest()}
    keys = {
        s.name: record.cache_key(
            data_sha=base_record["data"]["sha256"], notebook=notebooks_dir / f"{s.name}.ipynb",
            parameters=parameters[s.name], source=base_record["source_sha256"], env=env_key,
        )
        for s in specs
    }
    total = len(specs)

    page_record = dict(base_record)  # pages carry the run record without the build's totals

    def run(numbered):
        number, spec = numbered
        cached = None if force else _from_cache(cache_dir / spec.name / keys[spec.name], staging, spec, parameters[spec.name])
        if cached:
            log(f"[{number}/{total}] {spec.name}: cached")
            outcome = cached
        else:
            log(f"[{number}/{total}] {spec.name}: started")
            outcome = _execute(spec, parameters[spec.name], staging, notebooks_dir, pool)
            log(f"[{number}/{total}] {spec.name}: {outcome.status} in {outcome.seconds:.1f} s"
                + (f" ({outcome.message.splitlines()[0]})" if outcome.message else ""))
            if outcome.status == OK:
                _to_cache(cache_dir / spec.name / keys[spec.name], staging, spec)
        _render_page(spec, outcome, staging, page_record)  # overlaps with the other notebooks still running
        return outcome

    # Longest first (durations from earlier runs), so the last notebook to start is a short one.
    order = sorted(enumerate(specs, start=1), key=lambda item: -_expected_seconds(cache_dir, item[1]))
    with ThreadPoolExecutor(max_workers=pool.size) as threads:
        finished = dict(zip((spec.name for _, spec in order), threads.map(run, order)))
    return [finished[spec.name] for spec in specs]


def _expected_seconds(cache_dir: Path, spec) -> float:
    """The notebook's duration in its latest cached run; unknown ones count as long."""
    metas = sorted((cache_dir / spec.name).glob("*/meta.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(metas[-1].read_text())["seconds"] if metas else float(spec.timeout_seconds)


def _execute(spec, parameters, staging, notebooks_dir, pool: WorkerPool) -> NotebookResult:
    from ..results import RESULTS_ENV

    job_dir = staging / ".jobs"
    job_dir.mkdir(exist_ok=True)
    status_file = job_dir / f"{spec.name}.status.json"
    job = {
        "input": str(notebooks_dir / f"{spec.name}.ipynb"),
        "output": str(staging / f"{spec.name}.ipynb"),
        "parameters": parameters,
        "cwd": str(notebooks_dir),
        "status_file": str(status_file),
        "env": {RESULTS_ENV: str(staging / "results" / spec.name)},
    }
    started = time.perf_counter()
    answer, stderr_tail = pool.run(job, spec.timeout_seconds)
    seconds = round(time.perf_counter() - started, 2)
    if answer == "done" and status_file.exists():
        status = json.loads(status_file.read_text())
        return NotebookResult(spec.name, spec.title, status["status"], status["seconds"], parameters, status["message"])
    if answer == "timeout":
        return NotebookResult(spec.name, spec.title, TIMED_OUT, seconds, parameters, f"stopped after {spec.timeout_seconds} s")
    return NotebookResult(spec.name, spec.title, CRASHED, seconds, parameters,
                          f"the worker process died without a status\n{stderr_tail}")


def _from_cache(entry: Path, staging: Path, spec, parameters) -> NotebookResult | None:
    if not (entry / "executed.ipynb").exists():
        return None
    shutil.copy2(entry / "executed.ipynb", staging / f"{spec.name}.ipynb")
    if (entry / "results").exists():
        shutil.copytree(entry / "results", staging / "results" / spec.name, dirs_exist_ok=True)
    meta = json.loads((entry / "meta.json").read_text())
    return NotebookResult(spec.name, spec.title, OK, meta["seconds"], parameters, cached=True)


def _to_cache(entry: Path, staging: Path, spec) -> None:
    tmp = entry.with_name(entry.name + f".tmp-{uuid.uuid4().hex[:6]}")
    tmp.mkdir(parents=True)
    shutil.copy2(staging / f"{spec.name}.ipynb", tmp / "executed.ipynb")
    produced = staging / "results" / spec.name
    if produced.exists():
        shutil.copytree(produced, tmp / "results")
    status = json.loads((staging / ".jobs" / f"{spec.name}.status.json").read_text())
    (tmp / "meta.json").write_text(json.dumps({"seconds": status["seconds"]}))
    shutil.rmtree(entry, ignore_errors=True)
    tmp.rename(entry)


def _render_page(spec, outcome: NotebookResult, staging: Path, base_record: dict) -> None:
    import nbformat

    from . import render

    executed = staging / f"{spec.name}.ipynb"
    page_record = {**base_record, "notebook": asdict(outcome)}
    page_record.pop("notebooks", None)
    if executed.exists():
        notebook = nbformat.read(executed, as_version=4)
        page = render.notebook_page(notebook, title=spec.title, status=outcome.status, message=outcome.message,
                                    parameters=outcome.parameters, record=page_record)
    else:
        page = render.failed_page(title=spec.title, status=outcome.status, message=outcome.message,
                                  parameters=outcome.parameters, record=page_record)
    (staging / f"{spec.name}.html").write_text(page, encoding="utf-8")


def _headline(dataset, period: str):
    import pandas as pd

    from .. import metrics

    try:
        table = metrics.compute(dataset, by=None, period=period, yoy=True)
    except Exception:  # the index must still be written when the quarter has no data
        return pd.DataFrame()
    row = table.iloc[0]
    return pd.DataFrame(
        {"metric": HEADLINE_METRICS, "value": [row[m] for m in HEADLINE_METRICS], "year_on_year": [row[f"{m}_yoy"] for m in HEADLINE_METRICS]}
    )


def _publish(staging: Path, out: Path) -> None:
    """Move the finished report into place; the old one goes only once the new one is there."""
    shutil.rmtree(staging / ".jobs", ignore_errors=True)
    old = out.parent / f".old-{out.name}-{uuid.uuid4().hex[:8]}"
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _lock_digest() -> str:
    from ..paths import PROJECT_ROOT

    lock = PROJECT_ROOT / "requirements.lock"
    return record.file_digest(lock) if lock.exists() else ""
