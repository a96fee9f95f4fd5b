"""Load a dataset in the data contract: typed tables plus a quarantine.

>>> ds = load("data/generated/default")           # doctest: +SKIP
>>> ds.inspections.dtypes                          # doctest: +SKIP
>>> ds.reconciliation()                            # read = accepted + quarantined

Structural faults (unreadable or empty file, unknown format, missing table or
required column, a column named twice, duplicate region_id) raise
`DataContractError`. Row-level faults (a bad or implausible value, a broken rule, a
blank line, a row with more fields than the header) move the row to
`Dataset.quarantine` with the file, physical line, column, value and reason; no row
is dropped silently. `strict=True` turns any quarantined row into an error.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import contract as c
from . import snapshot
from .columns import distinct
from .engine import SUMMARIES
from .errors import DataContractError, ParameterError
from .quarter import Quarter, ordinals
from .readers import RawTable, read_dataset
from .validation import (
    BLANK_LINE,
    ROW,
    DateWindow,
    Faults,
    apply_rules,
    case_only_differences,
    check_references,
    check_row_shape,
    duplicate_key_rows,
    finalize,
    type_table,
)

QUARANTINE_COLUMNS = ["table", "file", "line", "column", "value", "reason", "all_faults", "record"]
SHOWN_ROWS = 5  # how many offending rows a structural error message lists


@dataclass
class Dataset:
    """The typed tables of one dataset, its quarantine and its row accounting."""

    source: Path
    tables: Mapping[str, pd.DataFrame]  # a snapshot's may still be on disk (snapshot.SnapshotTables)
    quarantine: pd.DataFrame
    files: dict[str, str]
    rows_read: dict[str, int]
    ignored_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # plain sentences on how the input was read
    unknown_columns: dict[str, list[str]] = field(
        default_factory=dict
    )  # table -> columns outside the contract, in file order
    scope: tuple[str, ...] = ()  # provinces the dataset was restricted to (`within`); empty = all
    outside_scope: dict[str, int] = field(default_factory=dict)  # table -> rows of other provinces

    @property
    def regions(self) -> pd.DataFrame:
        return self.tables["regions"]

    def parquet_source(self, name: str) -> tuple[Path, frozenset[str] | None] | None:
        """(Parquet file, regions in scope or None for all) of a snapshot table not yet read; else None.

        `analysis.engine` aggregates such a table where it lies instead of reading it."""
        tables = self.tables
        if not isinstance(tables, snapshot.SnapshotTables):
            return None
        if tables.unread(name):
            return tables.path(name), tables.regions
        summary = SUMMARIES.get(name)
        stored = tables.summary_path(name, summary.base) if summary else None
        return (stored, tables.regions) if stored else None

    def columns_of(self, name: str, columns: list[str]) -> pd.DataFrame:
        """Some columns of a table; a snapshot table still on disk reads just these and stays there."""
        if self.parquet_source(name) is None:
            return self.tables[name][columns]
        return self.tables.columns_of(name, columns)  # type: ignore[attr-defined]

    def row_count(self, name: str) -> int:
        """Accepted rows of a table (counted on disk for a snapshot table not yet read)."""
        if self.parquet_source(name) is None:
            return len(self.tables[name])
        from .engine import query

        return int(query(self, f"SELECT COUNT(*) AS n FROM {name}", [name])["n"].iloc[0])

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
        return pd.Series(
            regions["province"].astype("str").to_numpy(), index=regions["region_id"].astype("str").to_numpy()
        )

    def program_starts(self, program: str) -> dict[str, str]:
        """First quarter ("2022Q1") each region ran `program`; a region absent never did."""
        rows = self.programs[self.programs["program"].astype("str") == program]
        return dict(zip(rows["region_id"].astype("str"), rows["start_period"].astype("str"), strict=False))

    def in_force(self, program: str, region_id, quarter) -> np.ndarray:
        """Whether `program` was in force for each (region, quarter) pair; quarters as labels ("2024Q4")
        or as ordinals (integers: quarters since 1970Q1, as `Quarter.ordinal`).

        Worked out once per distinct region and quarter label, so tens of millions of pairs are cheap."""
        starts = {region: Quarter.parse(start).ordinal for region, start in self.program_starts(program).items()}
        if not starts:
            return np.zeros(len(region_id), dtype=bool)
        never = 10**9  # an ordinal far beyond any quarter: never adopted (also a missing region)
        region_codes, regions = distinct(pd.Series(region_id))  # the regions as text, whatever their dtype
        start = np.append(regions.map(starts).fillna(never).to_numpy(dtype=np.int64), never)[region_codes]
        if np.issubdtype(np.asarray(quarter).dtype, np.integer):
            return np.asarray(quarter) >= start
        quarter_codes, labels = distinct(pd.Series(quarter))
        if (quarter_codes < 0).any():
            raise ValueError("a quarter label is missing")
        return np.asarray(ordinals(labels), dtype=np.int64)[quarter_codes] >= start

    def within(self, provinces: Sequence[str] = ()) -> Dataset:
        """The dataset restricted to the regions of `provinces` (names as in the regions table).

        An empty list is the whole dataset. Rows of other provinces are counted as "outside
        scope" in `reconciliation`, never lost from the accounting; quarantined rows stay, since
        they are faults of the files. An unknown name raises ValueError listing the provinces.

        Parameters
        ----------
        provinces : sequence of str
            Province names as in the regions table.

        Returns
        -------
        Dataset
            A new dataset (this one is unchanged), whose `notes` say what it covers.

        Examples
        --------
        >>> jiangsu = load("data/generated/default").within(["Jiangsu"])  # doctest: +SKIP
        >>> jiangsu.reconciliation()[["table", "accepted", "outside_scope"]]  # doctest: +SKIP
        """
        if not provinces:
            return self
        known = sorted(self.regions["province"].astype("str").unique())
        unknown = [name for name in provinces if name not in known]
        if unknown:
            raise ValueError(
                f"scope names {', '.join(map(repr, unknown))}, not a province of the regions table "
                f"(provinces: {', '.join(known)})"
            )
        regions = set(self.province_by_region().loc[lambda by: by.isin(list(provinces))].index)
        tables: dict[str, pd.DataFrame] = {}
        outside = dict(self.outside_scope)
        on_disk = [name for name in self.tables if self.parquet_source(name) is not None]
        for name in (name for name in self.tables if name not in on_disk):
            frame = self.tables[name]
            kept = frame[frame["region_id"].astype("str").isin(regions)] if "region_id" in frame.columns else frame
            tables[name] = kept.reset_index(drop=True)
            outside[name] = outside.get(name, 0) + len(frame) - len(kept)
        scoped: Mapping[str, pd.DataFrame] = (
            self.tables.within(regions, tables) if isinstance(self.tables, snapshot.SnapshotTables) else tables
        )
        covered = f"{_and_list(list(provinces))} ({len(regions)} of {len(self.regions)} regions)"
        result = replace(
            self,
            tables=scoped,
            outside_scope=outside,
            scope=tuple(provinces),
            notes=[*self.notes, f"This report covers {covered}; other provinces' rows are left aside."],
        )
        for name in on_disk:  # counted where they lie
            outside[name] = outside.get(name, 0) + self.row_count(name) - result.row_count(name)
        return result

    def outside_scope_reason(self, province: str) -> str | None:
        """Why `province` is absent when the dataset was restricted (`within`) to others, else None."""
        if not self.scope or province in self.scope:
            return None
        return f"{province} is outside this report's scope ({_and_list(list(self.scope))})"

    def reconciliation(self) -> pd.DataFrame:
        """One row per table: rows read, accepted, quarantined, outside the scope, and whether they add up."""
        quarantined = self.quarantine.groupby("table", observed=True).size()
        rows = []
        for spec in c.TABLES:
            read = self.rows_read.get(spec.name, 0)
            accepted = self.row_count(spec.name)
            held = int(quarantined.get(spec.name, 0))
            outside = self.outside_scope.get(spec.name, 0)
            row = {
                "table": spec.name,
                "file": self.files.get(spec.name, "(absent)"),
                "read": read,
                "accepted": accepted,
                "quarantined": held,
            }
            if self.scope:
                row["outside_scope"] = outside
            rows.append({**row, "balanced": read == accepted + held + outside})
        return pd.DataFrame(rows)

    def top_reasons(self, table: str, n: int = 3) -> pd.Series:
        rows = self.quarantine[self.quarantine["table"] == table]
        return (rows["column"] + ": " + rows["reason"]).value_counts().head(n)


def load(path: str | Path, strict: bool = False, date_window: tuple | None = None) -> Dataset:
    """Read and validate the dataset at `path` (a directory or a .duckdb file).

    Returns a `Dataset` whose tables hold only accepted rows, typed: dates as
    ``datetime64``, booleans as ``bool`` (``boolean`` when optional), integers as
    ``int64`` (``Int64`` when optional), low-cardinality strings as categoricals,
    periods as quarterly ``Period``. Text loses its surrounding whitespace.
    Dates and quarters outside `date_window` (``(start, end)``, both included;
    default `analysis.contract.default_date_window()`: 1990-01-01 to a year from
    today) are quarantined. Raises `DataContractError` on structural faults, and on
    any quarantined row when `strict` is true.

    Inside a report build the runner has validated the dataset once already: `load` then
    opens that validated snapshot (`analysis.snapshot`) instead of reading `path` again.
    """
    if not strict and date_window is None and (validated := snapshot.for_source(path)) is not None:
        return validated
    window = _date_window(date_window)
    raw = read_dataset(path)
    require_tables(Path(path), raw.tables)
    files = {name: table.file for name, table in raw.tables.items()}
    validation = Validation(window, raw.notes)
    tables = {spec.name: validation.table(spec, raw.tables.pop(spec.name, None)) for spec in c.TABLES}
    dataset = validation.dataset(Path(path), tables, files, raw.ignored)
    if strict and len(dataset.quarantine):
        raise DataContractError(_strict_message(dataset))
    return dataset


class Validation:
    """Validates a dataset's tables one by one, in the contract's order (regions first: the
    others refer to them), keeping the quarantine, the row accounting and the notes."""

    def __init__(self, window: DateWindow, notes: Sequence[str] = ()):
        self.window = window
        self.regions = _Regions()
        self.quarantines: list[pd.DataFrame] = []
        self.rows_read: dict[str, int] = {}
        self.notes = list(notes)
        self.unknown_columns: dict[str, list[str]] = {}

    def table(self, spec: c.Table, raw: RawTable | None) -> pd.DataFrame:
        """The accepted rows of a whole table (an absent table is empty)."""
        if raw is None:
            empty = finalize(spec, type_table(spec, pd.DataFrame(), Faults(), self.window))
            return _share_region_categories(spec, empty, self.regions.accepted)
        checked = _validate(spec, raw, self.regions, self.window)
        if spec.name == "regions":
            self.regions = _Regions.of(checked)
            self.notes.extend(_case_notes(raw.file, checked.region_ids))
        return self._account(spec, raw, checked)

    def chunk(self, spec: c.Table, raw: RawTable) -> pd.DataFrame:
        """The accepted rows of one chunk of a table read in chunks (not regions). Keys repeated
        across chunks are the caller's to find: it hands their rows to `repeated_keys`."""
        return self._account(spec, raw, _validate(spec, raw, self.regions, self.window, keys=False))

    def repeated_keys(self, spec: c.Table, raw: RawTable, first_lines: Sequence[int]) -> None:
        """Quarantine `raw`'s rows, each of which repeats the key of the accepted row at `first_lines`."""
        faults = Faults()
        reasons = pd.Series([f"duplicate key {'/'.join(spec.key)} (first at line {line})" for line in first_lines])
        faults.add_each(np.ones(len(raw.frame), dtype=bool), spec.key[0], reasons)
        self.quarantines.append(_quarantine_rows(spec, raw, raw.frame.reset_index(drop=True), faults))

    def quarantined_positions(self, table: str) -> np.ndarray:
        """Sorted 0-based positions of the table's quarantined rows (a Parquet or DuckDB table: line = position + 1)."""
        lines = [q["line"].to_numpy() for q in self.quarantines if len(q) and (q["table"] == table).all()]
        return np.sort(np.concatenate(lines)).astype(np.int64) - 1 if lines else np.zeros(0, dtype=np.int64)

    def dataset(
        self, source: Path, tables: Mapping[str, pd.DataFrame], files: dict[str, str], ignored: list[str]
    ) -> Dataset:
        order = {spec.name: i for i, spec in enumerate(c.TABLES)}
        quarantine = _concat_quarantine(self.quarantines)
        by_place = quarantine.assign(_order=quarantine["table"].map(order))
        by_place = by_place.sort_values(["_order", "line"], kind="stable")
        return Dataset(
            source=source,
            tables=tables,
            quarantine=by_place.drop(columns="_order").reset_index(drop=True),
            files=files,
            rows_read=self.rows_read,
            ignored_files=ignored,
            notes=self.notes,
            unknown_columns=self.unknown_columns,
        )

    def _account(self, spec: c.Table, raw: RawTable, checked: _Checked) -> pd.DataFrame:
        self.quarantines.append(checked.quarantine)
        self.rows_read[spec.name] = self.rows_read.get(spec.name, 0) + len(raw.frame)
        self.unknown_columns.update(_unknown_columns(spec, raw))
        return _share_region_categories(spec, checked.accepted, self.regions.accepted)


