"""Data-quality summaries for the 00_data_quality notebook.

The frames (`missingness`, `quarantine_summary`, `Dataset.reconciliation`) keep the contract's code
names, for researchers and data managers; the `*_html` functions set them as a reviewer reads them,
in words (analysis.labels) with counts and shares formatted.
"""

from __future__ import annotations

import pandas as pd

from . import contract as c
from . import display, engine, labels, metrics
from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Withheld, suppress_grid
from .validation import ROW


def coverage(dataset: Dataset) -> pd.DataFrame:
    """Inspections per province and quarter (provinces as rows; counted in SQL where the rows lie)."""
    counts = engine.query(dataset, metrics.counts_sql("province", "quarter"), metrics.COUNTS_TABLES)
    grid = counts.pivot(index="province", columns="period", values="inspections").fillna(0).astype("int64")
    return grid.sort_index().sort_index(axis=1).rename_axis(index="province", columns="quarter")


def published_coverage(dataset: Dataset, min_cell_size: int = DEFAULT_MIN_CELL_SIZE) -> tuple[pd.DataFrame, Withheld]:
    """`coverage` as a reviewer page may show it: province-quarter cells with fewer than
    `min_cell_size` inspections withheld (missing), and more withheld so that province and
    quarter totals do not reveal them (disclosure.suppress_grid); zeros stay."""
    return suppress_grid(
        coverage(dataset), min_cell_size, margins=True, where="coverage: inspections per province and quarter"
    )


def missingness(dataset: Dataset) -> pd.DataFrame:
    """Share of missing values in each optional column of each table."""
    rows = []
    for spec in c.TABLES:
        optional = [column.name for column in spec.columns if not column.required]
        if not optional:
            continue
        present = ", ".join(f"COUNT({name}) AS {name}" for name in optional)
        counted = engine.query(dataset, f"SELECT COUNT(*) AS rows_, {present} FROM {spec.name}", [spec.name]).iloc[0]
        total = counted["rows_"]
        if total:
            rows += [
                {"table": spec.name, "column": name, "missing_share": (total - counted[name]) / total}
                for name in optional
            ]
    return pd.DataFrame(rows, columns=["table", "column", "missing_share"])


def quarantine_summary(dataset: Dataset) -> pd.DataFrame:
    """Quarantined rows by table, column and reason (no row contents: they may identify enterprises)."""
    q = dataset.quarantine
    if q.empty:
        return pd.DataFrame(columns=["table", "column", "reason", "rows"])
    return (
        q.groupby(["table", "column", "reason"])
        .size()
        .rename("rows")
        .reset_index()
        .sort_values("rows", ascending=False)
    )


def reconciliation_html(dataset: Dataset) -> display.Html:
    """Rows read, accepted and quarantined for each table of the data, and whether they add up."""
    recon = dataset.reconciliation()
    scoped = "outside_scope" in recon.columns
    balance = "Read = accepted + quarantined" + (" + outside the provinces studied" if scoped else "")
    shown = pd.DataFrame(
        {
            "Data table": [labels.first_upper(labels.data_table(t)) for t in recon["table"]],
            "Rows read": [labels.count(x) for x in recon["read"]],
            "Accepted": [labels.count(x) for x in recon["accepted"]],
            "Quarantined": [labels.count(x) for x in recon["quarantined"]],
            **({"Outside the provinces studied": [labels.count(x) for x in recon["outside_scope"]]} if scoped else {}),
            balance: ["yes" if x else "no" for x in recon["balanced"]],
        }
    )
    return display.table(shown, caption="Rows by data table")


def missingness_html(dataset: Dataset) -> display.Html:
    """`missingness` in words: each optional column named for what it records, its missing share in %."""
    frame = missingness(dataset)
    if frame.empty:
        return display.text("No table with optional columns has rows, so nothing can be missing.")
    shown = pd.DataFrame(
        {
            "Data table": [labels.first_upper(labels.data_table(t)) for t in frame["table"]],
            "Column": [
                labels.first_upper(labels.data_column(t, col))
                for t, col in zip(frame["table"], frame["column"], strict=True)
            ],
            "Missing": [labels.percent(x) for x in frame["missing_share"]],
        }
    )
    return display.table(shown, caption="Missing values in the optional columns (% of each table's accepted rows)")


def quarantine_html(dataset: Dataset) -> display.Html:
    """`quarantine_summary` in words (columns and reasons), or a sentence when nothing was quarantined."""
    frame = quarantine_summary(dataset)
    if frame.empty:
        return display.text("No row was quarantined.")
    shown = pd.DataFrame(
        {
            "Data table": [labels.first_upper(labels.data_table(t)) for t in frame["table"]],
            "Column": [_column_words(t, col) for t, col in zip(frame["table"], frame["column"], strict=True)],
            "Reason": [labels.first_upper(labels.reason(str(r))) for r in frame["reason"]],
            "Rows": [labels.count(x) for x in frame["rows"]],
        }
    )
    return display.table(shown, caption="Quarantined rows by data table, column and reason")


def _column_words(table: str, column: str) -> str:
    try:
        return labels.first_upper(labels.data_column(table, column))
    except KeyError:  # a fault named after something outside the contract: as the loader named it
        return column


def _where(table: str, column: str) -> str:
    """Where a fault is, in words: "the fine (yuan) column of the inspections table"."""
    if column == ROW:
        return f"whole rows of the {labels.data_table(table)} table"
    words = _column_words(table, column)
    return f"the {words[:1].lower() + words[1:]} column of the {labels.data_table(table)} table"


def period_span(dataset: Dataset) -> tuple[str, str]:
    span = metrics.quarter_span(dataset)
    return (str(span[0]), str(span[1])) if span else ("NaT", "NaT")


def span_reading(first: str, last: str, period: str) -> display.Html:
    """One sentence on which quarters the inspections cover (`period_span`) against the report's quarter."""
    if "NaT" in (first, last):
        return display.text(
            f"No inspection was accepted, so this report for {period} has nothing to count; the quarantine "
            "below says why the rows were held back."
        )
    return display.text(f"Inspections run from {first} to {last}; this report covers quarters up to {period}.")


def reconciliation_reading(dataset: Dataset) -> str:
    """One sentence on what was read, accepted and held back."""
    recon = dataset.reconciliation()
    read, held = int(recon["read"].sum()), int(recon["quarantined"].sum())
    if not recon["balanced"].all():
        return "Warning: rows read do not equal rows accepted plus rows quarantined; the loader is broken."
    if held == 0:
        return f"All {read:,} rows read passed the data contract; nothing was quarantined."
    top = quarantine_summary(dataset).iloc[0]
    return (
        f"{held:,} of {read:,} rows ({held / read:.2%}) were quarantined and are left out of every analysis; "
        f"the most common reason is '{labels.reason(str(top['reason']))}' in {_where(top['table'], top['column'])} "
        f"({int(top['rows']):,} row{'s' if int(top['rows']) != 1 else ''}). "
        "Every other row was accepted: read = accepted + quarantined for each table."
    )
