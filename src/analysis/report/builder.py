"""Build one report: validate, execute (or reuse from cache), render, publish."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import csvout, engine, snapshot
from ..errors import BuildError, DataContractError, ParameterError
from ..paths import NOTEBOOKS, REPORTS, resolve_data
from ..quarter import Quarter
from . import cache, pdf, publish, record, schema, uptodate, validate
from .methods import CODEBOOK
from .outcome import BuildResult, NotebookResult
from .pool import WorkerPool
from .worker_status import CRASHED, OK, TIMED_OUT

CACHE_NAME = ".enforcement-reform-cache"  # beside the report; a name no other tool uses (not ~/.cache)
HEADLINE_METRICS = [
    "inspections",
    "case_rate",
    "avg_case_value",
    "penalty_total",
    "major_hazard_filing_rate",
    "surprise_share",
    "officers",
]


def build(
    data: str | Path | None,
    period: str,
    out: str | Path | None = None,
    jobs: int | None = None,
    only: list[str] | None = None,
    force: bool = False,
    *,
    allow_failures: bool = False,
    min_cell_size: int = 5,
    cache_limit_bytes: int = cache.DEFAULT_LIMIT_BYTES,
    previous: str | Path | None = None,
    overrides: dict[str, dict] | None = None,
    specs: tuple[schema.NotebookSpec, ...] | None = None,
    notebooks_dir: Path = NOTEBOOKS,
    cache_dir: Path | None = None,
    log=print,
) -> BuildResult:
    """Build the report for `period` from the dataset `data` into `out` (default reports/PERIOD).

    `overrides` sets further parameters per notebook ({"01_reform_overview":
    {"notice_period": "2023H1"}}). Raises ParameterError (bad parameter, or an `out`
    the runner does not own) or DataContractError (unusable data, or data that changed
    during the build) before anything is published. A failing notebook does not stop the
    others; check `BuildResult.ok`. A build with failed notebooks replaces the report at
    `out` only with `allow_failures`; otherwise it is kept beside it (`BuildResult.out`
    says where) and the last good report stays. Executed notebooks are cached beside the
    report; after the build the least recently used ones are removed until the cache is
    within `cache_limit_bytes`. The index compares the main estimates with `previous` (a
    built report; default: the previous quarter's report beside `out`, when there is one).
    """
    started = time.perf_counter()
    if jobs is not None and jobs < 1:
        raise ParameterError(f"jobs: must be at least 1, got {jobs}")
    if min_cell_size < 1:
        raise ParameterError(f"min_cell_size: must be at least 1, got {min_cell_size}")
    specs = specs if specs is not None else schema.select(only)
    data_path = resolve_data(data)
    if not data_path.exists():
        raise DataContractError(
            f"{data_path}: no such dataset (expected a directory or a .duckdb file)", file=str(data_path)
        )
    overrides = overrides or {}
    unknown = sorted(set(overrides) - {s.name for s in specs})
    if unknown:
        raise ParameterError(f"parameters given for notebook(s) not in this report: {', '.join(unknown)}")
    offered = {"data_dir": str(data_path), "period": period, "min_cell_size": min_cell_size}
    given = {s.name: {**_given(s, offered), **overrides.get(s.name, {})} for s in specs}
    parameters = {s.name: s.resolve(given[s.name]) for s in specs}  # types and formats, before any data is read
    # Absolute: kernels run in notebooks/, where a relative path would land elsewhere.
    out = publish.check_output(Path(out) if out else REPORTS / period, data_path)
    with publish.locked(out):
        publish.recover(out, log)
        base_record = _base_record(data_path, period, min_cell_size)
        base_record["report_key"] = uptodate.report_key(
            period=period,
            data_sha=base_record["data"]["sha256"],
            notebooks=parameters,
            notebooks_dir=notebooks_dir,
            environment={**base_record["environment"], "lock": _lock_digest()},
        )
        if not force and (current := uptodate.published(out, base_record["report_key"])):
            log(f"report up to date (same data, notebooks, parameters, source and environment): {out / 'index.html'}")
            return current

        jobs = jobs or os.cpu_count() or 1
        cache_dir = cache_dir or out.parent / CACHE_NAME
        # Workers start now, so their imports overlap with loading and validating the data.
        pool = WorkerPool(min(jobs, len(specs)))
        try:
            job = _Build(
                specs=specs,
                data_path=data_path,
                period=period,
                out=out,
                notebooks_dir=notebooks_dir,
                cache_dir=cache_dir,
                record=base_record,
                force=force,
                allow_failures=allow_failures,
                log=log,
                previous=Path(previous).resolve() if previous else None,
            )
            return job.run(given, pool, started)
        finally:
            pool.close()
            cache.prune(cache_dir, cache_limit_bytes)


@dataclass
class _Build:
    """One build's context: what it reads, where it writes, and how it decides to publish."""

    specs: tuple[schema.NotebookSpec, ...]
    data_path: Path
    period: str
    out: Path
    notebooks_dir: Path
    cache_dir: Path
    record: dict  # the run record, completed as the build goes
    force: bool
    allow_failures: bool
    log: Callable[[str], object]
    previous: Path | None = None

    def run(self, given: dict, pool: WorkerPool, started: float) -> BuildResult:
        # Heavy imports only past the up-to-date check, so an unchanged rerun stays fast.
        from .. import results
        from ..quality import period_span

        validated = validated_snapshot(self.data_path, self.cache_dir / "snapshots" / snapshot_key(self.record))
        self._require_unchanged_data(validated)  # else the snapshot may hold newer data than the fingerprint
        dataset = snapshot.read(validated)  # the inspections stay on disk: the builder counts them in SQL
        with engine.in_process():  # a few counts: not worth starting Spark here, whatever the kernels use
            span = period_span(dataset)
            self.record["data"]["span"] = list(span) if "NaT" not in span else None  # None: nothing accepted
            facts = schema.DataFacts(
                span,
                provinces=tuple(sorted(dataset.regions["province"].astype("str").unique())),
                programs=tuple(sorted(dataset.programs["program"].astype("str").unique())),
            )
            parameters = {s.name: s.resolve(given[s.name], data=facts) for s in self.specs}
            keys = _cache_keys(self.specs, parameters, self.notebooks_dir, self.record)
            scope = _common_scope(parameters)
            headline = _headline(dataset.within(scope or ()), self.period, self.record["min_cell_size"])
        self.record["scope"] = list(scope) if scope is not None else "differs between pages"
        staging = publish.new_staging(self.out)
        try:
            outcomes = _execute_all(
                self.specs,
                parameters,
                keys,
                staging,
                self.notebooks_dir,
                self.cache_dir,
                self.record,
                pool,
                self.force,
                self.log,
                {snapshot.SNAPSHOT_ENV: str(validated)},
            )
            self._require_unchanged_data(validated)
            for spec, outcome in zip(self.specs, outcomes, strict=False):
                if outcome.status == OK and not outcome.cached:  # cached only now: never results of changed data
                    _to_cache(self.cache_dir / spec.name / keys[spec.name], staging, spec)
            self.record["timings"] = {"total_seconds": round(time.perf_counter() - started, 2)}
            self.record["notebooks"] = [_public(asdict(o)) for o in outcomes]
            self.record["disclosure"] = _notebook_records(staging / "results", "disclosure.json")
            self.record["limitations"] = _notebook_records(staging / "results", "limitations.json")
            estimates = results.merge(staging / "results")
            csvout.write_csv(estimates, staging / "estimates.csv")
            for download in results.downloads(staging / "results"):  # e.g. scorecard.csv, beside estimates.csv
                shutil.copy2(download, staging / download.name)
            csvout.write_csv(headline, staging / "headline.csv")
            self._write_index(staging, headline, estimates)
            return self._publish(staging, outcomes)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _require_unchanged_data(self, validated: Path) -> None:
        now = record.data_fingerprint(self.data_path)
        if now["sha256"] != self.record["data"]["sha256"]:
            shutil.rmtree(validated, ignore_errors=True)  # it may hold the new data under the old fingerprint
            before = self.record["data"]["files"]
            changed = sorted(n for n in set(before) | set(now["files"]) if before.get(n) != now["files"].get(n))
            raise DataContractError(
                f"{self.data_path}: the dataset changed while the report was being built ({', '.join(changed)}); "
                "nothing was published or cached. Build again once the data is final.",
                file=str(self.data_path),
            )

    def _write_index(self, staging: Path, headline, estimates) -> None:
        from . import render

        changes, previous = self._changes(staging)
        page = render.index_page(
            period=self.period,
            results=self.record["notebooks"],
            headline=headline,
            estimates=estimates,
            record=self.record,
            changes=changes,
            previous=previous,
            page_messages=self._page_messages(staging),
        )
        (staging / "index.html").write_text(page, encoding="utf-8")
        (staging / "methods.html").write_text(render.methods_page(), encoding="utf-8")
        (staging / "estimates.md").write_text(CODEBOOK, encoding="utf-8")
        pages = ["index.html", *(f"{s.name}.html" for s in self.specs), "methods.html"]
        self.record["pdf"] = pdf.write_pdf(staging, [p for p in pages if (staging / p).exists()], self.period) or (
            "report.pdf"
        )
        (staging / "manifest.json").write_text(json.dumps(self.record, indent=2, sort_keys=True, default=str) + "\n")

    def _page_messages(self, staging: Path) -> list[str]:
        """Key messages the pages stated themselves (`results.record_key_message`), in page order."""
        from ..results import KEY_MESSAGE_FILE

        files = [staging / "results" / spec.name / KEY_MESSAGE_FILE for spec in self.specs]
        return [f.read_text(encoding="utf-8") for f in files if f.is_file()]

    def _changes(self, staging: Path):
        """Estimates against the previous report (--previous, else the previous quarter's report beside
        this one, when the runner published it); (None, "") when there is none."""
        from .diff import estimate_changes

        previous = self.previous or self.out.with_name(str(Quarter.parse(self.period).shift(-1)))
        if not (previous / "estimates.csv").is_file() or not publish.is_ours(previous):
            if self.previous:
                self.log(f"--previous {previous}: not a report this runner published; nothing to compare with")
            return None, ""
        try:
            changes = estimate_changes(previous, staging)
        except ParameterError as err:
            self.log(f"no comparison with {previous}: {err}")
            return None, ""
        self.record["previous_report"] = previous.name
        return changes, previous.name

    def _publish(self, staging: Path, outcomes: list[NotebookResult]) -> BuildResult:
        shutil.rmtree(staging / ".jobs", ignore_errors=True)
        result = BuildResult(self.out, outcomes)
        triage = publish.triage_path(self.out)
        if result.ok or self.allow_failures:
            publish.publish(staging, self.out)
            if triage.is_dir() and publish.is_ours(triage):
                shutil.rmtree(triage)  # an earlier failed build, superseded by this one
            self.log(f"report {'complete' if result.ok else 'published with failures'}: {self.out / 'index.html'}")
            return result
        publish.mark(staging, report=self.out.name, state="failed build")
        publish.replace_owned(staging, triage)
        failed = [o.name for o in outcomes if o.status != OK]
        kept = (
            f"the last good report at {self.out} is unchanged"
            if self.out.exists()
            else f"nothing was published at {self.out}"
        )
        self.log(
            f"report NOT published: {len(failed)} notebook(s) failed ({', '.join(failed)}); {kept}. "
            f"This build is kept for triage at {triage / 'index.html'} (publish anyway with --allow-failures)."
        )
        return BuildResult(triage, outcomes, published=False)


def _public(outcome: dict) -> dict:
    """A notebook's outcome for pages and the manifest: the dataset by name, not by the builder's path."""
    parameters = dict(outcome["parameters"])
    if "data_dir" in parameters:
        parameters["data_dir"] = Path(parameters["data_dir"]).name
    return {**outcome, "parameters": parameters}


def _notebook_records(results_dir: Path, name: str) -> dict[str, list]:
    """Each notebook's list from `name` in its results folder: what it withheld (disclosure.json)
    or could not do (limitations.json)."""
    found: dict[str, list] = {}
    for file in sorted(results_dir.glob(f"*/{name}")) if results_dir.exists() else []:
        try:
            found[file.parent.name] = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            found[file.parent.name] = [{"error": f"unreadable record: {err}"}]
    return found


def _given(spec: schema.NotebookSpec, offered: dict) -> dict:
    """The build-wide settings this notebook declares as parameters."""
    names = {p.name for p in spec.params}
    return {k: v for k, v in offered.items() if k in names}


def _base_record(data_path: Path, period: str, min_cell_size: int) -> dict:
    return {
        "period": period,
        "min_cell_size": min_cell_size,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": record.data_fingerprint(data_path),
        "seed": record.data_seed(data_path),
        "git": record.git_commit(),
        "environment": record.environment(),
        "source_sha256": record.source_digest(),
    }


def _cache_keys(specs, parameters, notebooks_dir, base_record) -> dict[str, str]:
    env_key = {**base_record["environment"], "lock": _lock_digest()}
    return {
        s.name: record.cache_key(
            data_sha=base_record["data"]["sha256"],
            notebook=notebooks_dir / f"{s.name}.ipynb",
            parameters=parameters[s.name],
            source=base_record["source_sha256"],
            env=env_key,
        )
        for s in specs
    }


def _execute_all(
    specs, parameters, keys, staging, notebooks_dir, cache_dir, base_record, pool, force, log, env
) -> list[NotebookResult]:
    """Run (or take from the cache) every notebook, longest first; `env` goes to every kernel."""
    total = len(specs)
    page_record = dict(base_record)  # pages carry the run record without the build's totals

    def run(numbered):
        number, spec = numbered
        cached = (
            None
            if force
            else _from_cache(cache_dir / spec.name / keys[spec.name], staging, spec, parameters[spec.name])
        )
        if cached:
            log(f"[{number}/{total}] {spec.name}: cached")
            outcome = cached
        else:
            log(f"[{number}/{total}] {spec.name}: started")
            outcome = _execute(spec, parameters[spec.name], staging, notebooks_dir, pool, env)
            log(
                f"[{number}/{total}] {spec.name}: {outcome.status} in {outcome.seconds:.1f} s"
                + (f" ({outcome.message.splitlines()[0]})" if outcome.message else "")
            )
        _render_page(spec, outcome, staging, page_record)  # overlaps with the other notebooks still running
        return outcome

    order = longest_first(specs, cache_dir)
    with ThreadPoolExecutor(max_workers=pool.size) as threads:
        finished = dict(zip((spec.name for _, spec in order), threads.map(run, order), strict=False))
    return [finished[spec.name] for spec in specs]


def longest_first(specs, cache_dir: Path) -> list[tuple[int, schema.NotebookSpec]]:
    """The notebooks (numbered as in the report) in the order to start them: longest first, by their
    durations in earlier runs, else by their typical ones, so the last notebook to start is a short one."""

    def expected(spec: schema.NotebookSpec) -> float:
        typical = spec.typical_seconds if spec.typical_seconds is not None else spec.timeout_seconds
        return cache.expected_seconds(cache_dir, spec.name, float(typical))

    return sorted(enumerate(specs, start=1), key=lambda item: -expected(item[1]))


def _execute(spec, parameters, staging, notebooks_dir, pool: WorkerPool, env: dict[str, str]) -> NotebookResult:
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
        "env": {**env, RESULTS_ENV: str(staging / "results" / spec.name)},
    }
    started = time.perf_counter()
    answer, stderr_tail = pool.run(job, spec.timeout_seconds)
    seconds = round(time.perf_counter() - started, 2)
    if answer == "done" and status_file.exists():
        status = json.loads(status_file.read_text())
        return NotebookResult(spec.name, spec.title, status["status"], status["seconds"], parameters, status["message"])
    if answer == "timeout":
        return NotebookResult(
            spec.name, spec.title, TIMED_OUT, seconds, parameters, f"stopped after {spec.timeout_seconds} s"
        )
    return NotebookResult(
        spec.name, spec.title, CRASHED, seconds, parameters, f"the worker process died without a status\n{stderr_tail}"
    )