def _date_window(date_window: tuple | None) -> DateWindow:
    if date_window is None:
        return DateWindow.default()
    try:
        start, end = (pd.Timestamp(d).date() for d in date_window)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"date_window: expected (start, end) dates, got {date_window!r}") from err
    if start > end:
        raise ParameterError(f"date_window: start {start.isoformat()} is after end {end.isoformat()}")
    return DateWindow(start, end)


def _unknown_columns(spec: c.Table, raw: RawTable) -> dict[str, list[str]]:
    extra = [name for name in raw.frame.columns if name not in spec.column_names]
    return {spec.name: extra} if extra else {}


def _case_notes(file: str, region_ids: set[str]) -> list[str]:
    return [
        f"{file}: region ids {' and '.join(map(repr, ids))} differ only in letter case; "
        "they are kept as different regions (ids are case-sensitive)"
        for ids in case_only_differences(region_ids)
    ]


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
        values = (
            values.cat.set_categories(values.cat.categories.astype("str")) if len(values.cat.categories) else values
        )
        accepted[name] = values.cat.set_categories(categories)
    return accepted


def require_tables(path: Path, present: Collection[str]) -> None:
    """Raise `DataContractError` naming the required tables not among `present`."""
    missing = [t.name for t in c.TABLES if t.required and t.name not in present]
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


