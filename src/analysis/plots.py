"""Figures for notebooks and reports. Every function returns a Figure; none saves one.

Labels come from data (province, industry and covariate names), so every text of
every figure has mathtext off: a name such as ``$\\frac{$`` is drawn as written instead
of being parsed as TeX (which fails, or renders something else). Data-derived tick
labels are set with their positions (`set_*ticks(positions, labels)`), so no tick
label is created later, at draw time, with matplotlib's default. Figures that show
statistics per group take `withheld`, the legend of what disclosure control withheld
(`disclosure.Withheld.legend`), and print it under the figure.

Every figure says what it shows: `note` attaches its title (with the unit), alt text written
from the data, and the data plotted (a tidy frame, without what disclosure control withheld),
which `display.figure_html` shows with it. Colours are the Okabe-Ito palette, safe for
colour-blind readers, and series differ also by marker, line style or hatch. Differences in
shares are drawn in percentage points, shares in %.

Every figure is drawn in one style (`STYLE`, applied by `_figure_function`) at one size: `WIDTH`
inches at `DPI` dots per inch, so a report shows it at `WIDTH * DPI` pixels (1:1 on a desktop
page, whose column is about 900 px; scaled down to about 360 px on a phone), with text of
`SMALL` points or more (14 px or more on a desktop page). Figures are laid out by matplotlib's
constrained layout, and axis labels and titles too long for their axes are wrapped onto more
lines (`_fit_texts`), so no text is cut off at the figure's edge.
"""

from __future__ import annotations

import contextlib
import functools
import textwrap
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

from . import labels as wording
from .disclosure import SYMBOL
from .display import FigureNote, show_noted_figures_in_ipython

NOTICE_PROVINCES = ("Beijing", "Zhejiang", "Sichuan", "Jiangsu", "Shandong", "Inner Mongolia", "Hunan", "Guangdong")
WIDTH = 7.0  # inches: 700 px wide in a report, the page's column less a margin
DPI = 100  # dots per inch of the figure, hence pixels per inch in a report (`display.figure_html`)
TEXT, SMALL = 11, 10  # points: axis labels and titles; tick labels, legends and notes

STYLE: dict[RcKeyType, Any] = {  # rcParams while a figure function runs (`_styled`)
    "font.size": SMALL,
    "axes.labelsize": TEXT,
    "axes.titlesize": TEXT,
    "figure.titlesize": TEXT,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL,
    "legend.title_fontsize": SMALL,
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
    "text.parse_math": False,
}

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PURPLE, SKY, YELLOW, BLACK = "#CC79A7", "#56B4E9", "#F0E442", "#000000"
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, YELLOW)  # yellow last: faint on white
GREY = "0.6"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "--", "oo")  # sparse: dense hatching blurs at this size
ALT_LIMIT = 300  # characters of alt text: one or two sentences


@contextlib.contextmanager
def _styled():
    """`STYLE` while a figure is drawn, then the rcParams as they were.

    Not `plt.rc_context`: leaving it restores every rcParam, including those the inline backend
    set when pyplot first resolved it inside the context (`interactive`), and later figures stop
    showing in notebooks. Only the keys of `STYLE` are set and restored here.
    """
    saved = {key: matplotlib.rcParams[key] for key in STYLE}
    matplotlib.rcParams.update(STYLE)
    try:
        yield
    finally:
        matplotlib.rcParams.update(saved)


def _figure_function(draw):
    """A figure function: drawn in the house style (`STYLE`), every text literal (mathtext off).

    Texts are also made literal one by one, by `_finish` and once more here for anything added
    after it: a tick label created at draw time, after `STYLE` is left, copies an existing one.
    """

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with _styled():
            return _literal(draw(*args, **kwargs))

    return wrapper


def _literal(fig: plt.Figure) -> plt.Figure:
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig


def _figure(height: float, nrows: int = 1, ncols: int = 1, width: float = WIDTH, **kwargs):
    """A figure of `width` x `height` inches at `DPI` with its axes, laid out by constrained layout."""
    return plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, layout="constrained", squeeze=False, **kwargs)


def note(fig: plt.Figure, title: str, alt: str, data: pd.DataFrame | None = None) -> plt.Figure:
    """Attach what a report shows with the figure: its title, alt text (what it shows, in words written
    from the data) and the data behind it (a CSV download). See `display.figure_html`."""
    fig.report_note = FigureNote(title, alt, data)  # type: ignore[attr-defined]
    # Again here, not only when `display` is imported: matplotlib-inline drops every Figure formatter
    # when pyplot first resolves its backend (at the first figure, after that import).
    show_noted_figures_in_ipython()
    return fig


def _finish(fig: plt.Figure, withheld: str = "") -> plt.Figure:
    """Lay the figure out, with the disclosure legend under it when something was withheld; wrap
    any axis label or title longer than its axes (`_fit_texts`)."""
    _literal(fig)
    if withheld:
        width = fig.get_figwidth()
        lines = textwrap.wrap(withheld, max(20, int(width * 72 / (0.55 * SMALL))))  # ~0.55 em a character
        height = fig.get_figheight()
        room = (len(lines) * 1.3 * SMALL / 72 + 0.1) / height  # a share of the figure's height
        fig.text(0.01, 0.04 / height, "\n".join(lines), fontsize=SMALL, color="0.3", ha="left", va="bottom")
        engine = fig.get_layout_engine()
        if isinstance(engine, ConstrainedLayoutEngine):  # every figure of `_figure`
            engine.set(rect=(0, room, 1, 1 - room))
    _fit_texts(fig)
    return fig


def _fit_texts(fig: plt.Figure) -> None:
    """Wrap each axis label and title onto as many lines as it needs to fit its axes (a y label
    its height, others its width), once the layout has placed the axes."""
    fig.draw_without_rendering()
    for ax in fig.axes:
        box = ax.get_window_extent()
        for text, room, upright in (
            (ax.yaxis.label, box.height, True),
            (ax.xaxis.label, box.width, False),
            (ax.title, box.width, False),
        ):
            _wrap_to(text, room, upright)
    for text in fig.texts:
        _wrap_to(text, 0.98 * fig.bbox.width, False)