def _from_cache(entry: Path, staging: Path, spec, parameters) -> NotebookResult | None:
    meta = cache.lookup(entry)
    if meta is None:
        return None
    cache.copy_out(entry, staging / f"{spec.name}.ipynb", staging / "results" / spec.name)
    return NotebookResult(spec.name, spec.title, OK, meta["seconds"], parameters, cached=True)


def _to_cache(entry: Path, staging: Path, spec) -> None:
    status = json.loads((staging / ".jobs" / f"{spec.name}.status.json").read_text())
    cache.store(entry, staging / f"{spec.name}.ipynb", staging / "results" / spec.name, status["seconds"])


def _render_page(spec, outcome: NotebookResult, staging: Path, base_record: dict) -> None:
    import nbformat

    from . import render

    executed = staging / f"{spec.name}.ipynb"
    page_record = {**base_record, "notebook": _public(asdict(outcome))}
    page_record.pop("notebooks", None)
    if executed.exists():
        notebook = nbformat.read(executed, as_version=4)
        page = render.notebook_page(
            notebook,
            title=schema.numbered_title(spec.name, spec.title),
            status=outcome.status,
            message=outcome.message,
            parameters=outcome.parameters,
            record=page_record,
            number=schema.CHAPTERS.get(spec.name, 0),
            finding=_finding(spec, outcome, staging),
        )
    else:
        page = render.failed_page(
            title=schema.numbered_title(spec.name, spec.title),
            status=outcome.status,
            message=outcome.message,
            parameters=outcome.parameters,
            record=page_record,
        )
    (staging / f"{spec.name}.html").write_text(page, encoding="utf-8")


