"""The quarter's scorecard: scores 0-100, ranks within peer groups, and Sichuan's warning rule.

`build` is the one entry point: indicators from the data, normalised within peer groups,
weighted, scored, ranked and warned, with what it left out said in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..data import Dataset
from ..disclosure import DEFAULT_MIN_CELL_SIZE, Withheld
from ..errors import ParameterError
from ..limits import Unavailable
from ..metrics import quarter_span
from ..quarter import Quarter
from . import indicators as ind
from .tree import NORMALISATIONS, PEER_GROUPS, Tree, load_tree
from .weighting import METHOD_WORDS, METHODS, fill_with_peer_median, method_weights, normalise

MIN_COVERAGE = 0.5  # an indicator with values for fewer than half the scored regions is left out
MIN_PEERS = 2  # a region needs at least one peer to be ranked


@dataclass(frozen=True)
class Settings:
    """How a scorecard is built (see `build`)."""

    period: str
    weights: str = "entropy"
    normalisation: str = "minmax"
    peer_group: str = "level"
    threshold: float = 80.0
    bottom_n: int = 3
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE


@dataclass
class Scorecard:
    """One quarter's scorecard. Frames are indexed by region_id (scored regions, sorted).

    `raw`: indicator values that may be shown (missing where withheld or not defined);
    `states`: "", "withheld" or "missing" per cell; `normalised`: the 0-1 values the score
    uses (missing ones at the peer median); `weights`: each leaf's effective weight under
    the chosen method (sums to 1); `all_weights`: leaves x methods; `method_scores`: regions x
    methods; `flags`: under, bottom, warned, robust (warned under every method) per region.
    """

    settings: Settings
    source_tree: Tree
    tree: Tree
    regions: pd.DataFrame
    raw: pd.DataFrame
    states: pd.DataFrame
    normalised: pd.DataFrame
    all_weights: pd.DataFrame
    scores: pd.Series
    ranks: pd.Series
    method_scores: pd.DataFrame
    flags: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    withheld: Withheld | None = None

    @property
    def weights(self) -> pd.Series:
        return self.all_weights[self.settings.weights]

    @property
    def groups(self) -> pd.Series:
        return self.regions["peer_group"]

    def _repr_html_(self) -> str:
        """In a notebook a scorecard shows as its findings, then what it left out (`reading`)."""
        from ..display import text
        from .reading import findings, left_out

        return text(findings(self)).markup + (text(left_out(self)).markup if self.notes else "")

    def by_method(self, flag: str = "warned") -> pd.DataFrame:
        """A flag of the warning rule ("under", "bottom" or "warned") under every method (regions x methods)."""
        s = self.settings
        return pd.DataFrame(
            {
                m: warning_rule(self.method_scores[m], self.groups, s.threshold, s.bottom_n)[flag]
                for m in self.method_scores.columns
            }
        )


def build(
    dataset: Dataset,
    period: str,
    *,
    tree: Tree | dict | str | None = None,
    weights: str = "entropy",
    normalisation: str | None = None,
    peer_group: str | None = None,
    threshold: float = 80.0,
    bottom_n: int = 3,
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE,
) -> Scorecard:
    """Score, rank and warn every region with at least `min_cell_size` inspections in `period`.

    Each indicator of the tree is computed per region, normalised within the region's peer
    group (regions of the same level, the same province, or all) so that higher is better,
    and weighted (`weights`: entropy, critic, pca, equal or expert). `normalisation` and
    `peer_group`, when None, are the tree's ([index]; bundled: minmax, level). The score is 100 times
    the weighted sum of the normalised values, so it lies in 0-100, and it is invariant to the
    order of rows. A region is warned when its score is under `threshold` or among the
    `bottom_n` lowest of its peer group (ties at the boundary all warned; the bottom-n rule
    applies only to groups of more than `bottom_n` regions).

    Left out, with a note in `Scorecard.notes`: regions with fewer than `min_cell_size`
    inspections (counted, never named), regions without a peer, indicators whose columns the
    data lacks, that fewer than half the regions have a value for, or that are the same for
    all (the tree's weights re-normalise). A value withheld (built from fewer than
    `min_cell_size` inspections, cases, or inspections finding a major hazard) or not
    defined counts at the peer median and never enters a score. Raises `Unavailable` when
    nothing can be scored and `ParameterError` for a bad setting.
    """
    source = load_tree(tree)
    settings = Settings(
        period,
        weights,
        normalisation or source.normalisation,
        peer_group or source.peer_group,
        float(threshold),
        int(bottom_n),
        int(min_cell_size),
    )
    check(settings)
    if weights == "expert" and not source.has_expert_weights:
        raise Unavailable("the indicator tree gives no expert weights, so the expert weighting cannot be used")
    counts = ind.counts(dataset, Quarter.parse(period).period)
    notes: list[str] = []
    regions = _scored_regions(dataset, counts, settings, notes)
    used_tree, raw, states = _indicators(dataset, source, counts.loc[regions.index], settings, notes)
    normalised, all_weights, scores = score(raw, used_tree, regions["peer_group"], settings.normalisation)
    flags = warning_rule(scores[weights], regions["peer_group"], settings.threshold, settings.bottom_n)
    withheld = Withheld(
        f"scorecard {period}",
        settings.min_cell_size,
        primary=int((states == ind.WITHHELD).sum().sum()),
        names=int(((counts["inspections"] > 0) & (counts["inspections"] < settings.min_cell_size)).sum()),
        mask=states == ind.WITHHELD,
    )
    card = Scorecard(
        settings,
        source,
        used_tree,
        regions,
        raw,
        states,
        normalised,
        all_weights,
        scores[weights],
        ranks_within(scores[weights], regions["peer_group"]),
        scores,
        flags,
        notes,
        withheld,
    )
    flags["robust"] = flags["warned"] & card.by_method("warned").all(axis=1)
    return card


def score(
    raw: pd.DataFrame, tree: Tree, groups: pd.Series, normalisation: str = "minmax"
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scores under every weighting method from indicator values (regions x the tree's leaves).

    Returns the normalised values used (0-1, higher is better, missing ones at the peer median),
    the weights (leaves x methods; expert only when the tree has weights) and the scores
    (regions x methods): 100 times the normalised values times the weights, so within 0-100.
    """
    signs = pd.Series({leaf.id: leaf.sign for leaf in tree.leaves})
    normalised, _ = fill_with_peer_median(normalise(raw, signs, groups, normalisation), groups)
    methods = [m for m in METHODS if m != "expert" or tree.has_expert_weights]
    all_weights = pd.DataFrame({m: method_weights(m, normalised, tree) for m in methods})
    return normalised, all_weights, 100 * normalised @ all_weights


