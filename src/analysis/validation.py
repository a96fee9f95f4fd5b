"""Type one raw table by the contract and find its row-level faults.

Every check is vectorised over a column. Low-cardinality text is checked once per
distinct value (on the categories), which keeps a million-row load cheap.
A fault never removes a row here: it is recorded as (row position, column,
reason) and `analysis.data` moves the row to quarantine.

Text is compared without its surrounding whitespace: " R1" and "R1" are one region,
which is what anyone reading the file would take them to be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import contract as c
from .quarter import Quarter

SNAKE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
NAN_WORDS = frozenset({"nan", "+nan", "-nan"})
ROW = "(row)"  # the column named by a fault of the whole row (a blank line, too many fields)
BLANK_LINE = "blank line"
SYSTEM_POOL = pa.system_memory_pool()


@dataclass(frozen=True)
class DateWindow:
    """Dates (and quarters) outside [start, end] are implausible; both ends included."""

    start: date
    end: date

    @classmethod
    def default(cls) -> DateWindow:
        return cls(*c.default_date_window())

    def describe(self) -> str:
        return f"outside the plausible window {self.start.isoformat()} to {self.end.isoformat()}"


@dataclass
class Faults:
    """Row-level faults of one table, in the order they were found."""

    positions: list[np.ndarray] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    values: list[list[str] | None] = field(default_factory=list)  # None: the value is the cell's

    def add(self, mask, column: str, reason: str) -> None:
        self.add_rows(np.flatnonzero(np.asarray(mask, dtype=bool)), column, reason)

    def add_rows(self, positions: np.ndarray, column: str, reason: str, values: list[str] | None = None) -> None:
        if len(positions):
            self.positions.append(np.asarray(positions, dtype=np.int64))
            self.columns.append(column)
            self.reasons.append(reason)
            self.values.append(values)

    def add_each(self, mask, column: str, reasons: pd.Series) -> None:
        """Add faults whose reason differs by row (`reasons` aligned with the table)."""
        mask = np.asarray(mask, dtype=bool)
        for reason, rows in pd.Series(np.flatnonzero(mask)).groupby(np.asarray(reasons)[mask]):
            self.add_rows(rows.to_numpy(), column, str(reason))

    def faulty_rows(self, n_rows: int) -> np.ndarray:
        mask = np.zeros(n_rows, dtype=bool)
        for positions in self.positions:
            mask[positions] = True
        return mask

    def to_frame(self) -> pd.DataFrame:
        """One row per fault: position, column, reason and the value when it is not the cell's."""
        if not self.positions:
            return pd.DataFrame({"position": pd.Series([], dtype="int64"), "column": [], "reason": [], "value": []})
        sizes = [len(p) for p in self.positions]
        values = [
            np.asarray(v, dtype=object) if v is not None else np.full(n, None, dtype=object)
            for v, n in zip(self.values, sizes, strict=False)
        ]
        return pd.DataFrame(
            {
                "position": np.concatenate(self.positions),
                "column": np.repeat(self.columns, sizes),
                "reason": np.repeat(self.reasons, sizes),
                "value": pd.Series(np.concatenate(values), dtype=object),
            }
        )


def check_row_shape(
    frame: pd.DataFrame, field_counts: np.ndarray | None, extra_fields: dict[int, str], faults: Faults
) -> None:
    """Blank lines and rows with more fields than the header are faults of the whole row.

    The value shown is the blank line's text, or the fields past the header's width.
    (A row with fewer fields reads as empty trailing fields, judged column by column.)
    """
    if field_counts is None:
        return
    width = len(frame.columns)
    blank = np.flatnonzero(field_counts == 0)
    faults.add_rows(blank, ROW, BLANK_LINE, frame.iloc[blank, 0].astype("str").tolist() if width else None)
    for count in np.unique(field_counts[field_counts > width]):  # once per distinct count
        rows = np.flatnonzero(field_counts == count)
        faults.add_rows(
            rows, ROW, f"row has {count} fields; the header has {width}", [extra_fields[int(p)] for p in rows]
        )


