"""How much a ranking hinges on the weights: perturbed weights, other methods, and the last quarter.

A warning officials act on must not hinge on an arbitrary weighting choice. `stability` draws
weights from a Dirichlet distribution centred on the chosen ones and re-ranks, and sets the
five methods side by side (Kendall's tau between their scores); `change_since_previous`
scores the quarter before the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from ..data import Dataset
from ..display import text
from ..limits import Unavailable
from ..quarter import Quarter
from .card import Scorecard, build, method_words, rank_matrix, ranks_within
from .reading import score_text
from .weighting import METHOD_WORDS

ALPHA_FLOOR = 0.01  # a weight near 0 still varies a little


@dataclass
class Stability:
    """Ranks under perturbed weights and under each method.

    `ranks`: per region its rank, the 5th and 95th percentiles of its rank over the draws
    (`rank_low`, `rank_high`; 1 = best), the share of draws in which it is warned and the share
    in which it is in the bottom n of its peer group;
    `method_scores` / `method_ranks`: regions x methods; `tau`: Kendall's tau-b between the
    methods' scores.
    """

    draws: int
    concentration: float
    ranks: pd.DataFrame
    method_scores: pd.DataFrame
    method_ranks: pd.DataFrame
    tau: pd.DataFrame
    reading: str = ""  # `stability_reading`; a notebook shows it

    def _repr_html_(self) -> str:
        return text(self.reading).markup


@dataclass
class Change:
    """Regions scored in both quarters (`change_since_previous`), the quarter before, and the reading."""

    frame: pd.DataFrame
    before: str
    reading: str = ""

    def _repr_html_(self) -> str:
        return text(self.reading).markup


def stability(card: Scorecard, draws: int = 500, concentration: float = 50.0, seed: int = 2024) -> Stability:
    """Re-rank under `draws` weight vectors from Dirichlet(`concentration` x chosen weights).

    Each perturbed weight has mean equal to the chosen weight and standard deviation
    sqrt(w (1 - w) / (concentration + 1)): about 40% of a weight of 0.1 at the default 50.
    Scores are recomputed from the same normalised values; the warning rule is applied to
    each draw. Deterministic for a given `seed` and invariant to the order of regions.
    """
    if draws < 1 or not concentration > 0:
        raise ValueError(f"draws must be at least 1 and concentration above 0, got {draws} and {concentration}")
    rng = np.random.default_rng(seed)
    alpha = np.maximum(concentration * card.weights.to_numpy(), ALPHA_FLOOR)
    scores = 100 * rng.dirichlet(alpha, size=draws) @ card.normalised.to_numpy().T
    ranks = rank_matrix(scores, card.groups)
    under, bottom = _rule(scores, card)
    table = pd.DataFrame(
        {
            "rank": card.ranks,
            "rank_low": np.percentile(ranks, 5, axis=0, method="lower"),
            "rank_high": np.percentile(ranks, 95, axis=0, method="higher"),
            "warned_share": (under | bottom).mean(axis=0),
            "bottom_share": bottom.mean(axis=0),
        },
        index=card.regions.index,
    )
    method_ranks = card.method_scores.apply(lambda column: ranks_within(column, card.groups))
    result = Stability(
        draws,
        concentration,
        table.astype({"rank_low": "int64", "rank_high": "int64"}),
        card.method_scores,
        method_ranks,
        _tau(card.method_scores),
    )
    result.reading = stability_reading(card, result)
    return result


def _rule(scores: np.ndarray, card: Scorecard) -> tuple[np.ndarray, np.ndarray]:
    """The warning rule (`card.warning_rule`) on many score vectors at once: (under, bottom)."""
    s = card.settings
    from_bottom = rank_matrix(scores, card.groups, ascending=True)
    size = card.groups.map(card.groups.value_counts()).to_numpy()
    return scores < s.threshold, (from_bottom <= s.bottom_n) & (size > s.bottom_n)


def _tau(scores: pd.DataFrame) -> pd.DataFrame:
    methods = list(scores.columns)
    tau = pd.DataFrame(1.0, index=methods, columns=methods)
    for i, a in enumerate(methods):
        for b in methods[i + 1 :]:
            value = kendalltau(scores[a], scores[b]).statistic
            tau.loc[a, b] = tau.loc[b, a] = value
    return tau


def stability_reading(card: Scorecard, result: Stability) -> str:
    """Sentences: how far ranks move under perturbed weights, how well the methods agree, and which
    warnings depend on the weighting."""
    width = (result.ranks["rank_high"] - result.ranks["rank_low"]).median()
    pairs = result.tau.where(np.triu(np.ones(result.tau.shape, dtype=bool), k=1)).stack()
    sentences = [
        f"Under {result.draws} perturbed weightings around the {METHOD_WORDS[card.settings.weights]} weights, "
        f"a typical region's rank ranges over {width:.0f} places (median width of the 5th to 95th percentiles)."
    ]
    if len(pairs):
        low, high = pairs.idxmin(), pairs.idxmax()
        sentences.append(
            f"Between methods, the scores agree with Kendall's tau from {pairs.min():.2f} "
            f"({METHOD_WORDS[low[0]]} against {METHOD_WORDS[low[1]]}) to {pairs.max():.2f} "
            f"({METHOD_WORDS[high[0]]} against {METHOD_WORDS[high[1]]})."
        )
    warned = card.flags.index[card.flags["warned"]]
    if len(warned):
        firm = int((result.ranks.loc[warned, "warned_share"] >= 0.95).sum())
        sentences.append(f"Of the {len(warned)} warned regions, {firm} stay warned in at least 95% of the draws.")
    bottom = card.flags.index[card.flags["bottom"]]
    if len(bottom):
        shares = result.ranks.loc[bottom, "bottom_share"].sort_values(ascending=False)
        listed = ", ".join(f"{card.regions.at[r, 'name']} {share:.0%}" for r, share in shares.items())
        sentences.append(
            f"The regions in the bottom {card.settings.bottom_n} of their peer group stay there in "
            f"this share of the draws: {listed}."
        )
    fragile = [r for r in warned if not card.flags.at[r, "robust"]]
    if fragile:
        sentences.append(
            "Warnings that depend on the weighting method: "
            + "; ".join(
                f"{card.regions.at[r, 'name']} (warned under {method_words(_methods(card, r, True))}, "
                f"not under {method_words(_methods(card, r, False), 'or')})"
                for r in fragile
            )
            + "."
        )
    elif len(warned):
        sentences.append("No warning depends on the weighting method: each region warned is warned under every method.")
    return " ".join(sentences)


def _methods(card: Scorecard, region: str, warned: bool) -> list[str]:
    row = card.by_method("warned").loc[region]
    return list(row.index[row == warned])


def change_since_previous(dataset: Dataset, card: Scorecard) -> Change:
    """Each region scored in both this quarter and the one before (scored the same way, with that
    quarter's own data and weights): scores, ranks, the change in score and whether it is warned,
    lowest change first; with its reading (`change_reading`)."""
    s = card.settings
    before_period = str(Quarter.parse(s.period).shift(-1))
    try:
        before = build(
            dataset,
            before_period,
            tree=card.source_tree,
            weights=s.weights,
            normalisation=s.normalisation,
            peer_group=s.peer_group,
            threshold=s.threshold,
            bottom_n=s.bottom_n,
            min_cell_size=s.min_cell_size,
        )
    except Unavailable as err:
        raise Unavailable(
            f"{before_period} cannot be scored ({str(err).rstrip('.')}), so there is no change to show"
        ) from err
    both = card.regions.index.intersection(before.regions.index)
    if both.empty:
        raise Unavailable(f"no region is scored in both {before_period} and {s.period}")
    frame = pd.DataFrame(
        {
            "name": card.regions.loc[both, "name"],
            "score_before": before.scores[both],
            "score": card.scores[both],
            "rank_before": before.ranks[both],
            "rank": card.ranks[both],
            "warned_before": before.flags.loc[both, "warned"],
            "warned": card.flags.loc[both, "warned"],
        }
    )
    frame.insert(3, "change", frame["score"] - frame["score_before"])
    frame = frame.rename_axis("region_id").reset_index().sort_values(["change", "region_id"]).reset_index(drop=True)
    return Change(frame, before_period, change_reading(frame, before_period, card))


def change_reading(change: pd.DataFrame, before: str, card: Scorecard) -> str:
    """Who is newly warned, who no longer is, and the largest moves since the quarter `before`."""
    now = card.settings.period
    new = change[change["warned"] & ~change["warned_before"]]
    gone = change[~change["warned"] & change["warned_before"]]
    sentences = [
        f"Against {before} (scored the same way, with that quarter's data and weights), {len(change)} regions "
        f"are scored in both quarters: {len(new)} are newly warned{_names(new)} and {len(gone)} no longer "
        f"are{_names(gone)}."
    ]
    fall, rise = change.iloc[0], change.iloc[-1]
    threshold = card.settings.threshold
    if fall["change"] < 0:
        sentences.append(
            f"The largest fall is {fall['name']}'s, from {score_text(fall['score_before'], threshold)} to "
            f"{score_text(fall['score'], threshold)} (rank {fall['rank_before']} to {fall['rank']})."
        )
    if rise["change"] > 0:
        sentences.append(
            f"The largest rise is {rise['name']}'s, from {score_text(rise['score_before'], threshold)} to "
            f"{score_text(rise['score'], threshold)} (rank {rise['rank_before']} to {rise['rank']})."
        )
    sentences.append(f"The median change is {change['change'].median():+.1f} points between {before} and {now}.")
    return " ".join(sentences)


def _names(rows: pd.DataFrame, limit: int = 6) -> str:
    if rows.empty:
        return ""
    names = list(rows["name"])
    return " (" + ", ".join(names[:limit]) + (", ..." if len(names) > limit else "") + ")"
