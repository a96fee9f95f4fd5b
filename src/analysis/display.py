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


def table(frame: pd.DataFrame, caption: str = "", digits: int = 3, index: bool = False) -> Html:
    """An escaped HTML table; identifier columns are dropped, never shown."""
    shown = frame.drop(columns=[c for c in frame.columns if c in IDENTIFIER_COLUMNS])
    markup = shown.to_html(
        index=index,
        escape=True,
        float_format=lambda x: f"{x:,.{digits}f}",
        na_rep="–",
        border=0,
        classes="report-table",
    )
    if caption:
        markup = markup.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
    return Html(markup)


def text(sentence: str) -> Html:
    """A paragraph of reading for reviewers; any data-derived part is escaped here."""
    return Html(f"<p class='reading'>{html.escape(sentence)}</p>")