def _finding(spec, outcome: NotebookResult, staging: Path) -> str:
    """The sentence a page opens with: the one it recorded (`results.record_finding`), else a study's lead
    estimate in words; "" when there is none."""
    import pandas as pd

    from ..registry import STUDIES
    from ..results import FINDING_FILE
    from .messages import page_finding

    if outcome.status != OK:
        return ""
    written = staging / "results" / spec.name / FINDING_FILE  # a page that states its own finding
    if written.is_file():
        return written.read_text(encoding="utf-8")
    study = next((s for s in STUDIES if s.notebook == spec.name), None)
    if study is None:
        return ""
    recorded = sorted((staging / "results").rglob(f"{study.name}.csv"))
    estimates = pd.read_csv(recorded[0]) if recorded else pd.DataFrame()
    return page_finding(estimates, study, outcome.parameters)


def _common_scope(parameters: dict[str, dict]) -> tuple[str, ...] | None:
    """The provinces every page covers (empty: all), or None when pages were given different scopes."""
    scopes = {tuple(values["scope"]) for values in parameters.values() if "scope" in values}
    return scopes.pop() if len(scopes) == 1 else (() if not scopes else None)


def _headline(dataset, period: str, min_cell_size: int):
    """The quarter's national figures against a year earlier. Withheld when built from fewer than
    `min_cell_size` inspections (disclosure control); year-on-year ratios likewise for the year before."""
    import numpy as np
    import pandas as pd

    from .. import metrics

    try:
        table = metrics.compute(dataset, by=None, period=period, yoy=True)
    except Exception:  # the index must still be written when the quarter has no data
        return pd.DataFrame(columns=["metric", "value", "year_on_year"])
    row = table.iloc[0]
    inspections = float(row["inspections"])
    year_before = inspections / row["inspections_yoy"] if row["inspections_yoy"] else np.nan
    shown = inspections >= min_cell_size
    compared = shown and year_before >= min_cell_size
    return pd.DataFrame(
        {
            "metric": HEADLINE_METRICS,
            "value": [row[m] if shown else np.nan for m in HEADLINE_METRICS],
            "year_on_year": [row[f"{m}_yoy"] if compared else np.nan for m in HEADLINE_METRICS],
        }
    )


