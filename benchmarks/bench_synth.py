"""Benchmark: simulated-world generation speed and peak memory by scale.

Each scale runs in a fresh subprocess; reports inspections written, wall and CPU
seconds, rows per CPU second and peak RSS. Memory should stay flat as scale grows:
inspections are streamed to Parquet in chunks of at most `rows_per_chunk` rows
(analysis.synth.simulate.ROWS_PER_CHUNK). CPU seconds are the fairer speed figure
on a shared machine, where wall time depends on the other processes.

Scale 1 is 0.42M inspections; scale 240 (100M) takes a while and ~1.5 GB of disk
in the temporary folder (set TMPDIR to write elsewhere).

Run: .venv/bin/python benchmarks/bench_synth.py [--scales 1 24 240] [--label TEXT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from record import record

MEASURE = r"""
import json, resource, sys, time
from analysis.synth import write_dataset
start, cpu = time.perf_counter(), time.process_time()
summary = write_dataset(sys.argv[1], scale=float(sys.argv[2]))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"rows": summary["inspections"], "seconds": seconds, "cpu_seconds": cpu,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 5, 24])
    parser.add_argument("--label", default="", help="what was measured, put before the summary (e.g. 'before #14')")
    args = parser.parse_args()
    print(f"{'scale':>6} {'inspections':>12} {'seconds':>8} {'cpu s':>8} {'rows/cpu s':>11} {'peak MiB':>9}")
    runs = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [sys.executable, "-c", MEASURE, out, str(scale)], capture_output=True, text=True, check=True
            )
        r = json.loads(result.stdout)
        print(
            f"{scale:>6g} {r['rows']:>12,} {r['seconds']:>8.1f} {r['cpu_seconds']:>8.1f} "
            f"{r['rows'] / r['cpu_seconds']:>11,.0f} {r['peak_mib']:>9.0f}",
            flush=True,
        )
        runs.append((scale, r))
    keys = ("rows", "seconds", "cpu_seconds", "peak_mib")
    figures = {f"{key}_scale_{scale:g}": r[key] for scale, r in runs for key in keys}
    summary = "; ".join(
        f"{r['rows']:,} rows in {r['seconds']:.1f} s, {r['cpu_seconds']:.1f} s CPU "
        f"({r['rows'] / r['cpu_seconds']:,.0f} rows/CPU s, peak {r['peak_mib']:,.0f} MiB)"
        for _, r in runs
    )
    record("synth", figures, f"{args.label}: {summary}" if args.label else summary)


if __name__ == "__main__":
    main()