def check(settings: Settings) -> None:
    """Raise ParameterError naming every setting that cannot be used."""
    problems = (
        [] if Quarter.is_quarter(settings.period) else [f"period {settings.period!r} is not a quarter like 2023Q4"]
    )
    if settings.weights not in METHODS:
        problems.append(f"weights must be one of {', '.join(METHODS)}, got {settings.weights!r}")
    if settings.normalisation not in NORMALISATIONS:
        problems.append(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {settings.normalisation!r}")
    if settings.peer_group not in PEER_GROUPS:
        problems.append(f"peer group must be one of {', '.join(PEER_GROUPS)}, got {settings.peer_group!r}")
    if not (np.isfinite(settings.threshold) and 0 <= settings.threshold <= 100):
        problems.append(f"threshold must be a score from 0 to 100, got {settings.threshold:g}")
    if settings.bottom_n < 0:
        problems.append(f"bottom n must be 0 (no bottom rule) or more, got {settings.bottom_n}")
    if settings.min_cell_size < 1:
        problems.append(f"min_cell_size must be at least 1, got {settings.min_cell_size}")
    if problems:
        raise ParameterError("; ".join(problems))


def check_period(dataset: Dataset, period: str) -> None:
    """Raise ParameterError when `period` lies outside the quarters the data's inspections cover."""
    span = quarter_span(dataset)
    if span is None:
        raise ParameterError("the data has no inspections")
    first, last = Quarter.of(span[0]), Quarter.of(span[1])
    if not first <= Quarter.parse(period) <= last:
        raise ParameterError(f"period {period} is outside the data ({first} to {last})")


def warning_rule(scores: pd.Series, groups: pd.Series, threshold: float, bottom_n: int) -> pd.DataFrame:
    """Sichuan's rule per region: `under` (score strictly below `threshold`), `bottom` (among the
    `bottom_n` lowest of its peer group) and `warned` (either).

    "Among the bottom n" means a rank from the bottom of at most `bottom_n`, tied scores sharing
    the lowest rank, so a tie at the boundary warns every tied region. The bottom rule applies
    only to groups of more than `bottom_n` regions (in a smaller group everyone would be warned).
    """
    under = scores < threshold
    from_bottom = scores.groupby(groups).rank(method="min", ascending=True)
    size = groups.map(groups.value_counts())
    bottom = (from_bottom <= bottom_n) & (size > bottom_n)
    return pd.DataFrame({"under": under, "bottom": bottom, "warned": under | bottom})


def ranks_within(scores: pd.Series, groups: pd.Series) -> pd.Series:
    """Rank 1 = highest score within the peer group; tied scores share the better rank."""
    return scores.groupby(groups).rank(method="min", ascending=False).astype("int64")


def rank_matrix(scores: np.ndarray, groups: pd.Series, ascending: bool = False) -> np.ndarray:
    """`ranks_within` for many score vectors at once (draws in rows, regions in columns)."""
    out = np.empty(scores.shape)
    for rows in groups.groupby(groups.to_numpy()).indices.values():
        out[:, rows] = rankdata(scores[:, rows] if ascending else -scores[:, rows], axis=1, method="min")
    return out


def _scored_regions(dataset: Dataset, counts: pd.DataFrame, settings: Settings, notes: list[str]) -> pd.DataFrame:
    """Regions with enough inspections, with their peer group; what was left out goes to `notes`."""
    k, period = settings.min_cell_size, settings.period
    n = counts["inspections"]
    if n.sum() == 0:
        raise Unavailable(f"the data has no inspections in {period}, so there is nothing to score")
    none, few = int((n == 0).sum()), int(((n > 0) & (n < k)).sum())
    parts = ([f"{_regions(none)} without inspections in {period}"] if none else []) + (
        [f"{_regions(few)} with fewer than {k} inspections (not named)"] if few else []
    )
    if parts:
        notes.append(f"Not scored: {' and '.join(parts)}.")
    table = dataset.regions.assign(region_id=lambda r: r["region_id"].astype("str")).set_index("region_id")
    kept = table.loc[n.index[n >= k]].sort_index()
    if kept.empty:
        raise Unavailable(
            f"no region has {k} or more inspections in {period}, so no region can be scored "
            "without showing figures from fewer inspections"
        )
    group = {
        "level": kept["level"].astype("str"),
        "province": kept["province"].astype("str"),
        "all": pd.Series("all", index=kept.index),
    }[settings.peer_group]
    alone = group.map(group.value_counts()) < MIN_PEERS
    if alone.any():
        names = ", ".join(kept.loc[alone, "name"].astype("str"))
        notes.append(
            f"Not scored: {_regions(int(alone.sum()))} without another region of the same peer group to "
            f"compare with ({names})."
        )
    if alone.all():
        raise Unavailable(
            f"no peer group has two regions with {k} or more inspections in {period}, so there is "
            "no one to compare a region with"
        )
    return pd.DataFrame(
        {"name": kept["name"].astype("str"), "peer_group": group, "inspections": n.loc[kept.index].astype("int64")}
    )[~alone]


def _indicators(
    dataset: Dataset, tree: Tree, counts: pd.DataFrame, settings: Settings, notes: list[str]
) -> tuple[Tree, pd.DataFrame, pd.DataFrame]:
    """The tree without the indicators the data cannot give, and the values and states of the rest."""
    dropped = {}
    for leaf in tree.leaves:
        column = ind.lacking(dataset, leaf.measure)
        if column:
            dropped[leaf.id] = f"the data does not record it (column {column})"
    kept = [leaf for leaf in tree.leaves if leaf.id not in dropped]
    values, states = ind.values(counts, {leaf.id: leaf.measure for leaf in kept}, settings.min_cell_size)
    for leaf in kept:
        column, shown = values[leaf.id], int(values[leaf.id].notna().sum())
        if shown < MIN_COVERAGE * len(values):
            held = int((states[leaf.id] == ind.WITHHELD).sum())
            basis = ind.BASIS_WORDS.get(ind.METRICS[leaf.measure].basis or "", "inspections")
            dropped[leaf.id] = (
                f"only {shown} of {len(values)} regions have a value in {settings.period} "
                f"({held} withheld: built from fewer than {settings.min_cell_size} {basis})"
            )
        elif column.nunique() <= 1:
            dropped[leaf.id] = f"every region has the same value in {settings.period}, so it ranks no one"
    for leaf_id, why in dropped.items():
        notes.append(f"Left out: {tree.node(leaf_id).label.lower()}: {why}.")
    used = [leaf.id for leaf in kept if leaf.id not in dropped]
    if not used:
        raise Unavailable(f"none of the index's indicators can be computed for {settings.period} from this data")
    return tree.without(dropped), values[used], states[used]


def _regions(n: int) -> str:
    return f"{n} region" if n == 1 else f"{n} regions"


def method_words(methods, conjunction: str = "and") -> str:
    """'entropy, CRITIC and equal' for a list of method names."""
    words = [METHOD_WORDS[m] for m in methods]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {conjunction} " + words[-1]
