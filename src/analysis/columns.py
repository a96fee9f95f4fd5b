"""Whole-column conversions that stay fast at tens of millions of rows.

Converting a column value by value (``astype(str)`` of a categorical, a quarter's label
per row) costs seconds per ten million rows. These functions work once per distinct
value and let Arrow spread the result over the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each value's index into the distinct values (-1 where missing), and the distinct values as text.

    The codes are `codes_of`'s: read off a categorical, booleans or short ranges of whole numbers
    without hashing the rows."""
    codes, found = codes_of(values)
    return codes, pd.Series(found, dtype=object).astype(str)


def _used_codes(codes: np.ndarray, categories: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Codes renumbered over the categories some row has (-1, missing, stays -1), and those categories.

    The codes come as int64 whatever they were (a categorical's int8 codes would overflow arithmetic)."""
    codes = codes.astype(np.int64)
    used = np.flatnonzero(np.bincount(codes + 1, minlength=len(categories) + 1)[1:])
    if len(used) == len(categories):
        return codes, categories
    position = np.full(len(categories) + 1, -1, dtype=np.int64)  # the last entry: a missing code (-1)
    position[used] = np.arange(len(used))
    return position[codes], categories[used]


def as_text(values: pd.Series, mapping: dict | pd.Series | None = None, missing: str | None = None) -> pd.Series:
    """`values` as text (pandas' "str" dtype), mapped through `mapping` when given, with `missing`
    where a value is missing. The same as converting each value, in a fraction of the time."""
    if mapping is None and missing is None and values.dtype == "str":
        return values
    codes, labels = distinct(values)
    if mapping is not None:
        labels = labels.map(mapping)
    dictionary = pa.array(labels.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    if missing is not None:
        codes = np.where(codes < 0, len(labels), codes)
        dictionary = pa.concat_arrays([dictionary, pa.array([missing], type=pa.large_string())])
    indices = pa.array(codes, mask=codes < 0)
    text = pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()
    return pd.Series(text, index=values.index, dtype="str")


def as_category(values: pd.Series, mapping: dict | pd.Series | None = None, missing: str | None = None) -> pd.Series:
    """`as_text` as a categorical column: each distinct text once, and a small integer per row.

    Ten million rows of a few hundred texts take 10-20 MB instead of 100-200 MB, and grouping
    or factorizing them needs no hashing. Categories are sorted, so groupings come out in the
    order the text would give."""
    codes, labels = distinct(values)
    if mapping is not None:
        labels = labels.map(mapping)
    if missing is not None:
        codes = np.where(codes < 0, len(labels), codes)
        labels = pd.concat([labels, pd.Series([missing])], ignore_index=True)
    return _categorical(codes, labels.to_numpy(dtype=object), values.index)


def where(keep: np.ndarray, values: pd.Series, other: pd.Series | str) -> pd.Series:
    """Categorical `values` where `keep` holds, else `other` (a column or one text), as a categorical."""
    if isinstance(other, str):
        other = pd.Series(pd.Categorical.from_codes(np.zeros(len(values), dtype=np.int8), categories=[other]))
    both = pd.api.types.union_categoricals([values.array, pd.Categorical(other.array)], sort_categories=True)
    codes = np.where(keep, both.codes[: len(values)], both.codes[len(values) :])
    return pd.Series(pd.Categorical.from_codes(codes, dtype=both.dtype), index=values.index)


def _categorical(codes: np.ndarray, labels: np.ndarray, index: pd.Index) -> pd.Series:
    """Rows coded into `labels` (-1 or a missing label: missing) as a categorical of the sorted distinct labels."""
    label_codes, categories = pd.factorize(pd.Series(labels, dtype="str"), sort=True, use_na_sentinel=True)
    row_codes = np.append(label_codes, -1)[codes]  # code -1 picks the appended -1: missing
    dtype = pd.CategoricalDtype(pd.Index(categories, dtype="str"))
    return pd.Series(pd.Categorical.from_codes(row_codes, dtype=dtype), index=index)


def quarter_labels(ordinals: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """Quarter labels ("2024Q4") of quarter ordinals (quarters since 1970Q1, as `Quarter.ordinal`)."""
    ordinals = np.asarray(ordinals, dtype=np.int64)
    first, last = (int(ordinals.min()), int(ordinals.max())) if len(ordinals) else (0, -1)
    if last - first > max(len(ordinals), 4096):  # a missing quarter (NaT) or centuries apart: label each value
        return as_text(pd.Series(pd.PeriodIndex.from_ordinals(ordinals, freq="Q-DEC"), index=index))
    quarters = pd.PeriodIndex.from_ordinals(np.arange(first, last + 1), freq="Q-DEC")  # each quarter of the span once
    dictionary = pa.array(quarters.astype(str).to_numpy(dtype=object), type=pa.large_string())
    text = pa.DictionaryArray.from_arrays(pa.array(ordinals - first), dictionary).dictionary_decode()
    return pd.Series(text, index=index, dtype="str")


def joined(*parts: pd.Series | str) -> pd.Series:
    """Text columns (and constant strings) joined row by row, as ``a + ":" + b`` would, but once per
    distinct combination, as a categorical (`as_category`). Missing where any column is missing.
    The columns share one index."""
    columns = [p for p in parts if isinstance(p, pd.Series)]
    if not columns:
        raise ValueError("joined needs at least one column")
    codes, present = combinations([column.rename(i) for i, column in enumerate(columns)])
    texts = [present[i].astype(object) for i in range(len(columns))]
    labels = [_join_label(parts, values) for values in zip(*texts, strict=True)]
    return _categorical(codes, np.array(labels, dtype=object), columns[0].index)


def _join_label(parts, values: tuple) -> str | None:
    """One combination's text (None when a column is missing in it)."""
    if any(pd.isna(v) for v in values):
        return None
    texts = iter(str(v) for v in values)
    return "".join(part if isinstance(part, str) else next(texts) for part in parts)


DENSE_LIMIT = 1 << 24  # values or combinations up to this many are counted in an array instead of hashed


def codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each value's position among the sorted distinct values (-1 where missing), and those values.

    Read off without hashing the rows where the column allows it, which is several times faster at
    millions of rows: a categorical's codes (sorted categories), booleans as 0 and 1, and whole
    numbers in a short range as their distance from the smallest."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and values.cat.categories.is_monotonic_increasing:
        return _used_codes(values.cat.codes.to_numpy(), values.cat.categories)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return _used_codes(values.to_numpy().view(np.int8), pd.Index([False, True]))
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf" and len(values):
        array = values.to_numpy()
        low, high = array.min(), array.max()
        if np.isfinite(low) and np.isfinite(high) and int(high) - int(low) < DENSE_LIMIT and _whole(array):
            levels = np.arange(int(low), int(high) + 1)
            offsets = array.astype(np.int64) - np.int64(int(low))  # exact: the span fits (wraps cancel)
            return _used_codes(offsets, pd.Index(levels.astype(dtype)))
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(uniques)


def _whole(array: np.ndarray) -> bool:
    return array.dtype.kind in "iu" or bool(np.array_equal(array, np.floor(array)))


def combinations(columns: list[pd.Series]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's combination of the columns' values as a number 0..k-1, and the k combinations present.

    What ``groupby(..., sort=True, dropna=False, observed=True).ngroup()`` and its group keys give,
    without hashing the rows when the columns are categoricals: the combinations are numbered from
    the columns' codes and counted in an array. The combinations come sorted, missing values last;
    a categorical column keeps its dtype. The columns share one index and are named."""
    number = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    coded, space = [], 1
    for column in columns:
        codes, values = codes_of(column)
        number = number * (len(values) + 1) + np.where(codes < 0, len(values), codes)  # missing: the last code
        coded.append((column, values))
        space *= len(values) + 1  # a Python int: no overflow
    if space <= max(DENSE_LIMIT, len(number)) and space < 2**62:
        present = np.flatnonzero(np.bincount(number, minlength=space))
        position = np.full(space, -1, dtype=np.int64)
        position[present] = np.arange(len(present))
        row_codes = position[number]
    else:
        row_codes, present = pd.factorize(number, sort=True)
    return row_codes, _combination_frame(coded, np.asarray(present, dtype=np.int64))


def _combination_frame(coded: list[tuple[pd.Series, pd.Index]], numbers: np.ndarray) -> pd.DataFrame:
    """The key columns of combination `numbers` (as `combinations` numbers them)."""
    keys = {}
    for column, values in reversed(coded):
        numbers, codes = np.divmod(numbers, len(values) + 1)
        codes = np.where(codes == len(values), -1, codes)
        if isinstance(column.dtype, pd.CategoricalDtype):  # back to codes of all the column's categories
            full = np.append(column.cat.categories.get_indexer(values), -1)[codes]
            keys[column.name] = pd.Categorical.from_codes(full, dtype=column.dtype)
        elif (codes >= 0).all():
            keys[column.name] = values.take(codes)
        else:  # as object, missing where the combination has none
            texts = np.empty(len(values) + 1, dtype=object)  # the last entry (code -1): None
            texts[:-1] = values.to_numpy(dtype=object)
            keys[column.name] = texts[codes]
    return pd.DataFrame({name: keys[name] for name in reversed(list(keys))})


def lookup(rows: pd.DataFrame, table: pd.DataFrame, keys: list[str], value: str) -> np.ndarray:
    """`table[value]` at each row's `keys` (a left join on unique keys); NaN where the table has no such key
    or a key is missing.

    The same as ``rows[keys].merge(table, on=keys, how="left")[value]`` without building the join:
    the rows' distinct keys (`combinations`) are looked up in the table once each, and each row
    takes its combination's value, which is many times faster at millions of rows."""
    codes, present = combinations([rows[key] for key in keys])
    return np.append(_lookup_distinct(present, table, keys, value), np.nan)[codes]


def _lookup_distinct(rows: pd.DataFrame, table: pd.DataFrame, keys: list[str], value: str) -> np.ndarray:
    """`lookup` for rows whose keys are few: the combined key codes are looked up in a hash table."""
    row_codes = np.zeros(len(rows), dtype=np.int64)
    table_codes = np.zeros(len(table), dtype=np.int64)
    matched = np.ones(len(table), dtype=bool)  # table keys some row has
    for key in keys:
        codes, uniques = pd.factorize(rows[key])
        found = pd.Index(uniques).get_indexer(table[key])
        matched &= found >= 0
        row_codes = row_codes * (len(uniques) + 1) + codes + 1  # a missing key (-1) is 0: no table key
        table_codes = table_codes * (len(uniques) + 1) + found + 1
    table_index = pd.Index(table_codes[matched])
    if not table_index.is_unique:
        raise ValueError(f"lookup: the table's keys {', '.join(keys)} are not unique")
    position = table_index.get_indexer(row_codes)
    values = table[value].to_numpy(dtype=float)[matched]
    return np.where(position >= 0, values[position.clip(0)], np.nan) if len(values) else np.full(len(rows), np.nan)
