"""CSV files the suite writes, safe to open in a spreadsheet.

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read
by Excel, LibreOffice and Google Sheets as a formula (`=HYPERLINK(...)`,
`+cmd|' /C calc'!A0`): "CSV injection". Every CSV the suite writes goes through
`write_csv`, which prefixes such text cells with a single quote, the OWASP
recommendation; numbers (negative ones included) are written as numbers.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """`value` with a leading `'` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells (and column names) cannot start a formula."""
    out = frame.rename(columns=lambda c: neutralise(c) if isinstance(c, str) else c)
    for column in out.columns:
        values = out[column]
        if (
            pd.api.types.is_object_dtype(values.dtype)
            or pd.api.types.is_string_dtype(values.dtype)
            or isinstance(values.dtype, pd.CategoricalDtype)
        ):
            out[column] = values.astype("object").map(neutralise)
    return out


def write_csv(frame: pd.DataFrame, target, **kwargs) -> None:
    """`frame.to_csv(target, index=False)`, with formula cells neutralised."""
    neutralised(frame).to_csv(target, index=False, **kwargs)
