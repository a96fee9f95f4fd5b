"""The scorecard's figures. Every function returns a Figure; none saves one.

Each figure carries its note (`plots.note`): a title with the unit, alt text written from the
scorecard, and the data plotted, by region name. Region and indicator names are drawn as written
(mathtext off), in the size and style of every figure of the suite (`plots.STYLE`, `plots._figure`).
Colours are the Okabe-Ito palette, with hatches or markers so that no series is told apart by colour
alone. Legends sit above the plot, clear of the bars and points.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ..plots import (
    BLUE,
    HATCHES,
    PALETTE,
    VERMILLION,
    _alt,
    _count,
    _figure,
    _figure_function,
    _finish,
    _first_upper,
    _nothing,
    _of,
    note,
)
from .card import Scorecard
from .reading import contributions
from .stability import Change, Stability
from .weighting import METHOD_WORDS

MOST_SHOWN = 25  # regions in the breakdown figure


def _names(card: Scorecard, regions) -> list[str]:
    return [str(card.regions.at[r, "name"]) for r in regions]


@_figure_function
def breakdown(card: Scorecard) -> plt.Figure:
    """Stacked bars: the points each first-level indicator adds to the score of the warned regions
    (the lowest `MOST_SHOWN` when more), with the threshold marked. Indicators differ by colour and hatch."""
    shown = card.scores[card.flags["warned"]].sort_values(kind="stable").head(MOST_SHOWN).index
    if shown.empty:
        shown = card.scores.sort_values(kind="stable").head(min(MOST_SHOWN, 10)).index
    points = contributions(card).loc[shown]
    tops = {
        top.label: [leaf.id for leaf in card.tree.leaves if card.tree.top_of(leaf.id).id == top.id]
        for top in card.tree.first_level
    }
    fig, axes = _figure(0.28 * len(shown) + 1.9)
    ax = axes[0, 0]
    y, left = np.arange(len(shown))[::-1], np.zeros(len(shown))
    names = _names(card, shown)
    parts, handles = {}, []
    for i, (label, leaves) in enumerate(tops.items()):
        part = points[leaves].sum(axis=1).to_numpy(dtype=float)
        bars = ax.barh(
            y,
            part,
            left=left,
            color=PALETTE[i % len(PALETTE)],
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor="0.2",
            linewidth=0.4,
            label=label,
        )
        handles.append(bars)
        left += part
        parts[label] = part
    threshold = card.settings.threshold
    handles.append(ax.axvline(threshold, color="k", lw=0.8, ls="--", label=f"threshold {threshold:g}"))
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    ax.set_xlim(0, 100)
    ax.set_xlabel("points of the score (0-100)")
    ax.set_ylabel("region")
    fig.legend(handles=handles, ncol=3, loc="outside upper center")
    if shown.empty:
        _nothing(ax, "no region scored")
    warned = int(card.flags["warned"].sum())
    which = "warned regions" if warned else "lowest-scoring regions"
    more = f", the lowest {len(shown)} of {warned}" if warned > len(shown) else ""
    data = pd.DataFrame(
        [
            {"region": name, "first-level indicator": label, "points": part[j]}
            for j, name in enumerate(names)
            for label, part in parts.items()
        ],
        columns=["region", "first-level indicator", "points"],
    )
    title = f"Score of the {which} by first-level indicator, {card.settings.period}{more} (points out of 100)"
    return note(_finish(fig), title, _breakdown_alt(card, shown, names, parts, warned), data)


def _breakdown_alt(card: Scorecard, shown, names: list[str], parts: dict, warned: int) -> str:
    if shown.empty:
        return "No region is scored."
    scores = card.scores.loc[shown].to_numpy(dtype=float)
    low, high = int(np.argmin(scores)), int(np.argmax(scores))
    s = card.settings
    rule = f"under {s.threshold:g}" + (f" or in the bottom {s.bottom_n} of their peer group" if s.bottom_n else "")
    first = (
        f"{_first_upper(_of(warned, len(card.scores), 'region'))} {'are' if warned > 1 else 'is'} warned in "
        f"{s.period} ({rule})."
        if warned
        else f"No region is warned in {s.period}; the lowest-scoring are shown."
    )
    mean = {label: float(np.mean(part)) for label, part in parts.items()}
    biggest = max(mean, key=lambda label: mean[label]) if mean else ""
    second = f"The {len(shown)} shown score from {scores[low]:.1f} ({names[low]}) to {scores[high]:.1f} ({names[high]})"
    second += f"; {biggest} adds the most, {mean[biggest]:.1f} points on average." if biggest else "."
    return _alt(first, second)


@_figure_function
def rank_intervals(card: Scorecard, result: Stability) -> plt.Figure:
    """Each region's rank in its peer group (dot) and the 90% range of its rank under perturbed
    weights (bar); warned regions as vermillion squares. Regions ordered by peer group and rank."""
    table = result.ranks.assign(group=card.groups).sort_values(["group", "rank"], kind="stable")
    warned = card.flags.loc[table.index, "warned"].to_numpy(dtype=bool)
    x = np.arange(len(table))
    fig, axes = _figure(3.8)
    ax = axes[0, 0]
    ax.vlines(x, table["rank_low"], table["rank_high"], color=np.where(warned, VERMILLION, "0.6"), lw=1.2)
    for chosen, marker, colour, label in ((~warned, "o", BLUE, "not warned"), (warned, "s", VERMILLION, "warned")):
        if chosen.any():
            ax.scatter(x[chosen], table["rank"][chosen], s=11, marker=marker, color=colour, zorder=3, label=label)
    bottom = card.flags.loc[table.index, "bottom"].to_numpy(dtype=bool)
    if bottom.any():
        ax.scatter(
            x[bottom],
            table["rank"][bottom],
            s=40,
            facecolors="none",
            edgecolors="k",
            zorder=4,
            label=f"bottom {card.settings.bottom_n} of the peer group",
        )
    if len(table):
        fig.legend(ncol=3, loc="outside upper center")
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_xlabel(f"regions, best to worst within their peer group ({len(table)})")
    ax.set_ylabel("rank in peer group (1 = best)")
    ax.grid(alpha=0.3, axis="y")
    if table.empty:
        _nothing(ax, "no region ranked")
    data = pd.DataFrame(
        {
            "region": _names(card, table.index),
            "peer group": table["group"].astype(str).to_numpy(),
            "rank": table["rank"].to_numpy(),
            "rank, 5th percentile of draws": table["rank_low"].to_numpy(),
            "rank, 95th percentile of draws": table["rank_high"].to_numpy(),
            "warned": warned,
        }
    )
    title = (
        f"Rank of each region in its peer group under the {METHOD_WORDS[card.settings.weights]} weights (dot) and "
        f"90% of {result.draws} perturbed weightings (bar); 1 = best"
    )
    return note(_finish(fig), title, _ranks_alt(data, result.draws), data)


def _ranks_alt(data: pd.DataFrame, draws: int) -> str:
    if data.empty:
        return "No region is ranked."
    width = data["rank, 95th percentile of draws"] - data["rank, 5th percentile of draws"]
    warned = int(data["warned"].sum())
    widest = data.loc[width.idxmax()]
    return _alt(
        f"Over {draws} perturbed weightings, the median region's rank moves within {width.median():.0f} places "
        f"(90% of draws); {widest['region']}'s moves most, from {widest['rank, 5th percentile of draws']:.0f} "
        f"to {widest['rank, 95th percentile of draws']:.0f}.",
        f"{_first_upper(_of(warned, len(data), 'region'))} {'are' if warned > 1 else 'is'} warned "
        "(vermillion squares).",
    )


@_figure_function
def method_weights(card: Scorecard) -> plt.Figure:
    """Grouped bars: each indicator's weight (share of the index) under every weighting method; methods
    differ by colour and hatch, the one used is outlined in black and named so in the legend."""
    weights = card.all_weights.rename(index=lambda leaf: card.tree.node(leaf).label)
    fig, axes = _figure(0.5 * len(weights) + 1.9)
    ax = axes[0, 0]
    height = 0.8 / max(1, weights.shape[1])
    y = np.arange(len(weights))[::-1]
    used = card.settings.weights
    for i, method in enumerate(weights.columns):
        ax.barh(
            y + 0.4 - (i + 0.5) * height,
            weights[method],
            height=height,
            label=METHOD_WORDS[method] + (" (used)" if method == used else ""),
            color=PALETTE[i % len(PALETTE)],
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor="k" if method == used else "0.35",
            linewidth=1.4 if method == used else 0.3,
        )
    ax.set_yticks(y, [str(name) for name in weights.index])
    ax.set_xlabel("weight (share of the index; each method's weights sum to 1)")
    ax.set_ylabel("indicator")
    if weights.empty:
        _nothing(ax, "no indicator weighted")
    else:
        fig.legend(ncol=3, loc="outside upper center")
    data = (
        weights.rename(columns=METHOD_WORDS)
        .rename_axis(index="indicator", columns="method")
        .reset_index()
        .melt(id_vars="indicator", var_name="method", value_name="weight")
        .assign(used=lambda frame: frame["method"] == METHOD_WORDS.get(used, used))
    )
    title = f"Weight of each indicator under each weighting method, {card.settings.period} (share of the index)"
    return note(_finish(fig), title, _weights_alt(weights, used), data)


def _weights_alt(weights: pd.DataFrame, used: str) -> str:
    if weights.empty or used not in weights:
        return "No indicator is weighted."
    chosen = weights[used].dropna()
    if chosen.empty:
        return "No indicator is weighted."
    first = (
        f"Under the {METHOD_WORDS[used]} weights used, {chosen.idxmax()} weighs most ({chosen.max():.2f}) and "
        f"{chosen.idxmin()} least ({chosen.min():.2f})."
    )
    others = weights.drop(columns=used).max()
    second = ""
    if len(others.dropna()):
        method = others.idxmax()
        second = (
            f"The most concentrated other method, {METHOD_WORDS[method]}, puts {weights[method].max():.2f} on "
            f"{weights[method].idxmax()}."
        )
    return _alt(first, second)


@_figure_function
def change(moves: Change, card: Scorecard) -> plt.Figure:
    """This quarter's score against the quarter before's, per region; warned regions as vermillion squares."""
    frame, before = moves.frame, moves.before
    fig, axes = _figure(4.6, width=5.4)  # near-square axes: a point on the diagonal did not change
    ax = axes[0, 0]
    warned = frame["warned"].to_numpy(dtype=bool)
    x, y = frame["score_before"].to_numpy(dtype=float), frame["score"].to_numpy(dtype=float)
    ax.scatter(x[~warned], y[~warned], s=14, marker="o", color=BLUE)
    ax.scatter(x[warned], y[warned], s=16, marker="s", color=VERMILLION)
    ax.plot([0, 100], [0, 100], color="0.5", lw=0.8, ls=":")
    ax.axhline(card.settings.threshold, color="k", lw=0.6, ls="--")
    handles = [
        *([Line2D([], [], marker="o", color=BLUE, ls="none", label="not warned now")] if (~warned).any() else []),
        *([Line2D([], [], marker="s", color=VERMILLION, ls="none", label="warned now")] if warned.any() else []),
        Line2D([], [], color="0.5", lw=0.8, ls=":", label="no change"),
        Line2D([], [], color="k", lw=0.6, ls="--", label=f"threshold {card.settings.threshold:g}"),
    ]
    fig.legend(handles=handles, ncol=2, loc="outside upper center")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"score in {before} (0-100)")
    ax.set_ylabel(f"score in {card.settings.period} (0-100)")
    if frame.empty:
        _nothing(ax, "no region scored in both quarters")
    data = pd.DataFrame(
        {
            "region": frame["name"].astype(str).to_numpy(),
            f"score in {before}": x,
            f"score in {card.settings.period}": y,
            "change (points)": y - x,
            "warned now": warned,
        }
    )
    title = f"Score in {card.settings.period} against {before}, per region (points out of 100)"
    return note(_finish(fig), title, _change_alt(data, before, card.settings.period), data)


def _change_alt(data: pd.DataFrame, before: str, period: str) -> str:
    moved = data.dropna(subset=["change (points)"])
    if moved.empty:
        return f"No region is scored in both {before} and {period}."
    fall, rise = moved.loc[moved["change (points)"].idxmin()], moved.loc[moved["change (points)"].idxmax()]
    first = (
        f"Of {_count(len(moved), 'region')} scored in both quarters, {int((moved['change (points)'] > 0).sum())} "
        f"rose and {int((moved['change (points)'] < 0).sum())} fell from {before} to {period}."
    )
    second = (
        f"The largest fall is {fall['region']}'s, {fall['change (points)']:+.1f} points; the largest rise "
        f"{rise['region']}'s, {rise['change (points)']:+.1f}."
    )
    return _alt(first, second, f"{int(moved['warned now'].sum())} are warned now (vermillion squares).")
