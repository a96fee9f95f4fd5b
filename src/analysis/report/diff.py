"""What changed between two built reports: estimates and headline figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError

ESTIMATE_KEY = ["study", "outcome", "estimand", "method"]
ESTIMATE_COLUMNS = ESTIMATE_KEY + ["estimate", "ci_low", "ci_high"]
HEADLINE_COLUMNS = ["metric", "value"]


def _read(report: Path, name: str, columns: list[str]) -> pd.DataFrame:
    """A report's CSV with at least `columns`; an empty file counts as a table with no rows."""
    path = Path(report) / name
    if not path.is_file():
        raise ParameterError(f"{report}: not a built report (no {name})")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=columns)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ParameterError(f"{path}: not a readable CSV ({err})") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"{path}: lacks the column(s) {', '.join(missing)}; is it a report's {name}?")
    for column in columns[len(ESTIMATE_KEY) :] if name == "estimates.csv" else columns[1:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def estimate_changes(before: Path, after: Path) -> pd.DataFrame:
    """Each estimate in either report, with both values, the change, and whether intervals overlap."""
    old, new = _read(before, "estimates.csv", ESTIMATE_COLUMNS), _read(after, "estimates.csv", ESTIMATE_COLUMNS)
    merged = old.merge(new, on=ESTIMATE_KEY, how="outer", suffixes=("_before", "_after"), indicator=True)
    merged["change"] = merged["estimate_after"] - merged["estimate_before"]
    merged["status"] = (
        merged["_merge"].astype("str").map({"left_only": "removed", "right_only": "added", "both": "changed"})
    )
    # Floating-point noise between runs (1e-12 here and there) is not a change.
    tolerance = 1e-9 * np.maximum(1.0, merged["estimate_before"].abs())
    same = (merged["status"] == "changed") & (merged["change"].abs() <= tolerance)
    merged.loc[same, "status"] = "unchanged"
    overlap = (merged["ci_low_after"] <= merged["ci_high_before"]) & (
        merged["ci_low_before"] <= merged["ci_high_after"]
    )
    merged["intervals_overlap"] = overlap.where(merged["status"].isin(["changed", "unchanged"]))
    columns = ESTIMATE_KEY + ["estimate_before", "estimate_after", "change", "intervals_overlap", "status"]
    return merged[columns].sort_values(ESTIMATE_KEY).reset_index(drop=True)


def headline_changes(before: Path, after: Path) -> pd.DataFrame:
    old, new = _read(before, "headline.csv", HEADLINE_COLUMNS), _read(after, "headline.csv", HEADLINE_COLUMNS)
    merged = old.merge(new, on="metric", how="outer", suffixes=("_before", "_after"))
    merged["ratio"] = merged["value_after"] / merged["value_before"]
    return merged[["metric", "value_before", "value_after", "ratio"]]


def describe(before: Path, after: Path) -> str:
    estimates = estimate_changes(before, after)
    lines = [f"Headline figures: {before} -> {after}", headline_changes(before, after).to_string(index=False), ""]
    if estimates.empty:
        lines.append("No estimates in either report.")
    else:
        counts = estimates["status"].value_counts().to_dict()
        lines.append("Estimates: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        shown = estimates[estimates["status"] != "unchanged"]
        if not shown.empty:
            lines.append(shown.to_string(index=False))
    return "\n".join(lines)
