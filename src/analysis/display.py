"""Safe tables for notebooks and reports: escaped, and without enterprise identifiers.

Every table a report shows goes through `table`, so the rules of the house (no
enterprise identifiers, every string from data escaped, cells withheld under disclosure
control marked with a legend) hold in one place.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import csvout, labels
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


@dataclass(frozen=True)
class FigureNote:
    """What a report needs besides the picture: a title, alt text saying what the figure shows (written
    from its data), and the data itself, offered as a CSV download beside the figure."""

    title: str
    alt: str
    data: pd.DataFrame | None = None


def figure_html(fig) -> str | None:
    """A figure carrying a `FigureNote` (`fig.report_note`) as the report shows it, else None.

    The picture is a PNG at twice the figure's pixel size (crisp on high-density screens).
    The report numbers figures ("Figure 2.1") and fills the source line when it renders the
    page; without the report, the title and data are still there.
    """
    note = getattr(fig, "report_note", None)
    if not isinstance(note, FigureNote):
        return None
    width = int(fig.get_figwidth() * fig.get_dpi())
    picture = base64.b64encode(_png(fig)).decode("ascii")
    download = ""
    if note.data is not None and len(note.data):
        csv = csvout.neutralised(note.data).to_csv(index=False)
        encoded = base64.b64encode(csv.encode("utf-8")).decode("ascii")
        download = (
            f"<a class='figure-data' download='figure.csv' href='data:text/csv;charset=utf-8;base64,{encoded}'>"
            "Data behind this figure (CSV)</a>"
        )
    return (
        f"<figure class='report-figure'><figcaption class='figure-title'>{html.escape(note.title)}</figcaption>"
        f"<img src='data:image/png;base64,{picture}' alt='{html.escape(note.alt, quote=True)}' "
        f"style='max-width:100%;width:{width}px'>"
        f"<p class='figure-source'>{download}</p></figure>"
    )


def _png(fig) -> bytes:
    """The figure as a 256-colour PNG at twice its pixel size: crisp on high-density screens and about half
    the bytes of a full-colour one (the palette figures use far fewer colours; antialiasing keeps the rest)."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=2 * float(fig.get_dpi()))
    image = Image.open(buffer).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def figure(fig) -> Html:
    """`figure_html` as a displayable object, for a section that shows a figure with other output.

    The figure is closed, so the notebook's automatic display does not show it a second time.
    """
    import matplotlib.pyplot as plt

    markup = figure_html(fig) or figure_html(_untitled(fig))
    plt.close(fig)
    return Html(markup or "")


def _untitled(fig):
    """A figure without a note still shows (as an untitled figure): a test requires every figure's note."""
    fig.report_note = FigureNote("", "A figure (no description was written for it).")
    return fig


def show_noted_figures_in_ipython() -> None:
    """In a notebook, a figure with a `FigureNote` displays as `figure_html` (title, alt text, data)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type_by_name("matplotlib.figure", "Figure", figure_html)


def estimates_table(frame: pd.DataFrame, caption: str = "") -> Html:
    """Rows of estimates.csv as a reviewer reads them (`estimates_rows`), as a table."""
    return table(estimates_rows(frame), caption=caption)


def estimates_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of estimates.csv in words: outcome, effect and method in words, each number in its outcome's
    unit (percentage points, yuan, counts; an elasticity to three decimals), the 95% interval, the
    observations with thousands separators. Every cell is text, ready for `table`."""
    rows = [
        {
            "Outcome": labels.first_upper(labels.words(r.outcome)),
            "Effect": labels.words(r.estimand),
            "Method": labels.words(r.method),
            "Estimate": _in_unit(r.outcome, r.estimate, signed=True, estimand=r.estimand),
            "Standard error": _in_unit(r.outcome, r.std_error, signed=False, estimand=r.estimand),
            "95% interval": _interval(r.outcome, r.ci_low, r.ci_high, estimand=r.estimand),
            "Observations": labels.count(r.n_obs) if pd.notna(r.n_obs) else NOT_DEFINED,
        }
        for r in frame.itertuples()
    ]
    return pd.DataFrame(rows, columns=list(ESTIMATE_HEADERS))


