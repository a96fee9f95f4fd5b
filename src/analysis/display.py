"""Safe tables for notebooks and reports: escaped, and without enterprise identifiers.

Every table a report shows goes through `table`, so the two rules of the house
(no enterprise identifiers, every string from data escaped) hold in one place.
"""

from __future__ import annotations

import html

import pandas as pd

IDENTIFIER_COLUMNS = frozenset({"enterprise_id", "inspection_id", "record", "all_faults"})


class Html:
    """Minimal rich-display object (what IPython.display.HTML does, without the import)."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def table(frame: pd.DataFrame, caption: str = "", digits: int = 3, index: bool = False, percent: tuple[str, ...] = ()) -> Html:
    """An escaped HTML table; identifier columns are dropped, never shown.

    Whole numbers of 10 or more print without decimals; columns in `percent` print as +1.2%.
    """
    shown = frame.drop(columns=[c for c in frame.columns if c in IDENTIFIER_COLUMNS])
    formatters = {c: (lambda x: "–" if pd.isna(x) else f"{x:+.1%}") for c in percent if c in shown.columns}
    markup = shown.to_html(
        index=index,
        escape=True,
        formatters=formatters,
        float_format=lambda x: _number(x, digits),
        na_rep="–",
        border=0,
        classes="report-table",
    )
    if caption:
        markup = markup.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
    return Html(markup)


def _number(x: float, digits: int) -> str:
    if abs(x) >= 10 and float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def text(sentence: str) -> Html:
    """A paragraph of reading for reviewers; any data-derived part is escaped here."""
    return Html(f"<p class='reading'>{html.escape(sentence)}</p>")