def _forbid_duplicate_keys(spec: c.Table, raw: RawTable, typed: pd.DataFrame) -> None:
    """A key given twice (once trimmed) is structural here; rows with no key are
    row faults already."""
    keys = typed[list(spec.key)]
    repeated = (keys.duplicated(keep=False) & keys.notna().all(axis=1)).to_numpy()
    if repeated.any():
        positions = np.flatnonzero(repeated)[:SHOWN_ROWS]
        text = keys.astype("str")
        shown = ", ".join(
            f"line {line} ({'/'.join(text.iloc[p])})"
            for p, line in zip(positions, raw.line_numbers(positions), strict=False)
        )
        raise DataContractError(
            f"{raw.file}: column {'/'.join(spec.key)} must be unique; repeated at {shown}",
            file=raw.file,
            column=spec.key[0],
        )


@dataclass
class _Checked:
    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    region_ids: set[str]  # regions only: every region_id in the file (trimmed), accepted or not


@dataclass
class _Regions:
    """The region ids other tables may refer to."""

    accepted: set[str] = field(default_factory=set)
    quarantined: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, checked: _Checked) -> _Regions:
        accepted = set(checked.accepted["region_id"].astype("str"))
        return cls(accepted, checked.region_ids - accepted)


def _validate(spec, raw: RawTable, regions: _Regions, window: DateWindow, keys: bool = True) -> _Checked:
    """Type and check one table; `keys=False` leaves repeated keys unchecked (a chunk of a table)."""
    _require_columns(spec, raw)
    frame = raw.frame.reset_index(drop=True)
    faults = Faults()
    check_row_shape(frame, raw.field_counts, raw.extra_fields, faults)
    typed = type_table(spec, frame, faults, window)
    if spec.duplicate_key_is_structural:
        _forbid_duplicate_keys(spec, raw, typed)
    region_ids = _distinct_text(typed["region_id"]) if spec.name == "regions" else set()
    if spec.name == "regions":  # parent_id may name any region in the file
        check_references(spec, typed, region_ids, set(), faults)
    else:
        check_references(spec, typed, regions.accepted, regions.quarantined, faults)
    apply_rules(spec, typed, faults)
    if keys and spec.key and not spec.duplicate_key_is_structural:
        _add_duplicate_faults(spec, raw, typed, faults)
    bad = faults.faulty_rows(len(frame))
    accepted = finalize(spec, typed.loc[~bad] if bad.any() else typed)
    return _Checked(accepted, _quarantine_rows(spec, raw, frame, faults), region_ids)


