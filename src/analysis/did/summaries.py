"""Words and aligned text tables for the results' `.summary()`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def _control_words(control_group: str) -> str:
    return "units never treated" if control_group == "nevertreated" else "units not yet treated"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _test_in_words(test: dict) -> str:
    if not test or not test.get("df"):
        return "no effect before adoption to test"
    if not np.isfinite(test.get("pvalue", float("nan"))):
        return f"not computable for these {test['df']} effects (too few units for their covariance)"
    p = test["pvalue"]
    shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    return f"F({test['df']}, {test['df_denom']:.1f}) = {test['statistic']:.2f}, {shown}"


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g}% CI"


def _typical(errors: pd.Series) -> float:
    finite = errors[np.isfinite(errors.to_numpy(dtype=float))]
    return float(finite.median()) if len(finite) else float("nan")


def _formatter(std_error: float):
    """Numbers to three significant digits of the standard error (five digits when there is none)."""
    if not np.isfinite(std_error) or std_error <= 0:
        return lambda value: f"{value:,.5g}"
    decimals = min(10, max(0, 2 - math.floor(math.log10(std_error))))
    return lambda value: f"{value:,.{decimals}f}"


def _key(value: Any) -> str:
    """A period, cohort or event time as written: whole numbers without a decimal point."""
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _whole(values: pd.Series) -> pd.Series:
    """Periods, cohorts and event times as whole numbers (nullable) when they all are."""
    numbers = pd.to_numeric(values, errors="coerce")
    finite = numbers.dropna()
    if len(finite) and np.isfinite(finite).all() and (finite == finite.round()).all():
        return numbers.round().astype("Int64")
    return values


def _estimate_header(alpha: float, frame: pd.DataFrame) -> list[str]:
    header = ["estimate", "std. error", _level(alpha)]
    return header + (["uniform band"] if "band_low" in frame.columns else [])


def _estimate_cells(row: Any, estimate: float, number) -> list[str]:
    cells = [number(estimate), number(row.std_error), f"[{number(row.ci_low)}, {number(row.ci_high)}]"]
    if hasattr(row, "band_low"):
        cells.append(f"[{number(row.band_low)}, {number(row.band_high)}]")
    return cells


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to one width: the first left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()
        for cells in [header, *rows]
    ]
