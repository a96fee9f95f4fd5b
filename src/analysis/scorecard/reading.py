"""The scorecard in words and tables: reasons for each warning, tiers, the CSV, the notebook's tables.

Every sentence a reviewer reads is written here, from the scorecard's numbers; indicator
names come from the tree's labels, never from code names.
"""

from __future__ import annotations

import pandas as pd

from . import indicators as ind
from .card import Scorecard, method_words

LEVEL_PLURALS = {"county": "counties", "city": "cities", "province": "provinces"}
TIERS = ("meets expectations", "area for attention", "area for improvement")
REASONS_SHOWN = 3  # indicators named in a reason


def contributions(card: Scorecard) -> pd.DataFrame:
    """Points of the score from each leaf (regions x leaves; each row sums to the score)."""
    return 100 * card.normalised * card.weights


def gaps(card: Scorecard) -> pd.DataFrame:
    """Points each leaf adds to or takes from the score against the peer group's median value
    (0 where the region's value counts at the peer median)."""
    shown = card.normalised.where(card.states == ind.SHOWN)
    medians = shown.groupby(card.groups.to_numpy()).transform("median")
    return (100 * (card.normalised - medians) * card.weights).fillna(0.0)


def warning_labels(card: Scorecard) -> pd.Series:
    """'under 80', 'bottom 3' or both; ' (depends on weighting)' when some method would not warn."""
    s = card.settings
    labels = []
    for _, flag in card.flags.iterrows():
        parts = ([f"under {s.threshold:g}"] if flag["under"] else []) + (
            [f"bottom {s.bottom_n}"] if flag["bottom"] else []
        )
        text = "; ".join(parts)
        labels.append(text + (" (depends on weighting)" if flag["warned"] and not flag["robust"] else ""))
    return pd.Series(labels, index=card.flags.index)


def reasons(card: Scorecard) -> pd.Series:
    """Each region's reason: for a warned region its standing, the indicators that pulled its score
    down against the peer median (with both values and the points lost), and whether the warning
    holds under every weighting method; for every region, what counted at the peer median."""
    gap, medians = gaps(card), card.raw.groupby(card.groups.to_numpy()).transform("median")
    by_method = {flag: card.by_method(flag) for flag in ("warned", "bottom")}
    out = {}
    for region in card.regions.index:
        parts = (
            [_standing(card, region), _pulled_down(card, region, gap, medians), _robustness(card, region, by_method)]
            if card.flags.at[region, "warned"]
            else []
        )
        out[region] = " ".join(p for p in [*parts, _at_median(card, region)] if p)
    return pd.Series(out)


def score_text(score: float, threshold: float) -> str:
    """A score to one decimal, with more where one decimal would read as the threshold itself."""
    for digits in (1, 2, 3, 6):
        text = f"{score:.{digits}f}"
        if float(text) != threshold or score == threshold:
            return text
    return f"{score!r}"


def peers(card: Scorecard, region: str) -> str:
    """'134 counties', '12 regions of Zhejiang': the region's peer group and its size."""
    group = card.groups[region]
    size = int((card.groups == group).sum())
    if card.settings.peer_group == "level":
        return f"{size} {LEVEL_PLURALS.get(group, group + ' regions')}"
    return f"{size} regions of {group}" if card.settings.peer_group == "province" else f"{size} regions"


def _label(card: Scorecard, leaf: str) -> str:
    label = card.tree.node(leaf).label
    return label[:1].lower() + label[1:]


def _standing(card: Scorecard, region: str) -> str:
    s, flag = card.settings, card.flags.loc[region]
    score = f"Score {score_text(card.scores[region], s.threshold)}" + (
        f", under {s.threshold:g}" if flag["under"] else ""
    )
    rank = f"ranked {card.ranks[region]} of {peers(card, region)}" + (
        f", in the bottom {s.bottom_n}" if flag["bottom"] else ""
    )
    return f"{score}; {rank}."


def _pulled_down(card: Scorecard, region: str, gap: pd.DataFrame, medians: pd.DataFrame) -> str:
    worst = gap.loc[region][gap.loc[region] < 0].sort_values().head(REASONS_SHOWN)
    if worst.empty:
        return "No indicator is below its peer median; the score is low only against the threshold."
    items = []
    for leaf, points in worst.items():
        metric = card.tree.node(leaf).measure
        items.append(
            f"{_label(card, leaf)} ({ind.describe(metric, card.raw.at[region, leaf])} against a peer median of "
            f"{ind.describe(metric, medians.at[region, leaf])}, {points:+.1f} points)"
        )
    return "Pulled down most by " + _series(items) + "."


def _robustness(card: Scorecard, region: str, by_method: dict[str, pd.DataFrame]) -> str:
    warned, bottom = by_method["warned"].loc[region], by_method["bottom"].loc[region]
    if warned.all():
        text = f"Warned under every weighting method ({method_words(warned.index)})."
    else:
        text = (
            f"Depends on the weighting: warned under {method_words(warned.index[warned])} weights, "
            f"not under {method_words(warned.index[~warned], 'or')}."
        )
    if card.flags.at[region, "bottom"] and not bottom.all():
        text += (
            f" In the bottom {card.settings.bottom_n} under {method_words(bottom.index[bottom])} weights, "
            f"not under {method_words(bottom.index[~bottom], 'or')}."
        )
    return text