def _add_duplicate_faults(spec, raw: RawTable, typed: pd.DataFrame, faults: Faults) -> None:
    otherwise_good = ~faults.faulty_rows(len(typed))
    duplicate, first_position = duplicate_key_rows(typed, spec.key, otherwise_good)
    if duplicate.any():
        reasons = pd.Series("", index=typed.index, dtype=object)
        reasons[first_position.index] = [
            f"duplicate key {'/'.join(spec.key)} (first at line {line})" for line in raw.line_numbers(first_position)
        ]
        faults.add_each(duplicate, spec.key[0], reasons)


def _quarantine_rows(spec, raw: RawTable, frame: pd.DataFrame, faults: Faults) -> pd.DataFrame:
    found = _only_row_fault_for_blank_lines(faults.to_frame())
    if found.empty:
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    found["value"] = [
        value if isinstance(value, str) else _show(frame.at[p, col]) if col in frame.columns else ""
        for p, col, value in zip(found["position"], found["column"], found["value"], strict=False)
    ]
    column_order = {ROW: -1, **{name: i for i, name in enumerate(spec.column_names)}}
    found = found.assign(order=found["column"].map(column_order)).sort_values(["position", "order"], kind="stable")
    found["fault"] = found["column"] + "=" + found["value"].map(repr) + ": " + found["reason"]
    per_row = found.groupby("position", sort=True)
    first = per_row.first()
    records = frame.loc[first.index]
    return pd.DataFrame(
        {
            "table": spec.name,
            "file": raw.file,
            "line": raw.line_numbers(first.index.to_numpy()),
            "column": first["column"].to_numpy(),
            "value": first["value"].to_numpy(),
            "reason": first["reason"].to_numpy(),
            "all_faults": per_row["fault"].agg(" | ".join).to_numpy(),
            "record": [
                json.dumps({k: _show(v) for k, v in row.items()}, ensure_ascii=False)
                for row in records.to_dict("records")
            ],
        }
    )


def _only_row_fault_for_blank_lines(found: pd.DataFrame) -> pd.DataFrame:
    """A blank line is one fault, not an empty value in every required column."""
    blank = found.loc[found["reason"] == BLANK_LINE, "position"]
    if blank.empty:
        return found
    return found[~found["position"].isin(blank) | (found["reason"] == BLANK_LINE)]


def _concat_quarantine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(
            {col: pd.Series([], dtype="int64" if col == "line" else "str") for col in QUARANTINE_COLUMNS}
        )
    return pd.concat(parts, ignore_index=True)


def _distinct_text(values: pd.Series) -> set[str]:
    """Distinct non-missing values as text (once per category for categoricals)."""
    present = values.dropna()
    if isinstance(present.dtype, pd.CategoricalDtype):
        return {str(v) for v in present.cat.remove_unused_categories().cat.categories}
    return {str(v) for v in pd.unique(present.astype("str"))}


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


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