def validated_snapshot(data_path: Path, folder: Path) -> Path:
    """`folder`, holding the validated snapshot of the data at `data_path`: validated and written by a
    process of its own (`report.validate`) unless `folder` already holds a complete one (then the data
    is not read at all).

    A process of its own because validating tens of millions of rows takes gigabytes, which go back
    to the system when it exits instead of staying with the builder while the kernels run. It dies
    with the builder, and is killed if the builder stops waiting (an interrupt); a fault of the data
    is raised here as the loader raised it.
    """
    if snapshot.complete(folder):
        return folder
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "analysis.report.validate", str(data_path), str(folder)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={name: value for name, value in os.environ.items() if name != snapshot.SNAPSHOT_ENV},  # read the data
        )
        try:
            fault, _ = child.communicate()
        finally:
            if child.poll() is None:  # interrupted while waiting: stop the validation too
                child.kill()
                child.wait()
        if child.returncode == validate.DATA_FAULT:
            raise _data_fault(json.loads(fault.strip().splitlines()[-1]))
        if child.returncode:
            stderr.seek(0)
            last = stderr.read().decode(errors="replace").strip().splitlines()[-3:]
            raise BuildError(
                f"{data_path}: validating the data stopped (exit status {child.returncode}"
                f"{', out of memory?' if child.returncode < 0 else ''}): " + " ".join(last)
            )
    return folder


def _data_fault(fault: dict) -> Exception:
    if fault["kind"] == "ParameterError":
        return ParameterError(fault["message"])
    return DataContractError(fault["message"], file=fault["file"], column=fault["column"])


def snapshot_key(base_record: dict) -> str:
    """The cache folder name of the data's validated snapshot: new data, or a new version of the
    suite (its validation rules may differ), validates again."""
    parts = [
        base_record["data"]["sha256"],
        base_record["source_sha256"],
        json.dumps(base_record["environment"], sort_keys=True),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _lock_digest() -> str:
    from ..paths import PROJECT_ROOT

    lock = PROJECT_ROOT / "requirements.lock"
    return record.file_digest(lock) if lock.exists() else ""