def _at_median(card: Scorecard, region: str) -> str:
    states = card.states.loc[region]
    held = states[states != ind.SHOWN]
    if held.empty:
        return ""
    k = card.settings.min_cell_size
    items = []
    for leaf, state in held.items():
        basis = ind.BASIS_WORDS.get(ind.METRICS[card.tree.node(leaf).measure].basis or "", "inspections")
        why = f"withheld: fewer than {k} {basis}" if state == ind.WITHHELD else "not defined or not recorded"
        items.append(f"{_label(card, leaf)} ({why})")
    return "Counted at the peer median for want of a value: " + _series(items) + "."


def _series(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "; ".join(items[:-1]) + "; and " + items[-1]


def findings(card: Scorecard) -> str:
    """The page's lead: how many regions are warned and why, the range of scores, and whether any
    warning depends on the weighting method (what was left out: `left_out`)."""
    s, flags = card.settings, card.flags
    scored, warned = len(flags), int(flags["warned"].sum())
    under, bottom = int(flags["under"].sum()), int(flags["bottom"].sum())
    if not warned:
        lead = f"In {s.period}, none of the {scored} regions scored is warned."
    else:
        lead = (
            f"In {s.period}, {warned} of the {scored} regions scored are warned: {under} scoring under {s.threshold:g}"
        )
        lead += (
            f" and {bottom} among the bottom {s.bottom_n} of their peer group (a region can be both)."
            if s.bottom_n
            else "."
        )
    sentences = [lead, _threshold_reach(card) if under >= 0.9 * scored else ""]
    lowest = card.scores.sort_values(kind="stable").head(3)
    names = ", ".join(f"{card.regions.at[r, 'name']} ({score_text(v, s.threshold)})" for r, v in lowest.items())
    sentences.append(
        f"Scores run from {card.scores.min():.1f} to {card.scores.max():.1f} (median "
        f"{card.scores.median():.1f})" + ("." if sentences[-1] else f"; the lowest are {names}.")
    )
    fragile = int((flags["warned"] & ~flags["robust"]).sum())
    if warned:
        sentences.append(
            f"{fragile} of the {warned} warnings depend on the weighting method (marked as such)."
            if fragile
            else "Every warning holds under each weighting method."
        )
    return " ".join(p for p in sentences if p)


def key_message(card: Scorecard) -> str:
    """The scorecard in one sentence for the report's front page: how many regions are warned, and which
    ones the rule singles out."""
    s, flags = card.settings, card.flags
    scored, warned, under = len(flags), int(flags["warned"].sum()), int(flags["under"].sum())
    if not warned:
        return f"The efficiency scorecard warns none of the {scored} regions scored in {s.period}."
    lowest = card.scores[flags["warned"]].nsmallest(3)
    names = [f"{card.regions.at[r, 'name']} ({score_text(v, s.threshold)})" for r, v in lowest.items()]
    named = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    who = "the lowest scores are" if len(names) > 1 else "the lowest score is"
    if under == scored:
        return (
            f"The efficiency scorecard warns all {scored} regions scored in {s.period}: every one scores under the "
            f"threshold of {s.threshold:g} out of 100, on a scale where the median region scores "
            f"{card.scores.median():.1f}; {who} {named}."
        )
    return (
        f"The efficiency scorecard warns {warned} of the {scored} regions scored in {s.period} ({under} under the "
        f"threshold of {s.threshold:g} out of 100); {who} {named}."
    )


def left_out(card: Scorecard) -> str:
    """What the scorecard left out, and why, in sentences (empty when nothing was)."""
    return " ".join(card.notes)


def _threshold_reach(card: Scorecard) -> str:
    """Why (almost) every region is under the threshold, and what then singles regions out."""
    s = card.settings
    bottom = card.scores[card.flags["bottom"]].sort_values(kind="stable").index
    names = ", ".join(f"{card.regions.at[r, 'name']} ({score_text(card.scores[r], s.threshold)})" for r in bottom)
    scale = (
        (
            "a score of 100 means the best of the peer group on every indicator, so a threshold of "
            f"{s.threshold:g} asks for nearly the best on nearly all of them"
        )
        if s.normalisation == "minmax"
        else f"the median region scores about 50, so a threshold of {s.threshold:g} is far above it"
    )
    single = f"; the bottom-{s.bottom_n} rule is what singles regions out: {names}" if len(bottom) else ""
    return (
        f"On this scale {scale}: the threshold warns almost every region{single}. A threshold suited to the "
        "scale (a setting of this page) would make the first part of the rule informative."
    )


def scale_note(card: Scorecard) -> str:
    """What a score means under the chosen normalisation, and what that does to the threshold."""
    s = card.settings
    share = float((card.scores < s.threshold).mean())
    if s.normalisation == "minmax":
        how = (
            "each indicator runs from 0 (the worst of the peer group) to 1 (the best), so a score of 100 means best "
            "of the peer group on every indicator"
        )
    else:
        how = "each indicator is the share of a normal distribution below the region's z-score within its peer group"
    return (
        f"A score is 100 times the weighted sum of its indicators, where {how}. Under this scale {share:.0%} of "
        f"the regions score under {s.threshold:g}."
    )