def type_table(spec: c.Table, raw: pd.DataFrame, faults: Faults, window: DateWindow | None = None) -> pd.DataFrame:
    """Return `raw` with contract columns typed; record bad values in `faults`.

    Text loses its surrounding whitespace. Dates and quarters outside `window`
    (default: `DateWindow.default()`) and numbers beyond the contract's minimum and
    maximum are faults; such values are missing in the typed column. Optional
    columns missing from the file are added empty. Columns outside the contract are
    kept as they were read.
    """
    window = window or DateWindow.default()
    typed = {}
    for column in spec.columns:
        if column.name in raw.columns:
            typed[column.name] = _type_column(column, raw[column.name], faults, window)
        else:
            typed[column.name] = _empty_column(column, len(raw))
    extras = {name: raw[name] for name in raw.columns if name not in typed}
    return pd.DataFrame({**typed, **extras}, index=raw.index, copy=False)


def _type_column(column: c.Column, values: pd.Series, faults: Faults, window: DateWindow) -> pd.Series:
    values, blank = _trim(values) if column.is_text else (values, _blank(values))
    if column.required:
        faults.add(blank, column.name, "empty value in a required column")
    parse = _PARSERS[column.kind]
    typed, bad, reason = parse(column, values, blank)
    if isinstance(reason, str):
        faults.add(bad & ~blank, column.name, reason)
    else:
        faults.add_each(bad & ~blank, column.name, reason)
    implausible = _check_range(column, typed, faults, window)
    if implausible.any():  # e.g. a uint64 beyond int64 must not reach the final cast
        typed = typed.where(~implausible)
    return _final_dtype(column, typed)


