"""Data-quality summaries for the 00_data_quality notebook."""

from __future__ import annotations

import pandas as pd

from . import contract as c
from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Withheld, suppress_grid


def coverage(dataset: Dataset) -> pd.DataFrame:
    """Inspections per province and quarter (provinces as rows)."""
    inspections = dataset.inspections
    province = inspections["region_id"].map(dataset.province_by_region())
    quarter = inspections["inspection_date"].dt.to_period("Q").astype(str)
    return pd.crosstab(province, quarter).rename_axis(index="province", columns="quarter")


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
        frame = dataset.tables[spec.name]
        for column in spec.columns:
            if not column.required and len(frame):
                rows.append(
                    {
                        "table": spec.name,
                        "column": column.name,
                        "missing_share": float(frame[column.name].isna().mean()),
                    }
                )
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


def period_span(dataset: Dataset) -> tuple[str, str]:
    quarters = dataset.inspections["inspection_date"].dt.to_period("Q")
    return str(quarters.min()), str(quarters.max())


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
        f"the most common reason is '{top['reason']}' in {top['table']}.{top['column']} ({int(top['rows']):,} rows). "
        "Every other row was accepted: read = accepted + quarantined for each table."
    )
