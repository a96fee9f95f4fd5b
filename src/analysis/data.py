"""Load a dataset in the data contract: typed tables plus a quarantine.

>>> ds = load("data/generated/default")           # doctest: +SKIP
>>> ds.inspections.dtypes                          # doctest: +SKIP
>>> ds.reconciliation()                            # read = accepted + quarantined

Structural faults (unreadable file, unknown format, missing table or required
column, duplicate region_id) raise `DataContractError`. Row-level faults move the
row to `Dataset.quarantine` with the file, line, column, value and reason; no row
is dropped silently. `strict=True` turns any quarantined row into an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import contract as c
from .errors import DataContractError
from .readers import RawTable, read_dataset
from .validation import Faults, apply_rules, check_references, duplicate_key_rows, finalize, type_table

QUARANTINE_COLUMNS = ["table", "file", "line", "column", "value", "reason", "all_faults", "record"]
SHOWN_ROWS = 5  # how many offending rows a structural error message lists


@dataclass
class Dataset:
    """The typed tables of one dataset, its quarantine and its row accounting."""

    source: Path
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    files: dict[str, str]
    rows_read: dict[str, int]
    ignored_files: list[str] = field(default_factory=list)

    @property
    def regions(self) -> pd.DataFrame:
        return self.tables["regions"]

    @property
    def inspections(self) -> pd.DataFrame:
        return self.tables["inspections"]

    @property
    def staffing(self) -> pd.DataFrame:
        return self.tables["staffing"]

    @property
    def programs(self) -> pd.DataFrame:
        return self.tables["programs"]

    @property
    def accidents(self) -> pd.DataFrame:
        return self.tables["accidents"]

    def province_by_region(self) -> pd.Series:
        """Province name of each region_id (for mapping region columns)."""
        regions = self.regions
        return pd.Series(regions["province"].astype("str").to_numpy(), index=regions["region_id"].astype("str").to_numpy())

    def program_starts(self, program: str) -> dict[str, str]:
        """First quarter ("2022Q1") each region ran `program`; a region absent never did."""
        rows = self.programs[self.programs["program"].astype("str") == program]
        return dict(zip(rows["region_id"].astype("str"), rows["start_period"].astype("str")))

    def in_force(self, program: str, region_id, quarter) -> np.ndarray:
        """Whether `program` was in force for each (region, quarter label) pair."""
        start = pd.Series(np.asarray(region_id, dtype=str)).map(self.program_starts(program))
        quarter = pd.Series(np.asarray(quarter, dtype=str))
        return (start.notna() & (quarter >= start.fillna(""))).to_numpy()

    def reconciliation(self) -> pd.DataFrame:
        """One row per table: rows read, accepted, quarantined, and whether they add up."""
        quarantined = self.quarantine.groupby("table", observed=True).size()
        rows = []
        for spec in c.TABLES:
            read = self.rows_read.get(spec.name, 0)
            accepted = len(self.tables[spec.name])
            held = int(quarantined.get(spec.name, 0))
            rows.append(
                {
                    "table": spec.name,
                    "file": self.files.get(spec.name, "(absent)"),
                    "read": read,
                    "accepted": accepted,
                    "quarantined": held,
                    "balanced": read == accepted + held,
                }
            )
        return pd.DataFrame(rows)

    def top_reasons(self, table: str, n: int = 3) -> pd.Series:
        rows = self.quarantine[self.quarantine["table"] == table]
        return (rows["column"] + ": " + rows["reason"]).value_counts().head(n)


def load(path: str | Path, strict: bool = False) -> Dataset:
    """Read and validate the dataset at `path` (a directory or a .duckdb file).

    Returns a `Dataset` whose tables hold only accepted rows, typed: dates as
    ``datetime64``, booleans as ``bool`` (``boolean`` when optional), integers as
    ``int64`` (``Int64`` when optional), low-cardinality strings as categoricals,
    periods as quarterly ``Period``. Raises `DataContractError` on structural
    faults, and on any quarantined row when `strict` is true.
    """
    raw_tables, ignored = read_dataset(path)
    _require_tables(Path(path), raw_tables)

    tables: dict[str, pd.DataFrame] = {}
    quarantines: list[pd.DataFrame] = []
    rows_read: dict[str, int] = {}
    accepted_regions: set[str] = set()
    quarantined_regions: set[str] = set()
    files = {name: raw.file for name, raw in raw_tables.items()}
    for spec in c.TABLES:
        raw = raw_tables.pop(spec.name, None)  # let each raw frame go once typed
        if raw is None:
            empty = finalize(spec, type_table(spec, pd.DataFrame(), Faults()))
            tables[spec.name] = _share_region_categories(spec, empty, accepted_regions)
            continue
        _require_columns(spec, raw)
        if spec.duplicate_key_is_structural:
            _forbid_duplicate_keys(spec, raw)
        accepted, quarantine = _validate(spec, raw, accepted_regions, quarantined_regions)
        tables[spec.name] = _share_region_categories(spec, accepted, accepted_regions)
        quarantines.append(quarantine)
        rows_read[spec.name] = len(raw.frame)
        if spec.name == "regions":
            accepted_regions = set(accepted["region_id"].astype("str"))
            quarantined_regions = set(_raw_text(raw.frame["region_id"])) - accepted_regions

    dataset = Dataset(
        source=Path(path),
        tables=tables,
        quarantine=_concat_quarantine(quarantines),
        files=files,
        rows_read=rows_read,
        ignored_files=ignored,
    )
    if strict and len(dataset.quarantine):
        raise DataContractError(_strict_message(dataset))
    return dataset


def _share_region_categories(spec: c.Table, accepted: pd.DataFrame, region_ids: set[str]) -> pd.DataFrame:
    """Give every region reference one categorical dtype, so tables join without surprises.

    (regions.parent_id keeps its own categories: a parent may itself be quarantined.)
    """
    if spec.name == "regions":
        region_ids = set(accepted["region_id"].astype("str"))
        columns = ["region_id"]
    else:
        columns = [col.name for col in spec.columns if col.references_region]
    categories = pd.Index(sorted(region_ids), dtype="str")
    for name in columns:
        values = accepted[name]
        values = values.cat.set_categories(values.cat.categories.astype("str")) if len(values.cat.categories) else values
        accepted[name] = values.cat.set_categories(categories)
    return accepted


def _require_tables(path: Path, raw_tables: dict[str, RawTable]) -> None:
    missing = [t.name for t in c.TABLES if t.required and t.name not in raw_tables]
    if missing:
        raise DataContractError(
            f"{path}: required table(s) missing: {', '.join(missing)} "
            "(expected NAME.csv or NAME.parquet, or a table of that name in the DuckDB file)",
            file=str(path),
        )


def _require_columns(spec: c.Table, raw: RawTable) -> None:
    missing = [col.name for col in spec.columns if col.required and col.name not in raw.frame.columns]
    if missing:
        raise DataContractError(
            f"{raw.file}: required column(s) missing: {', '.join(missing)} "
            f"(the header has: {', '.join(map(str, raw.frame.columns))})",
            file=raw.file,
            column=missing[0],
        )


def _forbid_duplicate_keys(spec: c.Table, raw: RawTable) -> None:
    keys = raw.frame[list(spec.key)].astype("str")
    repeated = keys.duplicated(keep=False).to_numpy()
    if repeated.any():
        positions = np.flatnonzero(repeated)[:SHOWN_ROWS]
        shown = ", ".join(
            f"line {raw.first_line + p} ({'/'.join(keys.iloc[p])})" for p in positions
        )
        raise DataContractError(
            f"{raw.file}: column {'/'.join(spec.key)} must be unique; repeated at {shown}",
            file=raw.file,
            column=spec.key[0],
        )


def _validate(spec, raw: RawTable, accepted_regions, quarantined_regions) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = raw.frame.reset_index(drop=True)
    faults = Faults()
    typed = type_table(spec, frame, faults)
    if spec.name == "regions":  # parent_id may name any region in the file
        check_references(spec, typed, set(_raw_text(frame["region_id"])), set(), faults)
    else:
        check_references(spec, typed, accepted_regions, quarantined_regions, faults)
    apply_rules(spec, typed, faults)
    if spec.key and not spec.duplicate_key_is_structural:
        _add_duplicate_faults(spec, raw, typed, faults)
    bad = faults.faulty_rows(len(frame))
    accepted = finalize(spec, typed.loc[~bad] if bad.any() else typed)
    return accepted, _quarantine_rows(spec, raw, frame, faults)


def _add_duplicate_faults(spec, raw: RawTable, typed: pd.DataFrame, faults: Faults) -> None:
    otherwise_good = ~faults.faulty_rows(len(typed))
    duplicate, first_position = duplicate_key_rows(typed, spec.key, otherwise_good)
    if duplicate.any():
        reasons = pd.Series("", index=typed.index, dtype=object)
        reasons[first_position.index] = [
            f"duplicate key {'/'.join(spec.key)} (first at line {raw.first_line + int(p)})" for p in first_position
        ]
        faults.add_each(duplicate, spec.key[0], reasons)


def _quarantine_rows(spec, raw: RawTable, frame: pd.DataFrame, faults: Faults) -> pd.DataFrame:
    found = faults.to_frame()
    if found.empty:
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    found["value"] = [_show(frame.at[p, col]) if col in frame.columns else "" for p, col in zip(found["position"], found["column"])]
    column_order = {name: i for i, name in enumerate(spec.column_names)}
    found = found.assign(order=found["column"].map(column_order)).sort_values(["position", "order"], kind="stable")
    found["fault"] = found["column"] + "=" + found["value"].map(repr) + ": " + found["reason"]
    per_row = found.groupby("position", sort=True)
    first = per_row.first()
    records = frame.loc[first.index]
    return pd.DataFrame(
        {
            "table": spec.name,
            "file": raw.file,
            "line": first.index.to_numpy() + raw.first_line,
            "column": first["column"].to_numpy(),
            "value": first["value"].to_numpy(),
            "reason": first["reason"].to_numpy(),
            "all_faults": per_row["fault"].agg(" | ".join).to_numpy(),
            "record": [json.dumps({k: _show(v) for k, v in row.items()}, ensure_ascii=False) for row in records.to_dict("records")],
        }
    )


def _concat_quarantine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({col: pd.Series([], dtype="int64" if col == "line" else "str") for col in QUARANTINE_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def _raw_text(values: pd.Series) -> list[str]:
    return [str(v) for v in pd.unique(values.astype("str"))]


def _show(value) -> str:
    """A raw value as the user wrote it (missing shown as empty)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def _strict_message(dataset: Dataset) -> str:
    q = dataset.quarantine
    shown = "; ".join(
        f"{row.file} line {row.line}, column {row.column}, value {row.value!r}: {row.reason}"
        for row in q.head(SHOWN_ROWS).itertuples()
    )
    return f"strict mode: {len(q)} row(s) would be quarantined; first: {shown}"
