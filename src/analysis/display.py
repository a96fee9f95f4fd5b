"""Safe tables for notebooks and reports: escaped, and without enterprise identifiers.

Every table a report shows goes through `table`, so the rules of the house (no
enterprise identifiers, every string from data escaped, cells withheld under disclosure
control marked with a legend) hold in one place.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .disclosure import SYMBOL

IDENTIFIER_COLUMNS = frozenset({"enterprise_id", "inspection_id", "record", "all_faults"})


class Html:
    """Minimal rich-display object (what IPython.display.HTML does, without the import)."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def figure(fig, alt: str) -> Html:
    """A matplotlib figure as an inline PNG at twice its size in pixels (crisp on high-density screens),
    with `alt` describing what it shows; the figure is closed."""
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    dpi = 2 * float(fig.get_dpi())
    fig.savefig(buffer, format="png", dpi=dpi)
    width = int(fig.get_figwidth() * fig.get_dpi())
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Html(
        f"<img class='figure' src='data:image/png;base64,{data}' alt='{html.escape(alt, quote=True)}' "
        f"style='max-width:100%;width:{width}px'>"
    )


def table(
    frame: pd.DataFrame,
    caption: str = "",
    digits: int = 3,
    index: bool = False,
    percent: tuple[str, ...] = (),
    withheld=None,
) -> Html:
    """An escaped HTML table; identifier columns are dropped, never shown.

    Whole numbers of 10 or more print without decimals; columns in `percent` print as +1.2%.
    `withheld` (a `disclosure.Withheld`) marks cells withheld under disclosure control: they
    print as "–" and its legend goes under the table. Other missing values print as "n/a"
    (not defined, e.g. an average fine without cases), so the two are never confused.
    """
    shown = frame.drop(columns=[c for c in frame.columns if c in IDENTIFIER_COLUMNS])
    mask = _mask(withheld, shown)
    cells = shown.copy()
    for column in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[column]) and not pd.api.types.is_bool_dtype(shown[column]):
            cells[column] = [_cell(x, digits, column in percent) for x in shown[column]]
        if mask is not None and mask[column].any():
            cells[column] = cells[column].astype(object).where(~mask[column].to_numpy(), WITHHELD)
    markup = cells.to_html(index=index, escape=True, na_rep=NOT_DEFINED, border=0, classes="report-table")
    if caption:
        markup = markup.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
    legend = getattr(withheld, "legend", "") if withheld is not None else ""
    if legend:
        markup += f"<p class='disclosure'>{html.escape(legend)}</p>"
    return Html(markup)


WITHHELD = SYMBOL
NOT_DEFINED = "n/a"


def _mask(withheld, shown: pd.DataFrame) -> pd.DataFrame | None:
    mask = getattr(withheld, "mask", None)
    if mask is None:
        return None
    return mask.reindex(index=shown.index, columns=shown.columns, fill_value=False).astype(bool)


def _cell(x, digits: int, percent: bool) -> str:
    if pd.isna(x):
        return NOT_DEFINED
    if percent:
        return f"{x:+.1%}"
    if isinstance(x, (int, np.integer)):
        return str(x)
    return _number(float(x), digits)


def _number(x: float, digits: int) -> str:
    if abs(x) >= 10 and float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def text(sentence: str) -> Html:
    """A paragraph of reading for reviewers; any data-derived part is escaped here."""
    return Html(f"<p class='reading'>{html.escape(sentence)}</p>")
