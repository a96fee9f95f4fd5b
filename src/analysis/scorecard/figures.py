"""The scorecard's figures. Every function returns a Figure; none saves one.

Titles carry their units; region and indicator names are drawn as written (mathtext off, as
every figure of the suite, through `plots`' finishing step).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..plots import WIDTH, _finish, _literal_text
from .card import Scorecard
from .reading import contributions
from .stability import Change, Stability
from .weighting import METHOD_WORDS

MOST_SHOWN = 25  # regions in the breakdown figure


@_literal_text
def breakdown(card: Scorecard) -> plt.Figure:
    """Stacked bars: the points each first-level indicator adds to the score of the warned regions
    (the lowest `MOST_SHOWN` when more), with the threshold marked."""
    shown = card.scores[card.flags["warned"]].sort_values(kind="stable").head(MOST_SHOWN).index
    if shown.empty:
        shown = card.scores.sort_values(kind="stable").head(min(MOST_SHOWN, 10)).index
    points = contributions(card).loc[shown]
    tops = {
        top.label: [leaf.id for leaf in card.tree.leaves if card.tree.top_of(leaf.id).id == top.id]
        for top in card.tree.first_level
    }
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(shown) + 1.8))
    y, left = np.arange(len(shown))[::-1], np.zeros(len(shown))
    for colour, (label, leaves) in enumerate(tops.items()):
        part = points[leaves].sum(axis=1).to_numpy()
        ax.barh(y, part, left=left, color=f"C{colour}", label=label)
        left += part
    ax.axvline(card.settings.threshold, color="k", lw=0.8, ls="--", label=f"threshold {card.settings.threshold:g}")
    ax.set_yticks(y, [str(card.regions.at[r, "name"]) for r in shown], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("points of the score (0-100)")
    which = "warned regions" if card.flags["warned"].any() else "lowest-scoring regions"
    more = (
        f", lowest {len(shown)} of {int(card.flags['warned'].sum())}" if card.flags["warned"].sum() > len(shown) else ""
    )
    ax.set_title(f"Score of the {which} by first-level indicator ({card.settings.period}{more}; points out of 100)")
    ax.legend(fontsize=7, ncol=4, frameon=False, loc="lower right")
    return _finish(fig)


@_literal_text
def rank_intervals(card: Scorecard, result: Stability) -> plt.Figure:
    """Each region's rank in its peer group (dot) and the 90% range of its rank under perturbed
    weights (bar); warned regions in red. Regions ordered by peer group and rank."""
    table = result.ranks.assign(group=card.groups).sort_values(["group", "rank"], kind="stable")
    warned = card.flags.loc[table.index, "warned"].to_numpy()
    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    ax.vlines(x, table["rank_low"], table["rank_high"], color=np.where(warned, "C3", "0.6"), lw=1.2)
    ax.scatter(x, table["rank"], s=10, color=np.where(warned, "C3", "C0"), zorder=3)
    bottom = card.flags.loc[table.index, "bottom"].to_numpy()
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
        ax.legend(fontsize=8, frameon=False, loc="upper right")
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_xlabel(f"regions, best to worst within their peer group ({len(table)}; red: warned)")
    ax.set_ylabel("rank in peer group (1 = best)")
    ax.set_title(
        f"Rank under {result.draws} perturbed weightings around the "
        f"{METHOD_WORDS[card.settings.weights]} weights (bars: 90% of draws)"
    )
    ax.grid(alpha=0.3, axis="y")
    return _finish(fig)


@_literal_text
def method_weights(card: Scorecard) -> plt.Figure:
    """Grouped bars: each indicator's weight (share of the index) under every weighting method."""
    weights = card.all_weights.rename(index=lambda leaf: card.tree.node(leaf).label)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 * len(weights) + 1.6))
    height = 0.8 / weights.shape[1]
    y = np.arange(len(weights))[::-1]
    for i, method in enumerate(weights.columns):
        ax.barh(
            y + 0.4 - (i + 0.5) * height,
            weights[method],
            height=height,
            label=METHOD_WORDS[method],
            color=f"C{i}",
            edgecolor="k" if method == card.settings.weights else "none",
        )
    ax.set_yticks(y, list(weights.index), fontsize=8)
    ax.set_xlabel("weight (share of the index; each method's weights sum to 1)")
    ax.set_title(f"Weight of each indicator under each method ({card.settings.period}; outlined: the one used)")
    ax.legend(fontsize=7, frameon=False)
    return _finish(fig)


@_literal_text
def change(moves: Change, card: Scorecard) -> plt.Figure:
    """This quarter's score against the quarter before's, per region; warned regions in red."""
    frame, before = moves.frame, moves.before
    fig, ax = plt.subplots(figsize=(WIDTH * 0.7, WIDTH * 0.55))
    warned = frame["warned"].to_numpy(dtype=bool)
    ax.scatter(frame["score_before"], frame["score"], s=14, color=np.where(warned, "C3", "C0"))
    ax.plot([0, 100], [0, 100], color="0.5", lw=0.8, ls=":")
    ax.axhline(card.settings.threshold, color="k", lw=0.6, ls="--")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"score in {before} (0-100)")
    ax.set_ylabel(f"score in {card.settings.period} (0-100)")
    ax.set_title(f"Score in {card.settings.period} against {before} (red: warned now; dotted: no change)")
    return _finish(fig)
