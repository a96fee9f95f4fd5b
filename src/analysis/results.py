"""Estimates as data: study notebooks record them, the report runner merges them.

A notebook calls `record(frame)`; inside a report build the runner sets
$ANALYSIS_RESULTS_DIR and the rows land there, to be merged into estimates.csv
with the contract's columns. Interactively nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .contract import ESTIMATE_COLUMNS

RESULTS_ENV = "ANALYSIS_RESULTS_DIR"


def record(estimates: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check `estimates` has the contract's columns and keep it for the report."""
    missing = [c for c in ESTIMATE_COLUMNS if c not in estimates.columns]
    if missing:
        raise ValueError(f"estimates lack the column(s) {', '.join(missing)}; expected {', '.join(ESTIMATE_COLUMNS)}")
    frame = estimates[list(ESTIMATE_COLUMNS)].reset_index(drop=True)
    directory = os.environ.get(RESULTS_ENV)
    if directory:
        from .csvout import write_csv

        Path(directory).mkdir(parents=True, exist_ok=True)
        write_csv(frame, Path(directory) / f"{name}.csv")
    return frame


FINDING_FILE = "finding.txt"
KEY_MESSAGE_FILE = "key_message.txt"


def record_finding(sentence) -> None:
    """Keep the sentence a report page opens with (its main finding); anything but text is ignored
    (the stand-in of a step that was not possible: the page then opens without one)."""
    _keep_sentence(sentence, FINDING_FILE)


def record_key_message(sentence) -> None:
    """Keep a sentence for the index's key messages (a page without a lead estimate, such as the
    scorecard, states its own); anything but text is ignored."""
    _keep_sentence(sentence, KEY_MESSAGE_FILE)


def _keep_sentence(sentence, file_name: str) -> None:
    directory = os.environ.get(RESULTS_ENV)
    if directory and isinstance(sentence, str) and sentence.strip():
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / file_name).write_text(sentence.strip(), encoding="utf-8")


def merge(directory: Path) -> pd.DataFrame:
    """All recorded estimates of a build, in the contract's columns."""
    frames = [frame for _, frame in _csv_files(directory) if is_estimates(frame)]
    if not frames:
        return pd.DataFrame(columns=list(ESTIMATE_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(ESTIMATE_COLUMNS)]


def is_estimates(frame: pd.DataFrame) -> bool:
    """Whether a CSV a notebook wrote is estimates (the contract's columns) rather than a download."""
    return set(ESTIMATE_COLUMNS) <= set(frame.columns)


def downloads(directory: Path) -> list[Path]:
    """CSV files the notebooks wrote that are not estimates (for example scorecard.csv): published as they are."""
    return [path for path, frame in _csv_files(directory) if not is_estimates(frame)]


def _csv_files(directory: Path) -> list[tuple[Path, pd.DataFrame]]:
    files = sorted(Path(directory).rglob("*.csv")) if Path(directory).exists() else []
    return [(f, pd.read_csv(f)) for f in files]


def planted_truth(data_path: Path, study: str, estimand: str | None = "ATE") -> dict | None:
    """True values when the data is a simulated world (truth.json beside it), else None.

    Keyed by outcome for one `estimand`; by (outcome, estimand) when `estimand` is None.
    truth.json is read only when it has the layout the suite writes (synth.simulate: an
    object whose "estimands" list holds {study, outcome, estimand, value}); another
    project's truth.json, or a file that is not JSON, is ignored, as the data contract says
    of files that are not tables.
    """
    rows = truth_rows(data_path)
    if rows is None:
        return None
    rows = [r for r in rows if r["study"] == study]
    if estimand is None:
        return {(r["outcome"], r["estimand"]): r["value"] for r in rows}
    return {r["outcome"]: r["value"] for r in rows if r["estimand"] == estimand}


def truth_rows(data_path: Path) -> list[dict] | None:
    """The estimands of the suite's own truth.json in `data_path`, or None (no such file, or not ours)."""
    import json

    truth_file = Path(data_path) / "truth.json"
    if not truth_file.is_file():
        return None
    try:
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    rows = truth.get("estimands") if isinstance(truth, dict) else None
    if not isinstance(rows, list) or not rows or not all(_truth_row(r) for r in rows):
        return None
    return rows


def _truth_row(row) -> bool:
    value = row.get("value") if isinstance(row, dict) else None
    return (
        isinstance(row, dict)
        and all(isinstance(row.get(k), str) for k in ("study", "outcome", "estimand"))
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    )


# The estimate each study leads with (the others stay in estimates.csv).
PREFERRED = {"surprise": ("ATE", "aipw"), "cross_region": ("ATT", "callaway_santanna"), "team": ("elasticity", "twfe")}


def headline(estimates: pd.DataFrame) -> pd.DataFrame:
    """One row per study and outcome: the study's preferred estimand and method."""
    if estimates.empty:
        return estimates
    keep = [
        PREFERRED.get(s) == (e, m)
        for s, e, m in zip(estimates["study"], estimates["estimand"], estimates["method"], strict=False)
    ]
    return estimates[keep].reset_index(drop=True)