def _trim(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Text without surrounding whitespace, and the mask of empty values.

    Categoricals are trimmed once per category; Arrow-backed text is trimmed in
    Arrow, and left as it is (no copy) when nothing needed trimming.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = _trim_categories(values)
        return values, _blank(values)
    if pd.api.types.is_string_dtype(values.dtype) and hasattr(values.array, "__arrow_array__"):
        return _trim_arrow_text(values)
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        values = values.astype("str").str.strip().where(values.notna())
    return values, _blank(values)  # numbers or dates standing in a text column stay as they are


def _trim_arrow_text(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    arrow = values.array.__arrow_array__()
    # The system allocator hands freed memory back; Arrow's default pool would keep it.
    lengths = pc.binary_length(pc.utf8_trim_whitespace(arrow, memory_pool=SYSTEM_POOL), memory_pool=SYSTEM_POOL)
    if pc.sum(lengths).as_py() != pc.sum(pc.binary_length(arrow)).as_py():  # trimming only shortens
        values = values.str.strip()
    if not lengths.null_count and not pc.any(pc.equal(lengths, 0)).as_py():
        return values, np.zeros(len(values), dtype=bool)
    blank = pc.fill_null(pc.equal(lengths, 0), True)
    return values, blank.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _trim_categories(values: pd.Series) -> pd.Series:
    names = [str(v) for v in values.cat.categories]
    trimmed = [name.strip() for name in names]
    if trimmed == names and pd.api.types.is_string_dtype(values.cat.categories.dtype):
        return values
    categories = pd.Index(pd.unique(np.asarray(trimmed, dtype=object)), dtype="str")
    recode = np.append(categories.get_indexer(trimmed), -1)  # two spellings may merge into one
    codes = values.cat.codes.to_numpy()
    return pd.Series(pd.Categorical.from_codes(recode[np.where(codes >= 0, codes, -1)], categories), index=values.index)


def _blank(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype):
        blank = [str(v).strip() == "" for v in values.cat.categories] + [True]  # last: missing (code -1)
        return np.asarray(blank, dtype=bool)[values.cat.codes.to_numpy()]
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        text = values.astype("str")
        return (values.isna() | (text.str.len() == 0) | text.str.isspace()).fillna(True).to_numpy(dtype=bool)
    return values.isna().to_numpy(dtype=bool)


def _as_category(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    return values.astype("category")


def _category_check(values: pd.Series, is_valid) -> tuple[pd.Series, np.ndarray]:
    """Check each distinct value once; return the categorical and a per-row bad mask."""
    cats = _as_category(values)
    good = np.asarray([is_valid(str(v)) for v in cats.cat.categories] + [True], dtype=bool)  # last: missing
    bad = ~good[cats.cat.codes.to_numpy()]  # code -1 (missing) picks the last entry; no category at all is fine
    return cats, bad


def _parse_string(column, values, blank):
    text = values.astype("str")
    return (text.where(~blank) if blank.any() else text), np.zeros(len(values), dtype=bool), ""


def _parse_category(column, values, blank):
    cats = _as_category(values)
    return (cats.where(~blank) if blank.any() else cats), np.zeros(len(values), dtype=bool), ""


def _parse_snake(column, values, blank):
    cats, bad = _category_check(values, lambda v: bool(SNAKE_PATTERN.match(v)))
    return cats.where(~blank & ~bad), bad, "not a snake_case name"


def _parse_enum(column, values, blank):
    cats, bad = _category_check(values, lambda v: v in column.choices)
    typed = cats.cat.set_categories(list(column.choices))  # anything else becomes missing
    return typed, bad, f"not one of {'/'.join(column.choices)}"


def _parse_number(column, values, blank):
    """Floats; text that is no number, and inf or nan (which would poison every sum), are bad."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(np.nan, index=values.index), np.ones(len(values), dtype=bool), "not a number"
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.astype("float64")
        text = None
    else:
        text = values.astype("str").str.strip()
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    array = numbers.to_numpy()
    bad = ~np.isfinite(array)
    if not bad.any():
        return numbers, bad, "not a number"
    non_finite = np.isinf(array)
    if text is None:
        non_finite |= bad  # a NaN stored as a float (blank rows are not judged here)
    else:
        candidates = np.flatnonzero(bad & ~blank)
        non_finite[candidates] |= text.iloc[candidates].str.lower().isin(NAN_WORDS).to_numpy(dtype=bool)
    reasons = np.where(non_finite, "not a finite number", "not a number")
    return numbers.where(~bad), bad, reasons


def _parse_integer(column, values, blank):
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values, np.zeros(len(values), dtype=bool), ""
    numbers, bad, reasons = _parse_number(column, values, blank)
    whole = numbers.to_numpy()
    fraction = np.isfinite(whole) & (np.floor(whole) != whole)
    if fraction.any():
        bad = bad | fraction
        numbers = numbers.where(~bad)
    if isinstance(reasons, str):
        return numbers, bad, "not an integer"
    return numbers, bad, np.where(reasons == "not a finite number", reasons, "not an integer")


def _parse_boolean(column, values, blank):
    if pd.api.types.is_bool_dtype(values.dtype):
        return values, np.zeros(len(values), dtype=bool), ""
    words = {**{w: True for w in c.TRUE_WORDS}, **{w: False for w in c.FALSE_WORDS}}
    if pd.api.types.is_numeric_dtype(values.dtype):
        values = values.astype("str").str.replace(r"\.0$", "", regex=True)
    cats, bad = _category_check(values, lambda v: v.strip().lower() in words)
    mapping = {v: words.get(str(v).strip().lower()) for v in cats.cat.categories}
    typed = cats.astype("object").map(mapping).astype("boolean")
    return typed, bad, "not a boolean (true/false, 1/0, yes/no)"


def _parse_date(column, values, blank):
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        # The calendar date where the value was recorded, not in UTC: 00:30 in Shanghai
        # on 5 January is an inspection on 5 January.
        return values.dt.tz_localize(None).dt.normalize(), np.zeros(len(values), dtype=bool), ""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values, np.zeros(len(values), dtype=bool), ""
    text = values.astype("str").str.strip()
    dates = pd.to_datetime(text.where(~blank), format="%Y-%m-%d", errors="coerce")
    return dates, dates.isna().to_numpy(), "not an ISO date YYYY-MM-DD"


def _parse_quarter(column, values, blank):
    if isinstance(values.dtype, pd.PeriodDtype):
        return values, np.zeros(len(values), dtype=bool), ""
    cats, bad = _category_check(values, Quarter.is_quarter)
    # Parse each distinct label once, then spread by the codes.
    labels = [v.strip() if Quarter.is_quarter(v) else None for v in map(str, cats.cat.categories)]
    ordinals = np.append(pd.PeriodIndex(labels, freq="Q-DEC").asi8, pd.NaT.value)
    codes = cats.cat.codes.to_numpy()
    quarters = pd.PeriodIndex.from_ordinals(ordinals[np.where(codes >= 0, codes, len(labels))], freq="Q-DEC")
    return pd.Series(quarters, index=values.index), bad, "not a quarter like 2022Q3"


_PARSERS = {
    c.STRING: _parse_string,
    c.CATEGORY: _parse_category,
    c.SNAKE: _parse_snake,
    c.ENUM: _parse_enum,
    c.INTEGER: _parse_integer,
    c.NUMBER: _parse_number,
    c.BOOLEAN: _parse_boolean,
    c.DATE: _parse_date,
    c.QUARTER: _parse_quarter,
}


def _check_range(column: c.Column, typed: pd.Series, faults: Faults, window: DateWindow) -> np.ndarray:
    """Record values below the minimum, above the maximum or outside the date window;
    return the mask of those rows."""
    outside = np.zeros(len(typed), dtype=bool)
    if column.kind == c.DATE:
        outside = _outside_dates(typed, window)
        faults.add(outside, column.name, f"date {window.describe()}")
    elif column.kind == c.QUARTER:
        outside = _outside_quarters(typed, window)
        faults.add(outside, column.name, f"quarter {window.describe()}")
    if column.minimum is not None:
        below = (typed < column.minimum).fillna(False).to_numpy(dtype=bool)
        faults.add(below, column.name, f"below the minimum {_number(column.minimum)}")
        outside |= below
    if column.maximum is not None:
        above = (typed > column.maximum).fillna(False).to_numpy(dtype=bool)
        faults.add(above, column.name, f"above the maximum {_number(column.maximum)}")
        outside |= above
    return outside


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _outside_dates(typed: pd.Series, window: DateWindow) -> np.ndarray:
    start, after_end = np.datetime64(window.start, "D"), np.datetime64(window.end, "D") + 1
    values = typed.to_numpy()
    return ((values < start) | (values >= after_end)) & ~np.isnat(values)


def _outside_quarters(typed: pd.Series, window: DateWindow) -> np.ndarray:
    """A quarter is plausible when it overlaps the window."""
    ordinals = pd.PeriodIndex(typed, freq="Q-DEC").asi8
    first = pd.Period(window.start, freq="Q-DEC").ordinal
    last = pd.Period(window.end, freq="Q-DEC").ordinal
    return ((ordinals < first) | (ordinals > last)) & typed.notna().to_numpy()


def _final_dtype(column: c.Column, typed: pd.Series) -> pd.Series:
    """Nullable dtypes where values can be missing; plain numpy dtypes are kept as they are."""
    if column.kind == c.INTEGER:
        return typed if typed.dtype == "int64" else typed.astype("Int64")
    if column.kind == c.BOOLEAN:
        return typed if typed.dtype == "bool" else typed.astype("boolean")
    if column.kind == c.DATE:
        return typed.astype("datetime64[s]") if typed.dtype != "datetime64[s]" else typed
    return typed


def _empty_column(column: c.Column, n_rows: int) -> pd.Series:
    empty = {
        c.INTEGER: "Int64",
        c.NUMBER: "float64",
        c.BOOLEAN: "boolean",
        c.DATE: "datetime64[s]",
        c.QUARTER: pd.PeriodDtype("Q-DEC"),
        c.ENUM: pd.CategoricalDtype(list(column.choices)),
        c.CATEGORY: "category",
        c.SNAKE: "category",
        c.STRING: "str",
    }[column.kind]
    return pd.Series([None] * n_rows, dtype=empty) if n_rows else pd.Series([], dtype=empty)


def finalize(spec: c.Table, accepted: pd.DataFrame) -> pd.DataFrame:
    """Give accepted rows stable dtypes: plain numpy for required columns, nullable for optional."""
    out = accepted.reset_index(drop=True)
    for column in spec.columns:
        wanted = _FINAL_DTYPES.get((column.kind, column.required))
        if wanted and out[column.name].dtype != wanted:
            out[column.name] = _as_dtype(out[column.name], wanted)
    return out


_FINAL_DTYPES = {
    (c.INTEGER, True): "int64",
    (c.INTEGER, False): "Int64",
    (c.BOOLEAN, True): "bool",
    (c.BOOLEAN, False): "boolean",
}


def _as_dtype(values: pd.Series, wanted: str) -> pd.Series:
    """Cast; a plain numpy column becomes nullable by wrapping it, not by copying it."""
    no_mask = np.zeros(len(values), dtype=bool)
    if wanted == "Int64" and values.dtype == "int64":
        return pd.Series(pd.arrays.IntegerArray(values.to_numpy(), no_mask), index=values.index, copy=False)
    if wanted == "boolean" and values.dtype == "bool":
        return pd.Series(pd.arrays.BooleanArray(values.to_numpy(), no_mask), index=values.index, copy=False)
    return values.astype(wanted)


# --- cross-column rules -------------------------------------------------------


def apply_rules(spec: c.Table, typed: pd.DataFrame, faults: Faults) -> None:
    for rule in spec.rules:
        _RULES[rule](typed, faults)


def _major_hazards_within_hazards(df: pd.DataFrame, faults: Faults) -> None:
    faults.add(
        (df["major_hazards"] > df["hazards_found"]).fillna(False),
        "major_hazards",
        "major_hazards exceeds hazards_found",
    )


def _penalty_needs_case(df: pd.DataFrame, faults: Faults) -> None:
    faults.add(
        ((df["penalty_amount"] > 0) & (df["case_filed"] == False)).fillna(False),  # noqa: E712
        "penalty_amount",
        "penalty_amount > 0 but case_filed is false",
    )


def _double_penalty_needs_case(df: pd.DataFrame, faults: Faults) -> None:
    faults.add(
        ((df["double_penalty"] == True) & (df["case_filed"] == False)).fillna(False),  # noqa: E712
        "double_penalty",
        "double_penalty is true but case_filed is false",
    )


def _inspecting_region_matches_cross_region(df: pd.DataFrame, faults: Faults) -> None:
    given = (df["inspecting_region_id"].notna() & df["region_id"].notna()).to_numpy()
    same = _same_value(df["inspecting_region_id"], df["region_id"])
    cross = df["cross_region"]
    faults.add(
        given & same & (cross == True).fillna(False).to_numpy(),  # noqa: E712
        "inspecting_region_id",
        "cross_region is true but inspecting_region_id equals region_id",
    )
    faults.add(
        given & ~same & (cross == False).fillna(False).to_numpy(),  # noqa: E712
        "inspecting_region_id",
        "inspecting_region_id differs from region_id but cross_region is false",
    )


def _same_value(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Elementwise equality of two categoricals, compared on shared codes."""
    left, right = _as_category(left), _as_category(right)
    shared = left.cat.categories.union(right.cat.categories)
    left_codes = left.cat.set_categories(shared).cat.codes.to_numpy()
    right_codes = right.cat.set_categories(shared).cat.codes.to_numpy()
    return (left_codes == right_codes) & (left_codes >= 0)


_RULES = {
    "major_hazards_within_hazards": _major_hazards_within_hazards,
    "penalty_needs_case": _penalty_needs_case,
    "double_penalty_needs_case": _double_penalty_needs_case,
    "inspecting_region_matches_cross_region": _inspecting_region_matches_cross_region,
}


# --- keys and references ------------------------------------------------------


UNKNOWN_REGION = "unknown region_id"
QUARANTINED_REGION = "refers to a region that is quarantined"


def check_references(
    spec: c.Table, typed: pd.DataFrame, accepted_regions: set, quarantined_regions: set, faults: Faults
) -> None:
    """Region references must name an accepted region (checked once per distinct value).

    Ids are case-sensitive; an unknown id that matches a known one in another letter
    case says so, since that is nearly always the mistake.
    """
    by_lower = _ids_by_lower_case(accepted_regions | quarantined_regions)
    for column in spec.columns:
        if not column.references_region:
            continue
        cats = _as_category(typed[column.name])
        names = [str(v) for v in cats.cat.categories]
        reasons = [
            _unknown_reason(v, by_lower) if v not in accepted_regions and v not in quarantined_regions else ""
            for v in names
        ]
        held = np.array([v in quarantined_regions for v in names] + [False])
        codes = cats.cat.codes.to_numpy()
        codes = np.where(codes >= 0, codes, len(names))  # missing values refer to nothing
        reasons_by_code = np.array(reasons + [""], dtype=object)
        unknown = (reasons_by_code != "")[codes]
        if unknown.any():
            faults.add_each(unknown, column.name, reasons_by_code[codes])
        faults.add(held[codes], column.name, QUARANTINED_REGION)


def _ids_by_lower_case(ids: set[str]) -> dict[str, list[str]]:
    by_lower: dict[str, list[str]] = {}
    for region_id in sorted(ids):
        by_lower.setdefault(region_id.lower(), []).append(region_id)
    return by_lower


def _unknown_reason(region_id: str, by_lower: dict[str, list[str]]) -> str:
    other_case = by_lower.get(region_id.lower())
    if other_case:
        return f"{UNKNOWN_REGION}; did you mean {other_case[0]!r}? (ids are case-sensitive)"
    return UNKNOWN_REGION


def case_only_differences(region_ids) -> list[list[str]]:
    """Groups of distinct ids that differ only in letter case (each group sorted)."""
    return [ids for ids in _ids_by_lower_case(set(region_ids)).values() if len(ids) > 1]


def _is_unique(values: pd.Series) -> bool:
    """Uniqueness of a key column. Arrow-backed text is sorted rather than hashed:
    a hash table of a million strings costs more memory than the column itself."""
    if not hasattr(values.array, "__arrow_array__") or isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Index(values).is_unique
    text = values.array.__arrow_array__()
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    ordered = pc.take(text, pc.array_sort_indices(text))
    return len(ordered) < 2 or not pc.any(pc.equal(ordered[1:], ordered[:-1])).as_py()


def duplicate_key_rows(
    typed: pd.DataFrame, key: tuple[str, ...], candidates: np.ndarray
) -> tuple[np.ndarray, pd.Series]:
    """Rows (among `candidates`) whose key repeats an earlier candidate row.

    Returns the duplicate mask and, for each duplicate, the position of the first row
    with that key, so the reason can point at it.
    """
    mask = np.zeros(len(typed), dtype=bool)
    keys = typed[list(key)] if candidates.all() else typed.loc[candidates, list(key)]
    if len(key) == 1 and _is_unique(keys[key[0]]):
        return mask, pd.Series(dtype="int64")
    duplicated = keys.duplicated(keep="first")
    if not duplicated.any():
        return mask, pd.Series(dtype="int64")
    keys = keys.astype("str")  # the few duplicates are matched back by their text
    first = keys[~duplicated].reset_index().set_index(list(key))["index"]
    dup_keys = keys[duplicated]
    first_positions = first.reindex(pd.MultiIndex.from_frame(dup_keys) if len(key) > 1 else dup_keys[key[0]]).to_numpy()
    mask[dup_keys.index.to_numpy()] = True
    return mask, pd.Series(first_positions, index=dup_keys.index)
