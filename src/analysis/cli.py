"""The `analysis` command line.

Exit codes: 0 success, 1 the data or a run failed, 2 bad usage. Every error is a
one-line message on stderr naming the file, column or argument at fault.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from .errors import BuildError, DataContractError, ParameterError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_SCALE = 1000.0  # about 420 million inspections; beyond that, say so rather than fill the disk


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except DataContractError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as err:  # disk full, permission denied, a path that vanished: name it, no traceback
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED


def _whole_number(text: str, low: int, high: int | None = None, high_text: str = "") -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        allowed = f"at least {low}" if high is None else f"between {low} and {high_text or high}"
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _seed(text: str) -> int:
    return _whole_number(text, 0, 2**63 - 1, "2**63 - 1")


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and 0 < value <= MAX_SCALE):
        raise argparse.ArgumentTypeError(f"must be a number above 0 and at most {MAX_SCALE:g}, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analysis", description="Enforcement Reform Lab")
    commands = parser.add_subparsers(title="commands")

    validate = commands.add_parser("validate", help="check a dataset against the data contract")
    validate.add_argument("data", type=Path, help="dataset directory or .duckdb file")
    validate.add_argument("--strict", action="store_true", help="fail on any quarantined row")
    validate.add_argument("--quarantine-out", type=Path, metavar="FILE", help="write quarantined rows to this CSV")
    validate.set_defaults(run=_validate)

    synth = commands.add_parser("synth", help="write a simulated dataset with its planted truth")
    synth.add_argument("--out", type=Path, required=True, help="directory to write")
    synth.add_argument("--seed", type=_seed, default=None, help="random seed (default: the calibrated seed)")
    synth.add_argument(
        "--scale", type=_scale, default=1.0, help=f"multiply the number of inspections (0 < S <= {MAX_SCALE:g})"
    )
    synth.set_defaults(run=_synth)

    metrics = commands.add_parser("metrics", help="the notice's metrics by group and period")
    metrics.add_argument("data", type=Path)
    metrics.add_argument("--by", default="province", help="province, region, industry or none")
    metrics.add_argument("--period", required=True, help="2022Q3, 2022H1 or 2022")
    metrics.add_argument("--yoy", action="store_true", help="add year-on-year ratios")
    metrics.add_argument("--format", choices=("table", "csv"), default="table")
    metrics.set_defaults(run=_metrics)

    report = commands.add_parser("report", help="build the quarterly report")
    report.add_argument("--data", default="", help="dataset directory or .duckdb file (default: the simulated world)")
    report.add_argument("--period", required=True, help="report quarter, e.g. 2024Q4")
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report folder (default: reports/PERIOD); only a new, empty or earlier report folder is replaced",
    )
    report.add_argument("--jobs", type=_positive_int, default=None, help="notebooks run at once (default: cores)")
    report.add_argument("--only", nargs="+", metavar="NAME", help="build only these notebooks")
    report.add_argument("--force", action="store_true", help="re-run notebooks even when cached")
    report.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="[NOTEBOOK.]NAME=VALUE",
        help="set a notebook parameter (VALUE read as JSON, else as text); repeatable",
    )
    report.add_argument(
        "--config",
        type=Path,
        metavar="FILE.toml",
        help="parameters from a TOML file: top-level keys for every notebook, [NOTEBOOK] tables for one",
    )
    report.add_argument(
        "--allow-failures",
        action="store_true",
        help="publish even when notebooks fail (otherwise the build is kept beside the last good report)",
    )
    report.add_argument(
        "--min-cell-size",
        type=_positive_int,
        default=5,
        metavar="K",
        help="withhold figures built from fewer than K inspections (default 5)",
    )
    report.add_argument(
        "--previous",
        type=Path,
        metavar="DIR",
        help="a built report to compare with (default: the previous quarter's report beside --out)",
    )
    report.add_argument(
        "--cache-limit-mb",
        type=_positive_int,
        default=2048,
        metavar="MB",
        help="keep at most this much of executed notebooks for reuse (default 2048, least recently used go first)",
    )
    report.add_argument(
        "--engine",
        default=None,
        metavar="ENGINE",
        help="where kernels count inspections: duckdb (default, in process), spark or local[N] (a local Spark), "
        "a Spark master URL (spark://host:7077, yarn, k8s://...) or Spark Connect (sc://host:15002)",
    )
    report.set_defaults(run=_report)

    scorecard = commands.add_parser("scorecard", help="the enforcement efficiency index and the quarter's warnings")
    scorecard.add_argument("data", type=Path, help="dataset directory or .duckdb file")
    scorecard.add_argument("--period", required=True, help="quarter, e.g. 2024Q4")
    scorecard.add_argument("--weights", default="entropy", help="entropy, critic, pca, equal or expert (the tree's)")
    scorecard.add_argument(
        "--normalisation",
        default=None,
        help="minmax (0 worst to 1 best of the peer group) or zscore (default: the tree's, minmax)",
    )
    scorecard.add_argument(
        "--peer-group",
        default=None,
        help="regions ranked together: level, province or all (default: the tree's, level)",
    )
    scorecard.add_argument("--threshold", type=float, default=80.0, help="warn a score under this (0-100, default 80)")
    scorecard.add_argument(
        "--bottom-n", type=int, default=3, help="warn the n lowest of each peer group (default 3; 0: none)"
    )
    scorecard.add_argument("--tree", type=Path, metavar="FILE.toml", help="indicator tree (default: the bundled one)")
    scorecard.add_argument(
        "--min-cell-size",
        type=_positive_int,
        default=5,
        metavar="K",
        help="leave out regions and withhold values built from fewer than K inspections (default 5)",
    )
    scorecard.add_argument("--format", choices=("table", "csv"), default="table")
    scorecard.add_argument(
        "--weights-out", type=Path, metavar="FILE", help="write the weights used (indicator,weight) here"
    )
    scorecard.set_defaults(run=_scorecard)

    diff = commands.add_parser("diff", help="what changed between two built reports")
    diff.add_argument("before", type=Path, help="e.g. reports/2023Q3")
    diff.add_argument("after", type=Path, help="e.g. reports/2023Q4")
    diff.set_defaults(run=_diff)
    return parser


def _validate(args) -> int:
    from .streamed_snapshot import validated

    if args.quarantine_out is not None and args.quarantine_out.is_dir():
        raise ParameterError(
            f"--quarantine-out {args.quarantine_out}: is a folder; give a file name such as quarantine.csv"
        )
    with validated(args.data) as dataset:  # a large inspections file in chunks: bounded memory
        return _print_validation(args, dataset)


def _print_validation(args, dataset) -> int:
    from .csvout import write_csv

    recon = dataset.reconciliation()
    print(f"dataset: {args.data}")
    print(f"{'table':<12} {'read':>10} {'accepted':>10} {'quarantined':>12}  top reasons")
    for row in recon.itertuples():
        reasons = dataset.top_reasons(row.table)
        shown = "; ".join(f"{reason} ({count})" for reason, count in reasons.items())
        print(f"{row.table:<12} {row.read:>10,} {row.accepted:>10,} {row.quarantined:>12,}  {shown}")
    if dataset.ignored_files:
        print(f"ignored files: {', '.join(dataset.ignored_files)}")
    for table, columns in dataset.unknown_columns.items():
        print(f"columns outside the contract in {table} (kept, not used): {', '.join(columns)}")
    for note in dataset.notes:
        print(f"note: {note}")
    if not recon["balanced"].all():  # cannot happen unless the loader is broken; say so loudly
        print("error: rows read do not reconcile with accepted + quarantined", file=sys.stderr)
        return EXIT_FAILED
    if args.quarantine_out:
        args.quarantine_out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(dataset.quarantine, args.quarantine_out)
        print(
            f"quarantine written to {args.quarantine_out} ({len(dataset.quarantine)} rows; "
            "text cells that a spreadsheet would run as formulas start with ')"
        )
    if args.strict and len(dataset.quarantine):
        print(f"error: strict mode: {len(dataset.quarantine)} row(s) quarantined", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _synth(args) -> int:
    from .synth import DEFAULT_SEED, write_dataset

    seed = DEFAULT_SEED if args.seed is None else args.seed
    summary = write_dataset(args.out, seed=seed, scale=args.scale)
    print(f"wrote {summary['inspections']:,} inspections in {summary['regions']} regions to {args.out} (seed {seed})")
    return EXIT_OK


def _metrics(args) -> int:
    from .data import load
    from .metrics import compute, parse_period

    period = parse_period(args.period)
    dataset = load(args.data)
    table = compute(dataset, by=None if args.by == "none" else args.by, period=period, yoy=args.yoy)
    if args.format == "csv":
        from .csvout import write_csv

        write_csv(table, sys.stdout)
    else:
        with __import__("pandas").option_context("display.width", 200, "display.max_columns", 50):
            print(table.to_string(index=False))
    return EXIT_OK


def _report(args) -> int:
    from .engine import ENGINE_ENV, check_engine
    from .report import build, schema

    if args.engine is not None:
        os.environ[ENGINE_ENV] = check_engine(args.engine)  # every kernel inherits it
    only = list(dict.fromkeys(args.only)) if args.only else None  # a name given twice runs once
    assignments = schema.assignments_from_config(args.config) if args.config else []
    assignments += [schema.parse_assignment(text) for text in args.param]  # the command line wins over the file
    overrides = schema.overrides_from(assignments, schema.select(only))
    result = build(
        args.data,
        args.period,
        out=args.out,
        jobs=args.jobs,
        only=only,
        force=args.force,
        overrides=overrides,
        allow_failures=args.allow_failures,
        min_cell_size=args.min_cell_size,
        cache_limit_bytes=args.cache_limit_mb * 1024**2,
        previous=args.previous,
    )
    return EXIT_OK if result.ok else EXIT_FAILED


def _scorecard(args) -> int:
    from . import scorecard
    from .csvout import write_csv
    from .data import load
    from .limits import Unavailable

    if args.weights_out is not None and args.weights_out.is_dir():
        raise ParameterError(f"--weights-out {args.weights_out}: is a folder; give a file name such as weights.csv")
    tree = scorecard.load_tree(args.tree)
    settings = scorecard.Settings(
        args.period,
        args.weights,
        args.normalisation or tree.normalisation,
        args.peer_group or tree.peer_group,
        args.threshold,
        args.bottom_n,
        args.min_cell_size,
    )
    scorecard.check(settings)  # bad settings stop before the data is read
    if args.weights == "expert" and not tree.has_expert_weights:
        raise ParameterError("--weights expert: the indicator tree gives no expert weights")
    dataset = load(args.data)
    scorecard.check_period(dataset, args.period)
    try:
        card = scorecard.build(
            dataset,
            args.period,
            tree=tree,
            weights=args.weights,
            normalisation=args.normalisation,
            peer_group=args.peer_group,
            threshold=args.threshold,
            bottom_n=args.bottom_n,
            min_cell_size=args.min_cell_size,
        )
    except Unavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.weights_out:
        args.weights_out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(scorecard.weights_frame(card), args.weights_out)
    table = scorecard.csv_frame(card)
    notes = sys.stderr if args.format == "csv" else sys.stdout  # a CSV on stdout stays a CSV
    try:
        if args.format == "csv":
            write_csv(table, sys.stdout)
        else:
            shown = table.round({**{leaf: 3 for leaf in card.weights.index}, "score": 2})
            widths = {c: int(shown[c].str.len().max()) for c in ("warning", "reason")}
            left = {c: f"{{:<{width}}}".format for c, width in widths.items()}  # text reads left to right
            print(shown.to_string(index=False, formatters=left, justify="left"))
        for note in card.notes:
            print(f"note: {note}", file=notes)
        if args.weights_out:
            print(f"weights ({args.weights}) written to {args.weights_out}", file=notes)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _diff(args) -> int:
    from .report.diff import describe

    print(describe(args.before, args.after))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
