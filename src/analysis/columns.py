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
    """Each value's index into the distinct values (-1 where missing), and the distinct values as text."""
    codes, found = pd.factorize(values, use_na_sentinel=True)
    return codes, pd.Series(found, dtype=object).astype(str)


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


def quarter_labels(ordinals: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """Quarter labels ("2024Q4") of quarter ordinals (quarters since 1970Q1, as `Quarter.ordinal`)."""
    quarters = pd.Series(pd.PeriodIndex.from_ordinals(ordinals, freq="Q-DEC"), index=index)
    return as_text(quarters)
