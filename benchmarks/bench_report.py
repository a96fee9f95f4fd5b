"""Benchmark: the quarterly report runner.

1. Full default report with --jobs 2 (cache bypassed) against the same notebooks
   executed one after another with plain papermill (no HTML): target <= 0.65.
2. A second, unchanged run (everything from cache) against a full build: target <= 0.1.
Each variant runs in a fresh process; medians over --repeats, interleaved.

Run: .venv/bin/python benchmarks/bench_report.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import record

from analysis.report.schema import NOTEBOOKS as NOTEBOOK_SPECS

ROOT = Path(__file__).resolve().parents[1]
SEQUENTIAL = r"""
import sys, papermill as pm
from analysis.paths import NOTEBOOKS
from analysis.report.schema import NOTEBOOKS as SPECS
out, data = sys.argv[1], sys.argv[2]
for spec in SPECS:
    pm.execute_notebook(str(NOTEBOOKS / f"{spec.name}.ipynb"), f"{out}/{spec.name}.ipynb", kernel_name="python3",
                        parameters={**spec.defaults(), "data_dir": data}, cwd=str(NOTEBOOKS), progress_bar=False)
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--period", default="2024Q4")
    args = parser.parse_args()
    from analysis.paths import resolve_data

    data = str(resolve_data(""))
    analysis = str(Path(sys.executable).parent / "analysis")
    parallel, sequential, full, rerun = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        report = [analysis, "report", "--data", data, "--period", args.period, "--out", f"{tmp}/r/{args.period}"]
        for _ in range(args.repeats):
            sequential.append(timed([sys.executable, "-c", SEQUENTIAL, tmp, data]))
            parallel.append(timed(report + ["--jobs", "2", "--force"]))
            full.append(parallel[-1])
            rerun.append(timed(report + ["--jobs", "2"]))
    med = statistics.median
    print(f"sequential papermill:      median {med(sequential):6.1f} s  {[round(x, 1) for x in sequential]}")
    print(f"report --jobs 2 --force:   median {med(parallel):6.1f} s  {[round(x, 1) for x in parallel]}")
    print(f"report, unchanged rerun:   median {med(rerun):6.1f} s  {[round(x, 1) for x in rerun]}")
    print(f"parallel / sequential = {med(parallel) / med(sequential):.2f} (target <= 0.65)")
    print(f"rerun / full build    = {med(rerun) / med(full):.2f} (target <= 0.1)")
    record(
        "report",
        {
            "repeats": args.repeats,
            "sequential_seconds": med(sequential),
            "parallel_seconds": med(parallel),
            "rerun_seconds": med(rerun),
            "parallel_ratio": med(parallel) / med(sequential),
            "rerun_ratio": med(rerun) / med(full),
        },
        f"{len(NOTEBOOK_SPECS)} notebooks: sequential papermill {med(sequential):.1f} s, "
        f"--jobs 2 --force {med(parallel):.1f} s "
        f"(ratio {med(parallel) / med(sequential):.2f}, target <= 0.65); unchanged rerun {med(rerun):.1f} s "
        f"(ratio {med(rerun) / med(full):.2f}, target <= 0.1)",
    )


if __name__ == "__main__":
    main()