def _wrap_to(text: Text, room: float, upright: bool) -> None:
    """Wrap `text` so that its longer side (its height when `upright`) is at most `room` pixels."""
    words = " ".join(text.get_text().split())
    if not words or not text.get_visible():
        return
    extent = text.get_window_extent()
    if (extent.height if upright else extent.width) <= room:
        return
    text.set_text(words)  # one line, to measure its length per character
    extent = text.get_window_extent()
    length = extent.height if upright else extent.width
    for share in (0.92, 0.8, 0.65, 0.5):
        text.set_text(textwrap.fill(words, max(8, int(len(words) * share * room / length))))
        extent = text.get_window_extent()
        if (extent.height if upright else extent.width) <= room:
            return


# --- words, units and numbers for titles, axes and alt text ----------------------------------------

EFFECT_UNITS = {"share": "percentage points", "yuan": "yuan", "rate_count": "per inspection", "officers": "officers"}
LEVEL_UNITS = {"share": "%", "yuan": "yuan", "officers": "officers"}
INTERVAL_LOW, INTERVAL_HIGH = "95% interval low", "95% interval high"


def _quantity(name) -> str | None:
    """The code name of the quantity `name` stands for (a code name, one with spaces, its words, or
    "effect on the ..." any of those), else None: then numbers have no unit."""
    text = str(name).strip()
    for prefix in ("effect on ", "the "):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    for candidate in (text, text.replace(" ", "_")):
        if candidate in wording.QUANTITIES:
            return candidate
    return next((code for code, q in wording.QUANTITIES.items() if q.words == text.lower()), None)


def _words(name) -> str:
    """A code name in words (`labels.words`); a name from data, as given."""
    return wording.words(name) if isinstance(name, str) else str(name)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scale(code: str | None) -> float:
    """Shares are drawn in % (levels) or percentage points (differences)."""
    return 100.0 if code is not None and wording.unit(code) == "share" else 1.0


def _unit(code: str | None, units: dict[str, str]) -> str:
    return units.get(wording.unit(code), "") if code is not None else ""


def _with_unit(text: str, code: str | None, units: dict[str, str]) -> str:
    unit = _unit(code, units)
    return f"{text} ({unit})" if unit else text


def _number(x, signed: bool = False) -> str:
    """Three significant digits, with a sign when asked (no unit known)."""
    if x is None or pd.isna(x):
        return "n/a"
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    return sign + wording.significant(abs(float(x)))


def _effect(code: str | None, x, signed: bool = True) -> str:
    return wording.effect(code, float(x), signed) if code is not None else _number(x, signed)


def _level(code: str | None, x) -> str:
    return wording.level(code, float(x)) if code is not None else _number(x)


def _plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy", "uy")):
        return word[:-1] + "ies"
    return word if word.endswith("s") else word + "s"


def _count(n: int, one: str) -> str:
    return f"{n:,} {one if n == 1 else _plural(one)}"


def _of(part: int, whole: int, one: str) -> str:
    """A part of a whole in words: "3 of 4 outcomes", "all 4 outcomes", "none of 4 outcomes", "the one outcome"."""
    if whole == 1:
        return f"the one {one}" if part else f"not the one {one}"
    if part == whole:
        return f"all {_count(whole, one)}"
    return f"{part if part else 'none'} of {_count(whole, one)}"


