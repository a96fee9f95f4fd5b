"""Benchmark: simulated-world generation speed and peak memory by scale.

Each scale runs in a fresh subprocess; reports inspections written, seconds,
rows per second and peak RSS. Memory should stay roughly flat as scale grows,
since inspections are streamed to Parquet half-year by half-year.

Run: .venv/bin/python benchmarks/bench_synth.py [--scales 1 5 24]
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
start = time.perf_counter()
summary = write_dataset(sys.argv[1], scale=float(sys.argv[2]))
seconds = time.perf_counter() - start
print(json.dumps({"rows": summary["inspections"], "seconds": seconds,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 5, 24])
    args = parser.parse_args()
    print(f"{'scale':>6} {'inspections':>12} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9}")
    runs = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [sys.executable, "-c", MEASURE, out, str(scale)], capture_output=True, text=True, check=True
            )
        r = json.loads(result.stdout)
        print(
            f"{scale:>6g} {r['rows']:>12,} {r['seconds']:>8.1f} {r['rows'] / r['seconds']:>10,.0f} "
            f"{r['peak_mib']:>9.0f}",
            flush=True,
        )
        runs.append((scale, r))
    figures = {f"{key}_scale_{scale:g}": r[key] for scale, r in runs for key in ("rows", "seconds", "peak_mib")}
    record(
        "synth",
        figures,
        "; ".join(
            f"{r['rows']:,} rows in {r['seconds']:.1f} s "
            f"({r['rows'] / r['seconds']:,.0f} rows/s, peak {r['peak_mib']:,.0f} MiB)"
            for _, r in runs
        ),
    )


if __name__ == "__main__":
    main()
