"""Disclosure control for reviewer pages: no statistic from fewer than k inspections.

A reviewer page must not let anyone single out an enterprise. The rules, applied
wherever a page shows statistics per group (province, quarter, region, subgroup):

* **Primary.** A cell whose statistic is built from ``0 < n < k`` inspections is
  withheld (shown as ``–`` with a legend). ``n`` is the number of inspections the
  statistic averages or sums over: all the group's inspections for a count or a rate,
  its cases for an average fine (see `METRIC_BASIS`); a ratio to a year earlier is
  built from both years. A cell with no inspections (``n = 0``) is shown: "no
  inspections" says nothing about any enterprise.
* **Secondary.** Where the cells of a group add up to a published total (provinces
  to the national figure, quarters to a province's), a group with withheld cells gets
  more cells withheld, smallest first, until at least two are withheld and they hold
  at least ``k`` inspections between them. The total minus the shown cells then
  reveals neither one small cell nor a small sum. A group whose only non-empty cells
  are withheld cannot be protected inside the table: its total must be withheld where
  it is published (the report index withholds national figures from fewer than k).
* **Names.** Region names are listed only for regions with at least ``k``
  inspections; the others are counted, never named.
* **Staffing.** Officers and technical inspectors are counts of staff, not of
  inspections, and carry nothing about enterprises: staffing tables and figures are
  shown as they are.

Functions here are pure (frames in, frames and a `Withheld` description out), except
`record_suppressed`, which writes the run record's ``disclosure.json`` inside a report build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

DEFAULT_MIN_CELL_SIZE = 5
SYMBOL = "–"
RECORD_FILE = "disclosure.json"

# The inspections each metric of `metrics.trend` is built from, when not all of the group's:
# an average fine (or a sum of fines) is the fines of the cases, and a filing rate after a
# major hazard is over the inspections that found one. Anything else: all inspections.
METRIC_BASIS = {"avg_case_value": "cases", "penalty_total": "cases", "major_hazard_filing_rate": "with_major"}


class Published(NamedTuple):
    """A table as a reviewer page may show it, and what disclosure control withheld from it."""

    frame: pd.DataFrame
    withheld: Withheld


@dataclass(frozen=True)
class Withheld:
    """What one table, figure or list withheld, and why.

    `primary`: cells built from fewer than `k` inspections; `secondary`: further cells
    withheld so that a published total does not reveal them; `names`: region names left
    out of a list. `mask` marks the withheld cells of the table (True = withheld).
    """

    where: str
    k: int
    primary: int = 0
    secondary: int = 0
    names: int = 0
    mask: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def cells(self) -> int:
        return self.primary + self.secondary

    @property
    def legend(self) -> str:
        """One line for under the table or figure; empty when nothing was withheld."""
        parts = []
        if self.cells:
            parts.append(f"{SYMBOL} withheld: fewer than {self.k} inspections")
        if self.secondary:
            parts.append(f"{self.secondary} further cell(s) withheld so that totals do not reveal them")
        if self.names:
            parts.append(f"{self.names} region(s) with fewer than {self.k} inspections not named")
        return "; ".join(parts) + ("." if parts else "")

    def entries(self) -> list[dict]:
        """Entries for the run record: {"where", "cells", "rule"}, one per rule that withheld something."""
        rules = (
            (self.primary, f"fewer than {self.k} inspections"),
            (
                self.secondary,
                "secondary: withheld so that a published total does not reveal a cell of fewer than "
                f"{self.k} inspections",
            ),
            (self.names, f"region names with fewer than {self.k} inspections not listed"),
        )
        return [{"where": self.where, "cells": int(n), "rule": rule} for n, rule in rules if n]


def suppress(
    frame: pd.DataFrame,
    count_column: str,
    value_columns: Sequence[str],
    k: int = DEFAULT_MIN_CELL_SIZE,
    *,
    group_totals: Sequence[str] | None = None,
    basis: Mapping[str, str] | None = None,
    withhold_count: bool = True,
    where: str = "",
) -> tuple[pd.DataFrame, Withheld]:
    """Withhold the cells of a long table (one row per group) built from fewer than `k` inspections.

    `count_column` holds each row's number of inspections. A value column's cell is
    withheld when the row has ``0 < n < k`` inspections, or when the column's own basis
    (`basis` maps a column to the column counting the inspections it is built from;
    default `count_column`) is between 0 and k. The count column is withheld with its
    row unless `withhold_count` is False (a helper column that is not shown).

    `group_totals`: None when no total of these rows is published; otherwise the
    columns whose values define groups of rows that each add up to a published total
    (an empty sequence: the whole table adds up to one total). Secondary suppression
    then applies within each group, column by column.

    Returns the table with withheld cells set to missing (integer columns become
    nullable integers) and a `Withheld`; a table with nothing to withhold is returned
    unchanged (a copy).
    """
    _check_k(k)
    basis = dict(basis or {})
    columns = ([count_column] if withhold_count else []) + [c for c in value_columns if c != count_column]
    missing = [c for c in [count_column, *columns, *basis.values(), *(group_totals or ())] if c not in frame.columns]
    if missing:
        raise ValueError(f"suppress: no column(s) {', '.join(dict.fromkeys(missing))} in the table")
    counts = _as_counts(frame[count_column])
    small_row = (counts > 0) & (counts < k)
    lines = _groups(frame, group_totals)
    primary = pd.DataFrame(False, index=frame.index, columns=columns)
    withheld = primary.copy()
    for column in columns:
        weight = _as_counts(frame[basis.get(column, count_column)])
        first = small_row | ((weight > 0) & (weight < k))
        primary[column] = first
        withheld[column] = _secondary(weight, first, lines, k)
    out = _blank(frame, withheld)
    return out, Withheld(
        where, k, int(primary.to_numpy().sum()), int((withheld & ~primary).to_numpy().sum()), mask=withheld
    )


def suppress_metrics(
    trend: pd.DataFrame,
    metrics: Sequence[str],
    k: int = DEFAULT_MIN_CELL_SIZE,
    *,
    group_totals: Sequence[str] | None = None,
    where: str = "",
) -> tuple[pd.DataFrame, Withheld]:
    """`suppress` for a `metrics.trend` / `metrics.compute` table, each metric on its own basis
    (`METRIC_BASIS`). Officers are staff, not inspections: pass them through, not in `metrics`."""
    basis = {m: METRIC_BASIS[m] for m in metrics if m in METRIC_BASIS}
    absent = sorted({b for b in basis.values() if b not in trend.columns})
    if absent:
        raise ValueError(
            f"suppress_metrics: the table lacks {', '.join(absent)}, which metrics {', '.join(basis)} are built from"
        )
    return suppress(
        trend,
        "inspections",
        [m for m in metrics if m != "inspections"],
        k,
        group_totals=group_totals,
        basis=basis,
        withhold_count="inspections" in metrics,
        where=where,
    )


def suppress_grid(
    counts: pd.DataFrame, k: int = DEFAULT_MIN_CELL_SIZE, *, margins: bool = True, where: str = ""
) -> tuple[pd.DataFrame, Withheld]:
    """Withhold the cells of a cross-tabulation of inspection counts (e.g. province x quarter).

    Cells with ``0 < n < k`` become missing; zeros stay. With `margins`, every row and
    every column is treated as adding up to a published total (secondary suppression
    along both). Returns float counts with missing cells, and a `Withheld`.
    """
    _check_k(k)
    values = counts.to_numpy(dtype=float)
    flat = np.nan_to_num(values, nan=0.0).ravel()
    first = (flat > 0) & (flat < k)
    n_rows, n_cols = values.shape
    grid = np.arange(flat.size).reshape(n_rows, n_cols)
    lines = [grid[i] for i in range(n_rows)] + [grid[:, j] for j in range(n_cols)] if margins else []
    withheld = _secondary(pd.Series(flat), pd.Series(first), lines, k).to_numpy().reshape(n_rows, n_cols)
    mask = pd.DataFrame(withheld, index=counts.index, columns=counts.columns)
    out = counts.astype(float).mask(mask)
    return out, Withheld(where, k, int(first.sum()), int((withheld & ~first.reshape(n_rows, n_cols)).sum()), mask=mask)


def region_names(
    names: Iterable[str],
    inspections: Mapping[str, float] | pd.Series,
    k: int = DEFAULT_MIN_CELL_SIZE,
    *,
    where: str = "",
) -> tuple[list[str], Withheld]:
    """The names that may be listed (regions with at least `k` inspections; unknown ones count as none)
    in their order, and a `Withheld` counting the rest."""
    _check_k(k)
    names = list(names)
    counts = dict(inspections.items()) if hasattr(inspections, "items") else dict(inspections)
    shown = [n for n in names if _count(counts.get(n)) >= k]
    return shown, Withheld(where, k, names=len(names) - len(shown))


def name_list(shown: Sequence[str], withheld: Withheld, limit: int = 6) -> str:
    """Listed names for a sentence: 'A, B, C, ...' plus how many were not named."""
    text = ", ".join(shown[:limit]) + (", ..." if len(shown) > limit else "")
    if withheld.names:
        unnamed = f"{withheld.names} with fewer than {withheld.k} inspections, not named"
        text = f"{text}; {unnamed}" if text else unnamed
    return text


def combine(where: str, *parts: Withheld) -> Withheld:
    """Several `Withheld` of one table as one (counts added, masks joined)."""
    masks = [p.mask for p in parts if p.mask is not None]
    mask = None
    if masks:
        index = masks[0].index.append([m.index for m in masks[1:]]).unique() if len(masks) > 1 else masks[0].index
        columns = list(dict.fromkeys(c for m in masks for c in m.columns))
        mask = pd.DataFrame(False, index=index, columns=columns)
        for m in masks:
            mask = mask | m.reindex(index=index, columns=columns, fill_value=False).astype(bool)
    k = parts[0].k if parts else DEFAULT_MIN_CELL_SIZE
    return Withheld(
        where, k, sum(p.primary for p in parts), sum(p.secondary for p in parts), sum(p.names for p in parts), mask
    )


def record_suppressed(notes: Withheld | Iterable[Withheld]) -> list[dict]:
    """Add what was withheld to the run record; return the entries.

    Inside a report build ($ANALYSIS_RESULTS_DIR, `results.RESULTS_ENV`, is set to the
    notebook's results directory) the entries are appended to ``disclosure.json`` there, a
    JSON list of {"where", "cells", "rule"}; the file is written even when nothing was
    withheld, so the record shows the check ran. Interactively nothing is written. Items
    that are not a `Withheld` (the stand-in of a table that could not be built) are skipped.
    """
    from .results import RESULTS_ENV

    notes = [notes] if isinstance(notes, Withheld) else [n for n in notes if isinstance(n, Withheld)]
    entries = [entry for note in notes for entry in note.entries()]
    directory = os.environ.get(RESULTS_ENV)
    if directory:
        path = Path(directory) / RECORD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        earlier = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        path.write_text(json.dumps(earlier + entries, indent=2) + "\n", encoding="utf-8")
    return entries


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"min_cell_size must be a whole number of at least 1, got {k!r}")


def _count(value) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


def _as_counts(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce").astype(float).fillna(0.0)


def _groups(frame: pd.DataFrame, group_totals: Sequence[str] | None) -> list[np.ndarray]:
    """Positions of the rows of each group that adds up to a published total."""
    if group_totals is None:
        return []
    if not len(group_totals):
        return [np.arange(len(frame))]
    keys = frame[list(group_totals)].astype(str)
    return [np.asarray(rows) for rows in keys.groupby(list(group_totals), sort=False).indices.values()]


def _secondary(weight: pd.Series, primary: pd.Series, lines: list[np.ndarray], k: int) -> pd.Series:
    """Primary cells plus complements: in every line with a withheld cell, withhold the smallest
    non-empty shown cells until at least two are withheld and they hold at least k inspections.

    Where a cell lies on several lines (rows and columns of a grid), a complement that also
    lies on a line already holding a withheld cell is preferred, smallest first: it closes
    the pattern instead of starting a new need in another line. Repeats until no line changes.
    """
    w = weight.to_numpy(dtype=float)
    held = primary.to_numpy(dtype=bool).copy()
    lines_of: dict[int, list[int]] = {}
    for number, line in enumerate(lines):
        for cell in line:
            lines_of.setdefault(int(cell), []).append(number)
    changed = True
    while changed:
        changed = False
        for number, line in enumerate(lines):
            inside = line[held[line]]
            if not len(inside):
                continue
            total, count = w[inside].sum(), len(inside)
            while count < 2 or total < k:
                candidates = line[~held[line] & (w[line] > 0)]
                if not len(candidates):
                    break  # nothing left to hide behind: the group's total must be withheld where published
                closes = np.array(
                    [any(held[lines[other]].any() for other in lines_of[int(c)] if other != number) for c in candidates]
                )
                pick = candidates[np.lexsort((w[candidates], ~closes))[0]]
                held[pick] = True
                total, count, changed = total + w[pick], count + 1, True
    return pd.Series(held, index=primary.index)


def _blank(frame: pd.DataFrame, withheld: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in withheld.columns:
        rows = withheld[column].to_numpy()
        if not rows.any():
            continue
        if pd.api.types.is_integer_dtype(out[column]) or pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].astype("Int64" if pd.api.types.is_integer_dtype(out[column]) else "boolean")
        elif not pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].astype(object)
        out.loc[rows, column] = pd.NA if isinstance(out[column].dtype, pd.api.extensions.ExtensionDtype) else np.nan
    return out