def _alt(*sentences: str) -> str:
    """The sentences that fit in `ALT_LIMIT` characters, in order of importance (the first always)."""
    shown = ""
    for sentence in filter(None, sentences):
        joined = f"{shown} {sentence}".strip()
        if len(joined) > ALT_LIMIT and shown:
            break
        shown = joined
    if len(shown) > ALT_LIMIT:
        shown = shown[: ALT_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return shown


def _nothing(ax, message: str) -> None:
    """An empty panel that says so."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.3")
    ax.set_xticks([])
    ax.set_yticks([])


def _finite(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame` with its `columns` as floats, without rows where any of them is missing."""
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out.replace([np.inf, -np.inf], np.nan).dropna(subset=columns)


def _interval(values: pd.DataFrame, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates and the distances to their interval's ends (never negative), scaled."""
    estimate = scale * values["estimate"].to_numpy(dtype=float)
    low = scale * values["ci_low"].to_numpy(dtype=float)
    high = scale * values["ci_high"].to_numpy(dtype=float)
    return estimate, np.clip(estimate - low, 0, None), np.clip(high - estimate, 0, None)


def _step(n: int) -> int:
    return max(1, n // 12)


# --- overview: coverage, trends, staffing, the notice ------------------------------------------


@_figure_function
def coverage_heatmap(
    counts: pd.DataFrame, title: str = "Inspections per province and quarter", withheld: str = ""
) -> plt.Figure:
    """Counts per province and quarter; missing cells (withheld under disclosure control) grey, marked "–".

    `title` is the report's title of the figure (its caption), not drawn on it."""
    fig, axes = _figure(0.3 * len(counts) + 1.3)
    ax = axes[0, 0]
    rows = str(counts.index.name or "province")
    if counts.size:
        cmap = plt.get_cmap("viridis").with_extremes(bad="0.88")  # viridis: ordered and colour-blind safe
        image = ax.imshow(  # cells as flat blocks ("nearest"): sharp, and light as a PNG
            np.ma.masked_invalid(counts.to_numpy(dtype=float)), aspect="auto", cmap=cmap, interpolation="nearest"
        )
        ax.set_yticks(range(len(counts)), [str(p) for p in counts.index])
        step = _step(len(counts.columns))
        ax.set_xticks(
            range(0, len(counts.columns), step), [str(q) for q in counts.columns[::step]], rotation=45, ha="right"
        )
        fig.colorbar(image, ax=ax, label="inspections (number)")
        for row, column in zip(*np.nonzero(counts.isna().to_numpy()), strict=False):
            ax.text(column, row, SYMBOL, ha="center", va="center", color="0.2")
        ax.set_xlabel("quarter")
        ax.set_ylabel(_words(rows))
    else:
        _nothing(ax, "no inspections to show")
    data = pd.DataFrame(
        [(str(r), str(q), float(v)) for r, line in counts.iterrows() for q, v in line.items() if pd.notna(v)],
        columns=[rows, "quarter", "inspections"],
    )
    missing = int(counts.isna().to_numpy().sum())
    withheld_words = (
        f"{_count(missing, 'cell')} withheld under disclosure control (grey, marked {SYMBOL})." if missing else ""
    )
    if data.empty:
        alt = _alt("No inspection count to show.", withheld_words)
    else:
        low, high = data.loc[data["inspections"].idxmin()], data.loc[data["inspections"].idxmax()]
        quarters = [str(q) for q in counts.columns]
        alt = _alt(
            f"Inspections in {_count(len(counts), rows)} over {_count(len(quarters), 'quarter')} ({quarters[0]} to "
            f"{quarters[-1]}) range from {low['inspections']:,.0f} ({low[rows]}, {low['quarter']}) to "
            f"{high['inspections']:,.0f} ({high[rows]}, {high['quarter']}).",
            withheld_words,
        )
    return note(_finish(fig, withheld), title, alt, data)


@_figure_function
def metric_trends(
    trend: pd.DataFrame, metrics: list[str], group: str = "province", highlight=NOTICE_PROVINCES, withheld: str = ""
) -> plt.Figure:
    """One panel per metric: each highlighted group's quarterly series (colour, marker and line style
    of its own), others in grey. Missing values (withheld under disclosure control, or not defined) leave gaps.
    The legend is above the panels, clear of the lines."""
    panels = max(1, len(metrics))
    fig, axes = _figure(2.1 * panels + 0.9, panels, 1, sharex=True)
    periods = sorted(trend["period"].unique())
    position = {p: i for i, p in enumerate(periods)}
    chosen = [highlight] if isinstance(highlight, str) else list(highlight)
    present = set(trend[group])
    style = {name: i for i, name in enumerate(n for n in chosen if n in present)}
    group_words = _words(group)
    parts = []
    for ax, metric in zip(axes[:, 0], metrics, strict=False):
        code = _quantity(metric)
        scale = _scale(code)
        for name, rows in trend.groupby(group, observed=True, sort=True):
            rows = rows.sort_values("period")
            x, y = rows["period"].map(position), scale * pd.to_numeric(rows[metric], errors="coerce")
            if name in style:
                i = style[name]
                ax.plot(
                    x,
                    y,
                    lw=1.6,
                    color=PALETTE[i % len(PALETTE)],
                    ls=LINESTYLES[i % len(LINESTYLES)],
                    marker=MARKERS[i % len(MARKERS)],
                    markersize=4,
                    label=str(name),
                    zorder=2,
                )
            else:
                ax.plot(x, y, lw=0.8, color="0.8", zorder=1)
            parts.append(
                pd.DataFrame(
                    {
                        group_words: str(name),
                        "quarter": rows["period"].astype(str).to_numpy(),
                        "measure": _words(metric),
                        "value": y.to_numpy(dtype=float),
                        "unit": _unit(code, LEVEL_UNITS),
                    }
                )
            )
        ax.set_ylabel(_with_unit(_words(metric), code, LEVEL_UNITS))
        ax.grid(alpha=0.3)
    step = _step(len(periods))
    axes[-1, 0].set_xticks(range(0, len(periods), step), [str(p) for p in periods[::step]], rotation=45, ha="right")
    axes[-1, 0].set_xlabel("quarter")
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        if len(present) > len(style):
            handles.append(Line2D([], [], color="0.8", lw=0.8))
            names.append(f"other {_plural(group_words)}")
        fig.legend(handles, names, ncol=min(4, len(handles)), loc="outside upper center")
    if not metrics or not len(trend):
        _nothing(axes[0, 0], "no values to show")
    columns = [group_words, "quarter", "measure", "value", "unit"]
    data = pd.concat(parts, ignore_index=True).dropna(subset=["value"]) if parts else pd.DataFrame(columns=columns)
    named = [_words(m) for m in metrics]
    measured = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else "".join(named)
    title = f"{_first_upper(measured or 'values')} by {group_words} and quarter"
    return note(_finish(fig, withheld), title, _trends_alt(trend, metrics, group, periods), data)


def _trends_alt(trend: pd.DataFrame, metrics: list[str], group: str, periods: list) -> str:
    ranges: dict[str, list[str]] = {}  # the latest quarter with values -> each metric's range in it
    for metric in metrics:
        code = _quantity(metric)
        values = _finite(trend[[group, "period", metric]], [metric])
        if values.empty:
            continue
        latest = values["period"].max()
        at = values[values["period"] == latest]
        low, high = at.loc[at[metric].idxmin()], at.loc[at[metric].idxmax()]
        ranges.setdefault(str(latest), []).append(
            f"{_words(metric)} {_level(code, high[metric])} ({high[group]})"
            if len(at) == 1
            else f"{_words(metric)} from {_level(code, low[metric])} ({low[group]}) to "
            f"{_level(code, high[metric])} ({high[group]})"
        )
    if not ranges:
        return "No values to show: every one is withheld under disclosure control or not defined."
    span = f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else str(periods[0])
    latest = [f"In {quarter}: {'; '.join(parts)}." for quarter, parts in ranges.items()]
    return _alt(f"{_count(trend[group].nunique(), _words(group))}, {span}.", *latest)


@_figure_function
def staffing_growth(officers: pd.DataFrame, highlight: str = "Hunan") -> plt.Figure:
    """Officers by province over quarters, indexed to each province's first recorded quarter = 100."""
    fig, axes = _figure(3.6)
    ax = axes[0, 0]
    wide = officers.pivot(index="period", columns="province", values="officers").sort_index().astype(float)
    first = wide.bfill().iloc[0] if len(wide) else pd.Series(np.nan, index=wide.columns, dtype=float)
    indexed = (100 * wide / first).replace([np.inf, -np.inf], np.nan)
    x = np.arange(len(indexed))
    for province in indexed.columns:
        main = province == highlight
        ax.plot(
            x,
            indexed[province],
            color=VERMILLION if main else "0.75",
            lw=2.2 if main else 0.9,
            marker="o" if main else None,
            markersize=3,
            label=str(province) if main else None,
            zorder=3 if main else 1,
        )
    step = _step(len(indexed))
    ax.set_xticks(x[::step], [str(p) for p in indexed.index[::step]], rotation=45, ha="right")
    ax.set_xlabel("quarter")
    ax.set_ylabel("officers (index, first quarter = 100)")
    ax.axhline(100, color="0.5", lw=0.6)
    handles, names = ax.get_legend_handles_labels()
    if len(indexed.columns) > len(handles):
        handles.append(Line2D([], [], color="0.75", lw=0.9))
        names.append("other provinces")
    if handles:
        ax.legend(handles, names)
    ax.grid(alpha=0.3)
    index = "index (first quarter = 100)"
    data = (
        indexed.rename_axis(index="quarter", columns=None)
        .reset_index()
        .melt(id_vars="quarter", var_name="province", value_name=index)
        .merge(
            officers[["province", "period", "officers"]].rename(columns={"period": "quarter"}),
            on=["province", "quarter"],
            how="left",
        )
        .dropna(subset=[index])
        .astype({"quarter": str, "province": str})
        .sort_values(["province", "quarter"], kind="stable")
        .reset_index(drop=True)[["province", "quarter", "officers", index]]
    )
    if data.empty:
        _nothing(ax, "no officers total to show")
    title = "Officers by province, indexed to each province's first quarter (= 100)"
    return note(_finish(fig), title, _staffing_alt(indexed, highlight), data)


def _staffing_alt(indexed: pd.DataFrame, highlight: str) -> str:
    last = indexed.ffill().iloc[-1].dropna() if len(indexed) else pd.Series(dtype=float)
    if last.empty:
        return "No province has an officers total to index."
    span = f"From {indexed.index[0]} to {indexed.index[-1]}, " if len(indexed) > 1 else ""
    top, bottom = last.idxmax(), last.idxmin()
    if last.max() - last.min() < 0.5:  # the same when rounded
        who = f"{top}'s" if len(last) == 1 else f"all {_count(len(last), 'province')}'"
        return _first_upper(f"{span}{who} officers end at {last[top]:.0f} (first quarter = 100).")
    first = (
        f"{span}{top}'s officers grow most, to {last[top]:.0f} (first quarter = 100); {bottom}'s least, "
        f"to {last[bottom]:.0f}."
    )
    own = f"{highlight}: {last[highlight]:.0f}." if highlight in last.index and highlight not in (top, bottom) else ""
    return _alt(_first_upper(first), own)


@_figure_function
def notice_vs_data(comparison: pd.DataFrame, withheld: str = "", period: str = "2022H1") -> plt.Figure:
    """Paired bars: the notice's year-on-year ratios (grey, hatched) beside the data's (blue); a withheld
    ratio has no bar, only "–"."""
    fig, axes = _figure(0.5 * len(comparison) + 1.3)
    ax = axes[0, 0]
    y = np.arange(len(comparison))[::-1]  # the first figure on top
    notice, data = (pd.to_numeric(comparison[c], errors="coerce").to_numpy(dtype=float) for c in ("notice", "data"))
    names = [_words(m) for m in comparison["metric"]]
    ax.barh(y + 0.2, notice, height=0.4, label="the notice", color="0.8", edgecolor="0.3", hatch="//")
    ax.barh(y - 0.2, data, height=0.4, label="the data", color=BLUE, edgecolor=BLUE)
    for position in y[np.isnan(data)]:
        ax.text(0, position - 0.2, f" {SYMBOL}", va="center", ha="left", color="0.2")
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(comparison) - 0.4)  # room for both bars of every figure, withheld ones too
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel(f"{period} as a multiple of a year earlier (1 = no change)")
    if len(comparison):
        fig.legend(ncol=2, loc="outside upper center")
    else:
        _nothing(ax, "no figures to compare")
    frame = pd.DataFrame({"figure": names, "notice": notice, "data": data})
    tidy = (
        frame.melt(id_vars="figure", var_name="source", value_name="ratio to a year earlier")
        .dropna(subset=["ratio to a year earlier"])
        .reset_index(drop=True)
    )
    title = f"Year-on-year ratios in the notice and in the data, {period} over a year earlier"
    return note(_finish(fig, withheld), title, _notice_alt(frame, period), tidy)


def _notice_alt(frame: pd.DataFrame, period: str) -> str:
    both = frame.dropna(subset=["notice", "data"])
    missing = int(frame["data"].isna().sum())
    left_out = (
        f"{_count(missing, 'ratio')} of the data withheld under disclosure control or not defined." if missing else ""
    )
    if both.empty:
        return _alt("No ratio of the data to compare with the notice's.", left_out)
    gap = (both["data"] / both["notice"] - 1).abs()
    widest = both.loc[gap.idxmax()]
    low, high = both.loc[both["data"].idxmin()], both.loc[both["data"].idxmax()]
    first = (
        f"For {_count(len(both), 'figure')}, the data's ratios of {period} to a year earlier run from "
        f"{low['data']:.2f} ({low['figure']}) to {high['data']:.2f} ({high['figure']})"
    )
    if gap.max() < 0.005:
        first += f" and match the notice's within {gap.max():.1%}."
    else:
        first += (
            f"; the widest gap is in {widest['figure']}: {widest['notice']:.2f} in the notice, "
            f"{widest['data']:.2f} in the data."
        )
    return _alt(first, left_out)


# --- study 1: unannounced inspections ----------------------------------------------------------

TREATMENTS = {
    "surprise": "an unannounced inspection",
    "cross_region": "cross-region enforcement",
    "team": "more officers",
}
PREFERRED_METHODS = ("aipw", "ipw", "regression", "callaway_santanna", "twfe")


def _raw(method: str) -> bool:
    return method == "naive"


@_figure_function
def effect_forest(estimates: pd.DataFrame, truth: dict | None = None) -> plt.Figure:
    """Each outcome's estimates by method with 95% intervals (one panel per outcome: units differ).

    Raw differences are grey hollow circles, adjusted estimates blue squares, the planted truth
    (when known) a dashed vermillion line; differences in shares are in percentage points. Panels
    run in rows of up to three (two by two for four outcomes), so each is wide enough to read."""
    outcomes = list(dict.fromkeys(estimates["outcome"]))
    keys = list(dict.fromkeys(zip(estimates["method"], estimates["estimand"], strict=True)))
    several = len({estimand for _, estimand in keys}) > 1
    place = {key: len(keys) - 1 - i for i, key in enumerate(keys)}
    panels = max(1, len(outcomes))
    ncols = 2 if panels == 4 else min(panels, 3)
    nrows = -(-panels // ncols)
    fig, axes = _figure(nrows * (0.28 * len(keys) + 1.4) + 0.3, nrows, ncols, sharey=True)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    rows, truth_drawn = [], False
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        code = _quantity(outcome)
        scale = _scale(code)
        for row in estimates[estimates["outcome"] == outcome].itertuples():
            raw = _raw(row.method)
            frame = pd.DataFrame({"estimate": [row.estimate], "ci_low": [row.ci_low], "ci_high": [row.ci_high]})
            estimate, below, above = _interval(frame, scale)
            ax.errorbar(
                estimate,
                [place[(row.method, row.estimand)]],
                xerr=[below, above],
                fmt="o" if raw else "s",
                color="0.45" if raw else BLUE,
                markerfacecolor="white" if raw else BLUE,
                markersize=5,
                capsize=3,
            )
            rows.append(
                {
                    "outcome": _words(outcome),
                    "method": _words(row.method),
                    "estimand": _words(row.estimand),
                    "estimate": estimate[0],
                    INTERVAL_LOW: scale * float(row.ci_low),
                    INTERVAL_HIGH: scale * float(row.ci_high),
                    "unit": _unit(code, EFFECT_UNITS),
                    **({"planted truth": scale * truth[outcome]} if truth and outcome in truth else {}),
                }
            )
        if truth and outcome in truth:
            ax.axvline(scale * truth[outcome], color=VERMILLION, ls="--", lw=1.2)
            truth_drawn = True
        ax.set_title(_words(outcome))
        ax.set_xlabel(_unit(code, EFFECT_UNITS) or "effect")
        ax.axvline(0, color="k", lw=0.6)
    names = [_words(m) if not several else f"{_words(m)}, {_words(e)}" for m, e in keys]
    axes[0, 0].set_yticks(list(place.values()), names)
    if truth_drawn:
        truth_line = Line2D([], [], color=VERMILLION, ls="--", lw=1.2, label="planted truth")
        fig.legend(handles=[truth_line], loc="outside upper right")
    if not outcomes:
        _nothing(axes[0, 0], "no estimates to show")
    data = pd.DataFrame(rows)
    return note(_finish(fig), _forest_title(estimates, keys), _forest_alt(estimates, outcomes, truth), data)


def _forest_title(estimates: pd.DataFrame, keys: list) -> str:
    studies = set(estimates["study"]) if "study" in estimates else set()
    treatment = TREATMENTS.get(next(iter(studies)), "") if len(studies) == 1 else ""
    estimands = {estimand for _, estimand in keys}
    which = f" ({_words(next(iter(estimands)))})" if len(estimands) == 1 and estimands != {"ATE"} else ""
    effect = f"Effect of {treatment}" if treatment else "Estimated effect"
    return f"{effect} on each outcome by method{which}, with 95% intervals"


def _forest_alt(estimates: pd.DataFrame, outcomes: list, truth: dict | None) -> str:
    shown = _finite(estimates, ["estimate"])
    if shown.empty:
        return "No estimate to show."
    methods = list(dict.fromkeys(shown["method"]))
    chosen = next((m for m in PREFERRED_METHODS if m in methods), next((m for m in methods if not _raw(m)), methods[0]))
    picked = shown[shown["method"] == chosen].drop_duplicates("outcome").set_index("outcome")
    parts = [f"{_words(o)} {_effect(_quantity(o), picked.at[o, 'estimate'])}" for o in outcomes if o in picked.index]
    sentences = [f"{_first_upper(_words(chosen))} estimates: {'; '.join(parts)}."]
    raw = shown[shown["method"].map(_raw)].drop_duplicates("outcome").set_index("outcome")
    both = [o for o in outcomes if o in picked.index and o in raw.index]
    if both and not _raw(chosen):
        larger = sum(abs(raw.at[o, "estimate"]) > abs(picked.at[o, "estimate"]) for o in both)
        sentences.append(f"The raw difference is larger for {_of(larger, len(both), 'outcome')}.")
    if truth:
        known = [o for o in outcomes if o in picked.index and o in truth]
        inside = sum(picked.at[o, "ci_low"] <= truth[o] <= picked.at[o, "ci_high"] for o in known)
        if known:
            sentences.append(f"The planted truth lies inside the interval for {_of(inside, len(known), 'outcome')}.")
    return _alt(*sentences)


@_figure_function
def propensity_overlap(
    scores: np.ndarray, treated: np.ndarray, bounds=(0.05, 0.95), weights: np.ndarray | None = None
) -> plt.Figure:
    """The distribution of propensity scores of each kind of visit (share per unit of score), with the
    trimming bounds: announced visits grey and hatched, unannounced ones a blue outline. `weights`:
    the inspections each score stands for, when the scores are of cells of inspections."""
    scores = np.asarray(scores, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    weights = np.ones(len(scores), dtype=np.int64) if weights is None else np.asarray(weights)
    finite = np.isfinite(scores)
    fig, axes = _figure(3.2)
    ax = axes[0, 0]
    edges = np.linspace(0, 1, 51)
    width = np.diff(edges)
    parts = []
    for kind, chosen in (("announced", ~treated & finite), ("unannounced", treated & finite)):
        counts, _ = np.histogram(scores[chosen], bins=edges, weights=weights[chosen])
        if not counts.sum():
            continue
        density = counts / (counts.sum() * width)
        if kind == "announced":
            ax.stairs(density, edges, fill=True, color="0.82", edgecolor="0.35", hatch="//", label=kind)
        else:
            ax.stairs(density, edges, color=BLUE, lw=1.8, label=kind)
        parts.append(
            pd.DataFrame({"score from": edges[:-1], "score to": edges[1:], "kind of visit": kind, "density": density})
        )
    for i, bound in enumerate(bounds):
        ax.axvline(bound, color=VERMILLION, lw=1.0, ls=":", label=None if i else "trimming bounds")
    ax.set_xlabel("propensity score (probability of an unannounced visit)")
    ax.set_ylabel("density (share of visits per unit of score)")
    ax.legend()
    if not finite.any():
        _nothing(ax, "no propensity scores to show")
    columns = ["score from", "score to", "kind of visit", "density"]
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    title = "Propensity scores of unannounced and announced inspections (probability of an unannounced visit)"
    alt = _overlap_alt(scores[finite], treated[finite], weights[finite], bounds)
    return note(_finish(fig), title, alt, data)


def _overlap_alt(scores: np.ndarray, treated: np.ndarray, weights: np.ndarray, bounds) -> str:
    if not len(scores):
        return "No propensity score to show."
    parts = [
        f"median {_median(scores[chosen], weights[chosen]):.2f} for the {int(weights[chosen].sum()):,} {kind}"
        for kind, chosen in (("unannounced", treated), ("announced", ~treated))
        if chosen.any()
    ]
    low, high = bounds
    outside = int(weights[(scores < low) | (scores > high)].sum())
    total = int(weights.sum())
    share = outside / total
    where = f"outside the trimming bounds {low:g} to {high:g}"
    return _alt(
        f"Propensity scores of {total:,} inspections: {', '.join(parts)}.",
        f"{outside:,} ({share:.1%}) lie {where}." if share >= 0.001 else f"{outside or 'None'} lie {where}.",
    )


def _median(values: np.ndarray, counts: np.ndarray) -> float:
    """The median of `values` each repeated `counts` times (whole numbers), as `np.median` of the repeats."""
    order = np.argsort(values, kind="stable")
    values, ends = values[order], np.cumsum(counts[order])  # repeats of the k-th value end at ends[k]
    total = int(ends[-1])
    middle = [(total - 1) // 2, total // 2]  # the one or two middle positions of the repeats
    return float(np.mean(values[np.searchsorted(ends, middle, side="right")]))


COVARIATE_COLUMNS = ("risk_level", "industry", "enterprise_size", "campaign_active", "cross_region_active", "province")


def _covariate(name) -> str:
    """A balance row's name in words: "risk grade: 4" for the dummy risk_level_4 (the level as in the data)."""
    text = str(name)
    for column in sorted(COVARIATE_COLUMNS, key=len, reverse=True):
        if text == column:
            return _words(column)
        if text.startswith(column + "_"):
            return f"{_words(column)}: {wording.category(text[len(column) + 1 :])}"
    return _words(text)


@_figure_function
def love_plot(balance: pd.DataFrame, bar: float = 0.1) -> plt.Figure:
    """Each adjustment variable's absolute standardized difference before (grey hollow circles) and after
    (blue squares) weighting, with the usual threshold of balance (dashed)."""
    rows = balance.reindex(balance["smd_before"].abs().sort_values(kind="stable").index)
    before, after = rows["smd_before"].abs().to_numpy(dtype=float), rows["smd_after"].abs().to_numpy(dtype=float)
    names = [_covariate(c) for c in rows["covariate"]]
    fig, axes = _figure(0.26 * len(rows) + 1.5)
    ax = axes[0, 0]
    y = np.arange(len(rows))
    ax.scatter(before, y, marker="o", facecolors="none", edgecolors="0.4", label="before weighting")
    ax.scatter(after, y, marker="s", s=18, color=BLUE, label="after weighting")
    ax.axvline(bar, color=VERMILLION, ls="--", lw=0.8, label=f"threshold {bar:g}")
    ax.set_yticks(y, names)
    ax.set_xlabel("absolute standardized difference in means (0 = balanced)")
    ax.set_ylabel("adjustment variable")
    fig.legend(ncol=3, loc="outside upper center")
    if not len(rows):
        _nothing(ax, "no adjustment variables to show")
    data = pd.DataFrame({"adjustment variable": names, "before weighting": before, "after weighting": after})
    title = "Balance of the adjustment variables before and after weighting (absolute standardized difference)"
    return note(_finish(fig), title, _balance_alt(data, bar), data)


def _balance_alt(data: pd.DataFrame, bar: float) -> str:
    sentences = []
    for when in ("before weighting", "after weighting"):
        values = data.dropna(subset=[when])
        if values.empty:
            continue
        worst = values.loc[values[when].idxmax()]
        over = int((values[when] > bar).sum())
        sentences.append(
            f"{_first_upper(when)}, {_of(over, len(values), 'adjustment variable')} differ by more than {bar:g} "
            f"(largest {worst[when]:.3f}, {worst['adjustment variable']})."
        )
    return _alt(*sentences) if sentences else "No adjustment variable to show."


@_figure_function
def subgroup_effects(frame: pd.DataFrame, by: str, label: str, withheld: str = "") -> plt.Figure:
    """Each subgroup's effect with its interval; subgroups without an estimate (too small, or withheld) are left out.

    `label` names the effect for the axis; a quantity's code name or words (`labels`) also give
    the unit (differences in shares in percentage points). The y axis is named after `by`, in words."""
    rows = frame.dropna(subset=["estimate"]).reset_index(drop=True)
    code = _quantity(label)
    scale = _scale(code)
    text = (
        f"effect on the {wording.label(code)}"
        if code is not None and label in (code, code.replace("_", " "))
        else label
    )
    fig, axes = _figure(0.32 * len(rows) + 1.4)
    ax = axes[0, 0]
    y = np.arange(len(rows))[::-1]
    estimate, below, above = _interval(rows, scale)
    ax.errorbar(estimate, y, xerr=[below, above], fmt="s", color=BLUE, markersize=5, capsize=3)
    names = rows[by].map(wording.category)
    ax.set_yticks(y, names)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel(_with_unit(text, code, EFFECT_UNITS))
    group = _words(by)
    ax.set_ylabel(group)
    if rows.empty:
        _nothing(ax, "no subgroup estimate to show")
    data = pd.DataFrame(
        {
            group: names.to_numpy(),
            "estimate": estimate,
            INTERVAL_LOW: scale * rows["ci_low"].to_numpy(dtype=float),
            INTERVAL_HIGH: scale * rows["ci_high"].to_numpy(dtype=float),
            **({"unit": _unit(code, EFFECT_UNITS)} if code is not None else {}),
        }
    )
    unit = _unit(code, EFFECT_UNITS)
    title = f"{_first_upper(text or 'effect')} by {group}{f' ({unit})' if unit else ''}, with 95% intervals"
    return note(_finish(fig, withheld), title, _subgroup_alt(rows, by, group, code, len(frame)), data)


def _subgroup_alt(rows: pd.DataFrame, by: str, group: str, code: str | None, total: int) -> str:
    left = total - len(rows)
    left_out = (
        f"{_count(left, group)} without an estimate (too few inspections, or withheld under disclosure control) "
        "left out."
        if left
        else ""
    )
    if rows.empty:
        return _alt(f"No {group} has an estimate to show.", left_out)
    low, high = rows.loc[rows["estimate"].idxmin()], rows.loc[rows["estimate"].idxmax()]
    if len(rows) == 1:
        first = f"The effect is {_effect(code, high['estimate'])} ({high[by]})."
    else:
        first = (
            f"The effect ranges from {_effect(code, low['estimate'])} ({low[by]}) to "
            f"{_effect(code, high['estimate'])} ({high[by]}) across {_count(len(rows), group)}."
        )
    return _alt(first, left_out)


# --- study 2: cross-region enforcement ------------------------------------------------------------


@_figure_function
def adoption_timeline(timeline: pd.DataFrame, labels: dict[int, str], program: str = "") -> plt.Figure:
    """How many regions adopted the programme in each quarter (bars, each with its count), and how many
    never adopt (the comparison group, in words on the figure).

    `program` names the programme in words, as a page does in a sentence (`cross_region.Settings.reform`:
    "cross-region enforcement", "a surprise-inspection campaign"); without it the title says "the programme".
    """
    cohorts = timeline.groupby("g").size()
    treated = cohorts[cohorts.index > 0]
    never = int(cohorts.get(0, 0))
    fig, axes = _figure(2.8)
    ax = axes[0, 0]
    if len(treated):
        bars = ax.bar(treated.index, treated.to_numpy(), width=0.8, color=BLUE, edgecolor=BLACK, linewidth=0.6)
        ax.bar_label(bars, padding=2)
        ax.margins(y=0.15)
    else:
        _nothing(ax, "no region adopts")
    ax.set_title(f"Never adopt: {_count(never, 'region')} (the comparison group)", loc="left", color="0.3")
    if labels:
        quarters = sorted(labels)
        ticks = quarters[:: _step(len(quarters))]
        ax.set_xticks(ticks, [labels[t] for t in ticks], rotation=45, ha="right")
        ax.set_xlim(quarters[0] - 0.6, quarters[-1] + 0.6)
    ax.set_xlabel("quarter of adoption")
    ax.set_ylabel("regions adopting (number)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, axis="y")
    data = pd.DataFrame(
        [{"quarter of adoption": str(labels.get(g, g)), "regions": int(n)} for g, n in treated.items()]
        + ([{"quarter of adoption": "never", "regions": never}] if never else []),
        columns=["quarter of adoption", "regions"],
    )
    title = f"Regions adopting {program or 'the programme'}, by quarter of adoption (number of regions)"
    return note(_finish(fig), title, _adoption_alt(treated, never, labels), data)


def _adoption_alt(treated: pd.Series, never: int, labels: dict) -> str:
    comparison = f"{_count(never, 'region')} never adopt{'s' if never == 1 else ''}: the comparison group."
    if treated.empty:
        return _alt("No region adopts.", comparison)
    top = treated.idxmax()
    quarters = (
        f" from {labels.get(treated.index[0], treated.index[0])} to {labels.get(treated.index[-1], treated.index[-1])}"
    )
    return _alt(
        f"{_count(int(treated.sum()), 'region')} adopt in {_count(len(treated), 'quarter')}"
        f"{quarters if len(treated) > 1 else ''}; most in {labels.get(top, top)} "
        f"({_count(int(treated.max()), 'region')}).",
        comparison,
    )


@_figure_function
def event_study(
    cs: pd.DataFrame, twfe: pd.DataFrame, truth: dict[int, float] | None = None, label: str = ""
) -> plt.Figure:
    """Effects by quarters since adoption: Callaway-Sant'Anna with pointwise intervals (blue circles) and a
    simultaneous band (shaded), TWFE event-study coefficients (orange hollow squares), and the planted truth
    (dashed) when known. `label` names the outcome (code name or words); a share's effects are in percentage
    points."""
    code = _quantity(label) if label else None
    scale = _scale(code)
    words = wording.label(code) if code is not None else label
    unit = _unit(code, EFFECT_UNITS)
    fig, axes = _figure(3.8)
    ax = axes[0, 0]
    cs = cs.sort_values("event_time")
    times = cs["event_time"].to_numpy(dtype=float)
    ax.fill_between(
        times,
        scale * cs["band_low"].to_numpy(dtype=float),
        scale * cs["band_high"].to_numpy(dtype=float),
        color=BLUE,
        alpha=0.15,
        label="simultaneous 95% band",
    )
    estimate, below, above = _interval(cs, scale)
    ax.errorbar(
        times, estimate, yerr=[below, above], fmt="o", color=BLUE, markersize=4, capsize=2, label="Callaway-Sant'Anna"
    )
    ax.plot(
        twfe["event_time"].to_numpy(dtype=float) + 0.15,
        scale * twfe["estimate"].to_numpy(dtype=float),
        "s",
        color=ORANGE,
        markerfacecolor="white",
        markersize=4,
        label="two-way fixed effects",
    )
    if truth:
        planted = sorted(truth)
        ax.plot(planted, [scale * truth[t] for t in planted], color=VERMILLION, ls="--", lw=1.2, label="planted truth")
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(-0.5, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel("quarters since adoption")
    ax.set_ylabel(_with_unit(f"effect on the {words}", code, EFFECT_UNITS) if code is not None else label or "effect")
    fig.legend(ncol=2, loc="outside upper center")
    if cs.empty and twfe.empty:
        _nothing(ax, "no event-study estimates to show")
    data = _event_data(cs, twfe, truth, scale, unit)
    title = (
        f"Effect on the {words} by quarters since adoption{f' ({unit})' if unit else ''}, with 95% intervals"
        if words
        else "Effect by quarters since adoption, with 95% intervals"
    )
    return note(_finish(fig), title, _event_alt(cs, truth, code, words), data)


def _event_data(cs: pd.DataFrame, twfe: pd.DataFrame, truth: dict | None, scale: float, unit: str) -> pd.DataFrame:
    parts = []
    for method, frame, band in (("Callaway-Sant'Anna", cs, True), ("two-way fixed effects", twfe, False)):
        part = pd.DataFrame(
            {
                "quarters since adoption": frame["event_time"].to_numpy(dtype=float),
                "method": method,
                "estimate": scale * frame["estimate"].to_numpy(dtype=float),
                INTERVAL_LOW: scale * frame["ci_low"].to_numpy(dtype=float) if "ci_low" in frame else np.nan,
                INTERVAL_HIGH: scale * frame["ci_high"].to_numpy(dtype=float) if "ci_high" in frame else np.nan,
                "simultaneous band low": scale * frame["band_low"].to_numpy(dtype=float) if band else np.nan,
                "simultaneous band high": scale * frame["band_high"].to_numpy(dtype=float) if band else np.nan,
            }
        )
        parts.append(part)
    if truth:
        parts.append(
            pd.DataFrame(
                {
                    "quarters since adoption": [float(t) for t in sorted(truth)],
                    "method": "planted truth",
                    "estimate": [scale * truth[t] for t in sorted(truth)],
                }
            )
        )
    data = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    return data.dropna(subset=["estimate"]).assign(unit=unit).reset_index(drop=True)


def _event_alt(cs: pd.DataFrame, truth: dict | None, code: str | None, words: str) -> str:
    values = _finite(cs, ["event_time", "estimate"])
    by = pd.Series(values["estimate"].to_numpy(), index=values["event_time"].round().astype(int).to_numpy())
    by = by[~by.index.duplicated()]
    post, pre = by[by.index >= 0], by[by.index < 0]
    if post.empty and pre.empty:
        return "No event-study estimate to show."
    of = f" of the effect on the {words}" if words else ""
    sentences = []
    if not post.empty:
        later = 4 if 4 in post.index else int(post.index.max())
        at = f"{_effect(code, post.iloc[0])} {_when(int(post.index[0]))}"
        at += f", {_effect(code, post[later])} {_when(later)}" if later != post.index[0] else ""
        sentences.append(f"Callaway-Sant'Anna estimates{of}: {at}.")
    if not pre.empty:
        sentences.append(
            f"The {_count(len(pre), 'quarter')} before adoption lie within ±{_effect(code, pre.abs().max(), False)}."
        )
    if truth:
        planted = {int(t): v for t, v in truth.items()}
        shown = [t for t in (0, 4) if t in planted]
        if shown:
            sentences.append(
                "Planted truth: " + ", ".join(f"{_effect(code, planted[t])} {_when(t)}" for t in shown) + "."
            )
    return _alt(*sentences)


def _when(quarters: int) -> str:
    if quarters == 0:
        return "in the quarter of adoption"
    return f"{_count(quarters, 'quarter')} later"


# --- study 3: team expansion ----------------------------------------------------------------------


def _lag_words(lag: float) -> str:
    k = int(lag)
    return "same quarter" if k == 0 else f"{_count(k, 'quarter')} after"


@_figure_function
def lag_profile(profile: pd.DataFrame) -> plt.Figure:
    """The elasticity of inspections to officers in the same quarter and each later one (blue circles),
    and their sum with its interval (green band, dashed line)."""
    rows = _finite(profile, ["lag"]).sort_values("lag")
    fig, axes = _figure(3.2)
    ax = axes[0, 0]
    estimate, below, above = _interval(rows)
    ax.errorbar(rows["lag"], estimate, yerr=[below, above], fmt="o", color=BLUE, capsize=3, label="each quarter")
    totals = profile[profile["term"] == "sum of lags"]
    total = totals.iloc[0] if len(totals) else None
    if total is not None:
        ax.axhspan(total["ci_low"], total["ci_high"], color=GREEN, alpha=0.15)
        ax.axhline(
            total["estimate"], color=GREEN, ls="--", lw=1, label=f"all quarters together {total['estimate']:.2f}"
        )
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(rows["lag"], [_lag_words(k) for k in rows["lag"]])
    ax.set_xlabel("inspections counted in the quarter of the change in officers, or later")
    ax.set_ylabel("elasticity of inspections\n(% per 1% more officers)")
    if len(rows) or total is not None:
        ax.legend()
    else:
        _nothing(ax, "no lag estimates to show")
    data = pd.DataFrame(
        {
            "inspections counted": [_lag_words(k) for k in rows["lag"]],
            "elasticity": estimate,
            INTERVAL_LOW: rows["ci_low"].to_numpy(dtype=float),
            INTERVAL_HIGH: rows["ci_high"].to_numpy(dtype=float),
        }
    )
    if total is not None:
        data.loc[len(data)] = ["all quarters together", total["estimate"], total["ci_low"], total["ci_high"]]
    title = "Response of inspections to officers in the same and later quarters (elasticity), with 95% intervals"
    return note(_finish(fig), title, _lag_alt(rows, total), data)


def _lag_alt(rows: pd.DataFrame, total) -> str:
    sentences = []
    same = rows[rows["lag"] == 0]["estimate"].dropna()
    if len(same):
        sentences.append(f"A 1% rise in officers goes with {same.iloc[0]:+.2f}% inspections in the same quarter.")
    later = rows[rows["lag"] > 0]["estimate"].dropna()
    if len(later):
        sentences.append(
            f"The {_count(len(later), 'later quarter')} add {later.min():+.2f} to {later.max():+.2f}."
            if len(later) > 1
            else f"The quarter after adds {later.iloc[0]:+.2f}."
        )
    if total is not None and pd.notna(total["estimate"]):
        sentences.append(
            f"All quarters together: {total['estimate']:.2f} (95% interval {total['ci_low']:.2f} to "
            f"{total['ci_high']:.2f})."
        )
    return _alt(*sentences) if sentences else "No lag estimate to show."


@_figure_function
def dose_response(table: pd.DataFrame) -> plt.Figure:
    """Log inspections in each bin of staffing against the lowest bin, with 95% intervals."""
    rows = _finite(table, ["log_officers_vs_region_mean", "estimate"]).sort_values("log_officers_vs_region_mean")
    fig, axes = _figure(3.2)
    ax = axes[0, 0]
    x = rows["log_officers_vs_region_mean"].to_numpy(dtype=float)
    estimate, below, above = _interval(rows)
    ax.errorbar(x, estimate, yerr=[below, above], fmt="o-", color=BLUE, markersize=5, capsize=3)
    ax.set_xlabel("log officers relative to the region's own average (bin means; 0.1 is about 10% more)")
    ax.set_ylabel("log inspections against\nthe lowest bin (0.1 ≈ 10%)")
    ax.grid(alpha=0.3)
    if rows.empty:
        _nothing(ax, "no staffing bins to show")
    data = pd.DataFrame(
        {
            "log officers vs region average": x,
            "log inspections vs lowest bin": estimate,
            INTERVAL_LOW: rows["ci_low"].to_numpy(dtype=float),
            INTERVAL_HIGH: rows["ci_high"].to_numpy(dtype=float),
        }
    )
    title = "Inspections by staffing relative to each region's own average (log points against the lowest bin)"
    return note(_finish(fig), title, _dose_alt(x, estimate), data)


def _dose_alt(x: np.ndarray, estimate: np.ndarray) -> str:
    if len(x) < 2:
        return "No staffing bins to compare." if not len(x) else f"One staffing bin only, at {x[0]:+.2f} log officers."
    rise = estimate[-1] - estimate[0]
    first = (
        f"From the lowest to the highest of {len(x)} staffing bins (log officers {x[0]:+.2f} to {x[-1]:+.2f} "
        f"against the region's own average), inspections rise by {rise:.3f} log points (about {np.expm1(rise):+.0%})."
    )
    slopes = np.diff(estimate) / np.diff(x)
    second = (
        f"Per log point of officers, the rise is {slopes[0]:.2f} in the lowest step and {slopes[-1]:.2f} "
        "in the highest."
        if len(slopes) > 1 and np.all(np.isfinite(slopes))
        else ""
    )
    return _alt(first, second)
