"""Benchmark: the surprise study's estimates from the rows vs from cell statistics.

Reports, side by side in one run (medians of --repeats, interleaved), for each dataset:
- rows: read the study table's columns from Parquet + `ate.estimate_many`
  (4 outcomes x 4 methods x 2 estimands, the study's default design: logit, clustered by region);
- compressed: `compressed.cell_statistics` (one DuckDB GROUP BY over the same Parquet file)
  + `compressed.estimate_many_compressed`;
- the time ratio rows / compressed, the peak extra memory of each, and the largest relative
  difference between the two sets of estimates and standard errors (a check, expected ~1e-14).

Run: .venv/bin/python benchmarks/bench_compressed.py [--data DIR ...] [--repeats 5]
DIR is a dataset folder (default: data/generated/default, 0.42M inspections); the study
table is built from it once and kept in benchmarks/out/compressed/. A larger world, for
instance the 1M-inspection one bench_load.py writes, can be added:
--data data/generated/default benchmarks/out/load-1000000
Each measurement runs in a fresh subprocess so peak RSS belongs to it alone, with
single-threaded BLAS (as the tests run; on a shared 2-core machine threaded BLAS only
oversubscribes); DuckDB uses its default threads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from record import record

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "compressed"
DEFAULT_DATA = HERE.parent / "data" / "generated" / "default"

MEASURE = r"""
import json, resource, sys, time
import pandas as pd
from analysis import ate, surprise
from analysis.compressed import cell_statistics, estimate_many_compressed
path, mode = sys.argv[1], sys.argv[2]
design = surprise.DEFAULT
outcomes, covariates, options = list(design.outcomes), list(design.covariates), design.fit_options()
args = (outcomes, surprise.TREATMENT, covariates, ate.METHODS, ate.ESTIMANDS)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "rows":
    columns = [*outcomes, surprise.TREATMENT, *covariates, *options["propensity_covariates"], options["cluster"]]
    table = pd.read_parquet(path, columns=list(dict.fromkeys(columns)))
    first, size = time.perf_counter(), len(table)
    results = ate.estimate_many(table, *args, **options)
else:
    table = cell_statistics(path, outcomes, surprise.TREATMENT, covariates,
                            propensity_covariates=options["propensity_covariates"], cluster=options["cluster"])
    first, size = time.perf_counter(), len(table)
    results = estimate_many_compressed(table, *args, **options)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "first_seconds": first - start, "table_rows": size,
                  "n_obs": results[0].n_obs, "extra_peak_bytes": (peak - before) * 1024,
                  "numbers": [[r.estimate, r.std_error] for r in results]}))
"""


def study_parquet(data: Path) -> Path:
    """The study table of the dataset in `data`, written once to Parquet."""
    path = OUT / f"{data.resolve().name}-study.parquet"
    if not path.exists():
        from analysis import surprise
        from analysis.data import load

        print(f"building the study table of {data} ...", flush=True)
        OUT.mkdir(parents=True, exist_ok=True)
        table, _ = surprise.study_table(load(data))
        table.to_parquet(path, index=False)
    return path


def measure(path: Path, mode: str) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), mode], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # the last line: the figures


def largest_difference(fast: list, slow: list) -> float:
    pairs = [(f, s) for a, b in zip(fast, slow, strict=True) for f, s in zip(a, b, strict=True)]
    return max(abs(f - s) / abs(s) for f, s in pairs if s != 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=[DEFAULT_DATA])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    figures: dict[str, float | int | str] = {"repeats": args.repeats}
    summaries = []
    for data in args.data:
        path = study_parquet(data)
        rows, cells = [], []
        for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both alike
            rows.append(measure(path, "rows"))
            cells.append(measure(path, "compressed"))
        med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
        n_obs, n_cells = rows[0]["n_obs"], cells[0]["table_rows"]
        ratio = med(rows, "seconds") / med(cells, "seconds")
        difference = largest_difference(cells[0]["numbers"], rows[0]["numbers"])
        mib = {name: med(runs, "extra_peak_bytes") / 2**20 for name, runs in (("rows", rows), ("cells", cells))}
        print(f"{data}: {n_obs:,} inspections -> {n_cells:,} cells (cell x arm x region)")
        print(
            f"  rows:       median {med(rows, 'seconds'):.3f} s (read {med(rows, 'first_seconds'):.3f} s), "
            f"peak extra {mib['rows']:.0f} MiB"
        )
        print(
            f"  compressed: median {med(cells, 'seconds'):.3f} s (DuckDB GROUP BY {med(cells, 'first_seconds'):.3f} s)"
            f", peak extra {mib['cells']:.0f} MiB"
        )
        print(f"  time ratio rows / compressed {ratio:.1f}; largest relative difference {difference:.1e}")
        label = f"{n_obs // 1000}k"
        figures |= {
            f"rows_{label}": n_obs,
            f"cells_{label}": n_cells,
            f"rows_seconds_{label}": med(rows, "seconds"),
            f"rows_read_seconds_{label}": med(rows, "first_seconds"),
            f"compressed_seconds_{label}": med(cells, "seconds"),
            f"aggregate_seconds_{label}": med(cells, "first_seconds"),
            f"time_ratio_{label}": ratio,
            f"rows_peak_extra_mib_{label}": mib["rows"],
            f"compressed_peak_extra_mib_{label}": mib["cells"],
            f"largest_relative_difference_{label}": difference,
        }
        summaries.append(
            f"{n_obs:,} inspections, 32 estimates: rows {med(rows, 'seconds'):.2f} s vs DuckDB cells + compressed "
            f"{med(cells, 'seconds'):.2f} s (ratio {ratio:.0f}; peak extra {mib['rows']:.0f} vs {mib['cells']:.0f} "
            f"MiB; estimates equal to {difference:.0e})"
        )
    record("compressed", figures, "; ".join(summaries))


if __name__ == "__main__":
    main()
