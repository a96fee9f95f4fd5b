"""A validated dataset written once and opened many times: the report's kernels never revalidate.

`load` reads and validates a dataset (seconds at the default size, minutes at tens of
millions of rows). A report build does that once: the runner writes what `load`
returned (the accepted rows, typed; the quarantine; the row accounting and notes) as
Parquet files plus `dataset.json` under its cache, keyed by the data's fingerprint,
and tells each kernel where it is through $ANALYSIS_SNAPSHOT. `load(path)` then opens
the snapshot instead of reading `path` again, but only when the snapshot was made from
that same path and nothing asks for other reading options (strict, a date window).
Interactively nothing changes: $ANALYSIS_SNAPSHOT is unset and `load` validates.

The builder checks that the data did not change during the build before it publishes,
so a kernel can trust the snapshot of the data it was started for.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from .data import Dataset

SNAPSHOT_ENV = "ANALYSIS_SNAPSHOT"
DESCRIPTION = "dataset.json"
FORMAT = 2  # bump when the layout changes: an older snapshot is then ignored and written again
LAZY_TABLES = ("inspections",)  # read into memory only when a notebook asks for the rows themselves


def write(dataset: Dataset, folder: Path) -> Path:
    """Write `dataset` as a snapshot at `folder` (atomically; an existing complete snapshot is kept)."""
    folder = Path(folder)
    if reuse(folder):
        return folder
    tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:6]}")
    (tmp / "tables").mkdir(parents=True)
    try:
        for name in dataset.tables:
            _write_table(dataset.tables, name, tmp / "tables" / f"{name}.parquet")
        _write_summaries(dataset, tmp / "summaries")
        dataset.quarantine.to_parquet(tmp / "quarantine.parquet", index=False)
        description = {
            "format": FORMAT,
            "source": str(Path(dataset.source).resolve()),
            "files": dataset.files,
            "rows_read": dataset.rows_read,
            "ignored_files": dataset.ignored_files,
            "notes": dataset.notes,
            "unknown_columns": dataset.unknown_columns,
            "tables": list(dataset.tables),
            "datetimes": _datetime_units(dataset),
            "categories": _recorded_categories(dataset),
        }
        (tmp / DESCRIPTION).write_text(json.dumps(description, indent=1), encoding="utf-8")
        (tmp / "meta.json").write_text("{}")  # the report cache evicts by this file's time of last use
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def reuse(folder: Path) -> bool:
    """Whether `folder` already holds a complete snapshot (then marked as just used)."""
    if _description(Path(folder)) is None:
        return False
    _touch(Path(folder))
    return True


def _write_table(tables: Mapping[str, pd.DataFrame], name: str, target: Path) -> None:
    """A table in memory is written; a whole one still on disk (a staged or another snapshot's file)
    is linked, or copied where links cannot be made; never moved. (A table restricted to some
    regions is read, restricted, and written.)"""
    if isinstance(tables, SnapshotTables) and tables.unread(name) and tables.regions is None:
        try:
            os.link(tables.path(name), target)
        except OSError:
            shutil.copyfile(tables.path(name), target)
    else:
        tables[name].to_parquet(target, index=False)


def _write_summaries(dataset: Dataset, folder: Path) -> None:
    """Each `engine.SUMMARIES` table of the dataset, computed once here for every kernel."""
    from . import engine

    folder.mkdir()
    for name, summary in engine.SUMMARIES.items():
        if summary.base in dataset.tables:
            pq.write_table(engine.summary(dataset, name), folder / f"{name}.parquet")


def complete(folder: Path) -> bool:
    """Whether `folder` holds a complete snapshot of this format."""
    return _description(Path(folder)) is not None


def read(folder: Path) -> Dataset:
    """The dataset a snapshot holds, exactly as `load` returned it."""
    from .data import Dataset

    folder = Path(folder)
    description = _description(folder)
    if description is None:
        raise FileNotFoundError(f"{folder}: not a complete dataset snapshot")
    _touch(folder)
    return Dataset(
        source=Path(description["source"]),
        tables=SnapshotTables(
            folder, description["tables"], description["datetimes"], categories=description.get("categories")
        ),
        quarantine=pd.read_parquet(folder / "quarantine.parquet"),
        files=description["files"],
        rows_read=description["rows_read"],
        ignored_files=description["ignored_files"],
        notes=description["notes"],
        unknown_columns=description["unknown_columns"],
    )


def for_source(path: str | os.PathLike) -> Dataset | None:
    """The snapshot named by $ANALYSIS_SNAPSHOT when it was made from `path`; else None."""
    folder = os.environ.get(SNAPSHOT_ENV)
    if not folder:
        return None
    description = _description(Path(folder))
    if description is None or description["source"] != str(Path(path).resolve()):
        return None
    return read(Path(folder))


class SnapshotTables(Mapping):
    """A snapshot's tables: the small ones read at once, the inspections when first asked for.

    A notebook that only counts inspections by region and quarter does so in SQL on the
    Parquet file (`analysis.engine`) and never holds the rows. `regions` restricts the rows
    (a `Dataset.within` scope); None keeps them all.
    """

    def __init__(
        self,
        folder: Path,
        names: list[str],
        datetimes: dict,
        regions: frozenset[str] | None = None,
        loaded: dict[str, pd.DataFrame] | None = None,
        categories: dict[str, dict[str, list[str]]] | None = None,
    ):
        self.folder, self.names, self.datetimes, self.regions = Path(folder), list(names), datetimes, regions
        self.categories = categories or {}  # table -> column -> categories, when the file alone loses some
        self.loaded: dict[str, pd.DataFrame] = (
            {name: self._read(name) for name in self.names if name not in LAZY_TABLES} if loaded is None else loaded
        )

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.loaded:
            if name not in self.names:
                raise KeyError(name)
            self.loaded[name] = self._read(name)
        return self.loaded[name]

    def __contains__(self, name: object) -> bool:  # Mapping's would read the table
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def path(self, name: str) -> Path:
        return self.folder / "tables" / f"{name}.parquet"

    def summary_path(self, name: str, base: str) -> Path | None:
        """The stored `engine.SUMMARIES` table `name` derived from `base`, while `base` is still unread."""
        path = self.folder / "summaries" / f"{name}.parquet"
        return path if self.unread(base) and path.exists() else None

    def unread(self, name: str) -> bool:
        """Whether the table is still only on disk."""
        return name in self.names and name not in self.loaded

    def within(self, regions: set[str], loaded: dict[str, pd.DataFrame]) -> SnapshotTables:
        """The same snapshot restricted to `regions`, with the tables already restricted in memory."""
        kept = frozenset(regions if self.regions is None else self.regions & regions)
        return SnapshotTables(self.folder, self.names, self.datetimes, kept, dict(loaded), self.categories)

    def columns_of(self, name: str, columns: list[str]) -> pd.DataFrame:
        """Some columns of a table, read for the caller and not kept (the table stays on disk)."""
        return self.loaded[name][columns] if name in self.loaded else self._read(name, columns)

    def _read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        in_scope = None if self.regions is None else [("region_id", "in", sorted(self.regions))]
        frame = _read_table(self.folder, name, self.datetimes, filters=in_scope, columns=columns)
        for column, categories in self.categories.get(name, {}).items():
            if column in frame.columns:
                frame[column] = _with_categories(frame[column], pd.Index(categories, dtype="str"))
        return frame


def _datetime_units(dataset: Dataset) -> dict[str, dict[str, str]]:
    """Each datetime column's dtype: Parquet keeps milliseconds at the finest, `load` gives seconds."""
    return _per_table(dataset, "datetimes", datetime_units)


def _recorded_categories(dataset: Dataset) -> dict[str, dict[str, list[str]]]:
    """Each categorical column's categories, for `read` to restore: a Parquet file keeps only those of
    its rows (none in an empty table), in the order of its row groups."""
    return _per_table(dataset, "categories", _text_categories)


def _per_table(dataset: Dataset, kept: str, of_frame: Callable[[pd.DataFrame], dict]) -> dict[str, dict]:
    """`of_frame` of each table in memory; for a table still on disk (staged by `streamed_snapshot`,
    or another snapshot's), what its `SnapshotTables` keeps under the attribute `kept`."""
    tables = dataset.tables
    on_disk = tables if isinstance(tables, SnapshotTables) else None
    return {
        name: getattr(on_disk, kept).get(name, {})
        if on_disk is not None and on_disk.unread(name)
        else of_frame(tables[name])
        for name in tables
    }


def _text_categories(frame: pd.DataFrame) -> dict[str, list[str]]:
    return {
        str(column): list(values.cat.categories)
        for column, values in frame.items()
        if isinstance(values.dtype, pd.CategoricalDtype) and all_text(values.cat.categories)
    }


def _with_categories(values: pd.Series, categories: pd.Index) -> pd.Series:
    """`values` with exactly these categories in this order (astype would keep another order: to
    pandas, unordered categoricals with the same categories have the same dtype)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(pd.CategoricalDtype(categories))
    return values.cat.set_categories(categories)


def all_text(categories: pd.Index) -> bool:
    """Whether every category is text (the only categories a snapshot records: JSON keeps their type)."""
    return all(isinstance(v, str) for v in categories)


def datetime_units(frame: pd.DataFrame) -> dict[str, str]:
    """The dtype of each datetime column of `frame`."""
    return {column: str(dtype) for column, dtype in frame.dtypes.items() if str(dtype).startswith("datetime64")}


def _read_table(
    folder: Path,
    name: str,
    datetimes: dict[str, dict[str, str]],
    filters: list | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    frame = pd.read_parquet(folder / "tables" / f"{name}.parquet", filters=filters, columns=columns)
    units = {column: unit for column, unit in datetimes.get(name, {}).items() if column in frame.columns}
    return frame.astype(units) if units else frame


def _description(folder: Path) -> dict | None:
    try:
        description = json.loads((folder / DESCRIPTION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return description if description.get("format") == FORMAT else None


def _touch(folder: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(folder / "meta.json")
