"""Benchmark: the report and the surprise study on a national-size dataset (issue 14's targets).

Side by side in one run (medians over --repeats, interleaved):
1. the default report (0.42M inspections) and the report of a world --scale times as large
   (24: about 10M inspections), both `analysis report --jobs 2 --force`: wall time and the
   peak resident memory of the whole process tree (builder, workers, kernels), sampled every
   0.2 s. Targets at 10M: <= 60 s, <= 3 GiB, <= 2.5x the default report's time.
2. the surprise study's computation at that scale (load, study cells, estimates, overlap,
   balance, breakdowns), as notebook 02 runs it, against DuckDB's one-pass aggregation of the same Parquet file into
   the cells the study needs. Target: <= 10x. Timed twice: as a report kernel runs it, on the
   validated snapshot (`study`), and from the raw files, validation included (`study_raw`).

The large world is written once under benchmarks/out/ (about 0.13 GiB at scale 24, 1.3 GiB at
240) and reused. At scale 240 (100M inspections; target: the report's tree peak <= 6 GiB) pass
--no-raw-study: the raw-file timing validates in memory, which does not fit.

Run: .venv/bin/python benchmarks/bench_scale.py [--scale 24] [--repeats 1] [--no-raw-study]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from record import record

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
ANALYSIS = str(Path(sys.executable).parent / "analysis")

STUDY = r"""
import sys, time
from analysis import surprise
from analysis.data import load
from analysis.limits import Limitations
start = time.perf_counter()
design, limits = surprise.DEFAULT, Limitations()
table, _ = surprise.study_data(load(sys.argv[1]), design, last_period="2024Q4")  # as notebook 02: its cells
estimates = surprise.estimates(table, surprise.plan(table, limits, design.outcomes), design=design)
scores = surprise.propensity_scores(table, design)
surprise.balance(table, scores, design)
surprise.breakdowns(table, design, 5, limits)
print(time.perf_counter() - start)
"""

AGGREGATION = r"""
import sys, time, duckdb
start = time.perf_counter()
duckdb.sql(f'''
    SELECT risk_level, industry, enterprise_size, surprise, region_id, COUNT(*) AS n,
      SUM(hazards_found), SUM(hazards_found * hazards_found),
      SUM(CAST(major_hazards > 0 AS DOUBLE)),
      SUM(CAST(case_filed AS DOUBLE)),
      SUM(penalty_amount), SUM(penalty_amount * penalty_amount)
    FROM read_parquet('{sys.argv[1]}/inspections.parquet')
    GROUP BY ALL''').fetchall()
print(time.perf_counter() - start)
"""


def tree_peak(command: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak summed RSS (GiB) of `command` and all its descendants."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        total = 0
        with contextlib.suppress(psutil.Error):  # the tree changes while it is read
            for member in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += member.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.2)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read().decode() if process.stderr else ''}")
    return time.perf_counter() - start, peak / 2**30


def seconds(script: str, data: Path, snapshot: Path | None = None) -> float:
    """Seconds `script` reports for `data`; with `snapshot`, its `load` opens that validated snapshot."""
    env = {**os.environ, **({"ANALYSIS_SNAPSHOT": str(snapshot)} if snapshot else {})}
    done = subprocess.run(
        [sys.executable, "-c", script, str(data)], check=True, capture_output=True, text=True, env=env
    )
    return float(done.stdout.strip().splitlines()[-1])


def validated(data: Path) -> Path:
    """The validated snapshot of `data` (written once, as a report build writes it)."""
    from analysis.report.builder import validated_snapshot

    return validated_snapshot(data, OUT / f"snapshot-{data.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--period", default="2024Q4")
    parser.add_argument(
        "--no-raw-study",
        action="store_true",
        help="skip timing the study from the raw files (it validates them in memory: not at 100M on 24 GiB)",
    )
    args = parser.parse_args()
    from analysis.paths import resolve_data

    default = resolve_data("")
    large = OUT / f"world-scale{args.scale:g}"
    if not (large / "inspections.parquet").exists():
        subprocess.run([ANALYSIS, "synth", "--out", str(large), "--scale", f"{args.scale:g}"], check=True)
    snapshot = validated(large)
    keys = ("small_s", "small_gib", "large_s", "large_gib", "study", "study_raw", "sql")
    runs: dict[str, list[float]] = {key: [] for key in keys}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, data in (("small", default), ("large", large)):
                out = f"{tmp}/{name}{repeat}/{args.period}"
                wall, gib = tree_peak([ANALYSIS, "report", "--data", str(data), "--period", args.period,
                                       "--out", out, "--jobs", "2", "--force"])  # fmt: skip
                runs[f"{name}_s"].append(wall)
                runs[f"{name}_gib"].append(gib)
                print(f"report {name}: {wall:.1f} s, peak tree RSS {gib:.2f} GiB", flush=True)
            runs["study"].append(seconds(STUDY, large, snapshot))
            runs["study_raw"].append(float("nan") if args.no_raw_study else seconds(STUDY, large))
            runs["sql"].append(seconds(AGGREGATION, large))
            print(
                f"surprise study {runs['study'][-1]:.1f} s ({runs['study_raw'][-1]:.1f} s validating the files), "
                f"DuckDB cells {runs['sql'][-1]:.2f} s",
                flush=True,
            )
    m = {key: statistics.median(values) for key, values in runs.items()}
    ratio, study_ratio = m["large_s"] / m["small_s"], m["study"] / m["sql"]
    targets = "targets 60 s, 3 GiB; 2.5x" if args.scale <= 24 else "target <= 6 GiB at scale 240"
    record(
        "scale" if args.scale == 24 else f"scale-{args.scale:g}",
        {"scale": args.scale, "repeats": args.repeats, **m, "report_ratio": ratio, "study_ratio": study_ratio},
        f"scale {args.scale:g} report --jobs 2: {m['large_s']:.0f} s and {m['large_gib']:.1f} GiB "
        f"({targets}); {ratio:.1f}x the default report's {m['small_s']:.0f} s and "
        f"{m['small_gib']:.1f} GiB; surprise study on the validated snapshot {m['study']:.0f} s, "
        f"{study_ratio:.0f}x DuckDB's {m['sql']:.2f} s cell aggregation (target 10x)"
        + ("" if args.no_raw_study else f"; {m['study_raw']:.0f} s when it validates the files itself"),
    )


if __name__ == "__main__":
    main()
