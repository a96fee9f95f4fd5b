"""Benchmark: load and validate 1M inspections from Parquet.

Reports, side by side in one run (medians of --repeats):
- time ratio: analysis.data.load(dataset) / bare pandas.read_parquet(inspections.parquet)
- memory ratio: peak extra RSS during load / in-memory size of the loaded frames
Targets (issue 2): time ratio <= 3, memory ratio <= 3.

Run: .venv/bin/python benchmarks/bench_load.py [--rows 1000000] [--repeats 5]
Each measurement runs in a fresh subprocess so peak RSS belongs to it alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from record import record

OUT = Path(__file__).parent / "out"
ROWS_AT_SCALE_ONE = 420_000  # default simulated world

MEASURE = r"""
import json, resource, sys, time
import pandas as pd
from analysis.data import load
path, mode = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "bare":
    frames = {"inspections": pd.read_parquet(f"{path}/inspections.parquet")}
else:
    frames = load(path).tables
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
size = sum(int(f.memory_usage(deep=True).sum()) for f in frames.values())
print(json.dumps({"seconds": seconds, "extra_peak_bytes": (peak - before) * 1024, "frame_bytes": size,
                  "rows": len(frames["inspections"])}))
"""


def measure(path: Path, mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), mode], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from analysis.synth import write_dataset

    data = OUT / f"load-{args.rows}"
    if not (data / "inspections.parquet").exists():
        print(f"generating about {args.rows:,} inspections in {data} ...", flush=True)
        write_dataset(data, scale=args.rows / ROWS_AT_SCALE_ONE)

    bare, full = [], []
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both alike
        bare.append(measure(data, "bare"))
        full.append(measure(data, "load"))
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    time_ratio = med(full, "seconds") / med(bare, "seconds")
    memory_ratio = med(full, "extra_peak_bytes") / full[0]["frame_bytes"]
    print(f"rows: {full[0]['rows']:,}")
    print(f"bare read_parquet: median {med(bare, 'seconds'):.3f} s")
    print(f"load + validate:   median {med(full, 'seconds'):.3f} s  -> time ratio {time_ratio:.2f} (target <= 3)")
    print(
        f"loaded frames: {full[0]['frame_bytes'] / 2**20:.0f} MiB; peak extra RSS median "
        f"{med(full, 'extra_peak_bytes') / 2**20:.0f} MiB -> memory ratio {memory_ratio:.2f} (target <= 3)"
    )
    figures = {
        "rows": full[0]["rows"],
        "repeats": args.repeats,
        "bare_seconds": med(bare, "seconds"),
        "load_seconds": med(full, "seconds"),
        "time_ratio": time_ratio,
        "frame_mib": full[0]["frame_bytes"] / 2**20,
        "peak_extra_mib": med(full, "extra_peak_bytes") / 2**20,
        "memory_ratio": memory_ratio,
    }
    record(
        "load",
        figures,
        f"{full[0]['rows']:,} inspections from Parquet: load + validate {med(full, 'seconds'):.2f} s vs "
        f"bare read_parquet {med(bare, 'seconds'):.2f} s (time ratio {time_ratio:.2f}, target <= 3); peak extra RSS "
        f"{figures['peak_extra_mib']:.0f} MiB vs {figures['frame_mib']:.0f} MiB of frames "
        f"(memory ratio {memory_ratio:.2f}, target <= 3)",
    )


if __name__ == "__main__":
    main()