ESTIMATE_HEADERS = ("Outcome", "Effect", "Method", "Estimate", "Standard error", "95% interval", "Observations")
UNITLESS_ESTIMANDS = frozenset({"elasticity"})  # a ratio of percentage changes: no unit of the outcome


def _in_unit(name: str, x: float, signed: bool, estimand: str = "") -> str:
    if estimand in UNITLESS_ESTIMANDS:
        return labels.coefficient(x)
    try:
        return labels.effect(name, x, signed=signed)
    except KeyError:  # an outcome without a unit in the label table: the number as it is
        return NOT_DEFINED if pd.isna(x) else f"{x:{'+' if signed else ''}.4g}"


def _interval(name: str, low: float, high: float, estimand: str = "") -> str:
    if estimand in UNITLESS_ESTIMANDS:
        return f"{labels.coefficient(low)} to {labels.coefficient(high)}"
    try:
        return labels.interval(name, low, high)
    except KeyError:
        return f"{_in_unit(name, low, True)} to {_in_unit(name, high, True)}"


def relabelled(withheld, columns: dict[str, str]):
    """`withheld` (a `disclosure.Withheld`, or None) for a table whose columns were renamed by `columns`
    (code name -> header): the same cells marked and the same legend."""
    mask = getattr(withheld, "mask", None)
    if mask is None:
        return withheld
    return dataclasses.replace(withheld, mask=mask.rename(columns=columns))


WORDED_COLUMNS = frozenset({"study", "outcome", "estimand", "method", "covariate", "term"})  # code names -> words


def _header(column) -> str:
    """A column header in words, capitalised: the label table's, else the name with spaces."""
    if not isinstance(column, str):
        return column
    words = labels.COLUMNS.get(column) or column.replace("_", " ")
    return words if words.startswith("p-") else words[:1].upper() + words[1:]  # "p-value" keeps its case


def table(
    frame: pd.DataFrame,
    caption: str = "",
    digits: int = 3,
    index: bool = False,
    percent: tuple[str, ...] = (),
    withheld=None,
) -> Html:
    """An escaped HTML table; identifier columns are dropped, never shown.

    Integers print with thousands separators (420,219), whole numbers of 10 or more without
    decimals, true/false as yes/no; columns in `percent` print as +1.2%.
    `withheld` (a `disclosure.Withheld`) marks cells withheld under disclosure control: they
    print as "–" and its legend goes under the table. Other missing values print as "n/a"
    (not defined, e.g. an average fine without cases), so the two are never confused.
    """
    shown = frame.drop(columns=[c for c in frame.columns if c in IDENTIFIER_COLUMNS])
    shown = shown.astype({c: object for c in shown.columns if pd.api.types.is_bool_dtype(shown[c])})
    mask = _mask(withheld, shown)
    cells = shown.copy()
    for column in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[column]):
            cells[column] = [_cell(x, digits, column in percent) for x in shown[column]]
        elif shown[column].map(lambda x: isinstance(x, (bool, np.bool_))).any():
            cells[column] = [_yes_no(x) for x in shown[column]]
        elif column in WORDED_COLUMNS:
            cells[column] = [labels.words(x) if isinstance(x, str) else x for x in shown[column]]
        if mask is not None and mask[column].any():
            cells[column] = cells[column].astype(object).where(~mask[column].to_numpy(), WITHHELD)
    cells = cells.rename(columns=_header)
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
        return f"{x:,}"
    return _number(float(x), digits)


def _yes_no(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    return NOT_DEFINED if pd.isna(x) else str(x)


def _number(x: float, digits: int) -> str:
    if abs(x) >= 10 and float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def text(sentence: str) -> Html:
    """A paragraph of reading for reviewers; any data-derived part is escaped here."""
    return Html(f"<p class='reading'>{html.escape(sentence)}</p>")


show_noted_figures_in_ipython()
