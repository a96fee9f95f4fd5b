"""The scorecard as tables: the CSV and its weights, and the notebook's tables (escaped HTML).

Frames come first (`csv_frame`, `weights_frame`, `warned_table`, `tiers`, ...); the `*_html`
functions set them as the report shows them, with captions and legends.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .. import display, labels
from ..csvout import write_csv
from . import indicators as ind
from .card import Scorecard
from .reading import TIERS, reasons, warning_labels
from .stability import Change, Stability
from .weighting import METHOD_WORDS

CSV_NAME = "scorecard.csv"
NEEDS_WORDS = {"inspections.inspection_id": "number of inspections"}  # a count of rows, not a column's values


def csv_frame(card: Scorecard) -> pd.DataFrame:
    """One row per scored region: region_id, each leaf's normalised value (0-1, named as in the tree),
    score, rank, warning (empty when none) and reason. The score is 100 x the sum of the leaf values
    times `weights_frame`'s weights (the values are written in full, so it recomputes to 1e-9).
    Rows by peer group and rank."""
    frame = card.normalised.copy()
    frame["score"], frame["rank"] = card.scores, card.ranks
    frame["warning"], frame["reason"] = warning_labels(card), reasons(card)
    order = pd.DataFrame({"group": card.groups, "rank": card.ranks, "id": card.regions.index}).sort_values(
        ["group", "rank", "id"]
    )
    return frame.loc[order.index].rename_axis("region_id").reset_index()


def weights_frame(card: Scorecard) -> pd.DataFrame:
    """`indicator,weight` rows: each leaf's effective weight (the product down the tree), summing to 1."""
    return pd.DataFrame({"indicator": card.weights.index, "weight": card.weights.to_numpy()})


def save(card: Scorecard) -> Path | None:
    """Inside a report build, write scorecard.csv into the notebook's results folder ($ANALYSIS_RESULTS_DIR)
    and return its path; interactively, write nothing and return None."""
    from ..results import RESULTS_ENV

    directory = os.environ.get(RESULTS_ENV)
    if not directory:
        return None
    path = Path(directory) / CSV_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(csv_frame(card), path)
    return path


def warned_table(card: Scorecard) -> pd.DataFrame:
    """The warned regions, lowest score first: name, id, score, rank, peers, warning and reason."""
    frame = _named(card).assign(warning=warning_labels(card), reason=reasons(card))[card.flags["warned"]]
    return frame.sort_values(["score", "region_id"]).reset_index(drop=True)


def scorecard_table(card: Scorecard) -> display.Html:
    """Every scored region (sortable by clicking a heading): score, rank, warning and the normalised
    indicators; cells counted at the peer median print as "–"."""
    values = card.normalised.rename(columns=lambda leaf: card.tree.node(leaf).label)
    frame = pd.concat([_named(card).assign(warning=warning_labels(card)), values.rename_axis(None)], axis=1)
    frame = frame.sort_values(["peer group", "rank", "region_id"]).reset_index(drop=True)
    mask = (
        (card.states != ind.SHOWN).rename(columns=lambda leaf: card.tree.node(leaf).label).reindex(frame["region_id"])
    )
    marked = _Marks(
        mask.reset_index(drop=True),
        f"{display.WITHHELD} counted at the peer median: withheld (built from fewer "
        f"than {card.settings.min_cell_size} inspections, cases or inspections finding a major hazard) "
        "or not recorded",
    )
    table = display.table(
        frame,
        caption=f"Scorecard {card.settings.period}: indicators on a 0-1 scale (1 = best of the "
        "peer group), score 0-100",
        digits=2,
        withheld=marked if mask.to_numpy().any() else None,
    )
    return sortable(table)


def tiers(card: Scorecard) -> pd.DataFrame:
    """Each region's reading per first-level indicator, in the style of the US EPA State Review
    Framework: its sub-score (0-100, the weighted mean of its leaves) as a share of the peer
    median's: meets expectations at or above the tree's first cut-point (0.85), area for
    attention above the second (0.70), area for improvement at or below it."""
    meets, attention = card.tree.tiers
    out = {}
    for top in card.tree.first_level:
        leaves = [leaf.id for leaf in card.tree.leaves if card.tree.top_of(leaf.id).id == top.id]
        weights = card.weights[leaves] / card.weights[leaves].sum()
        sub = 100 * card.normalised[leaves] @ weights
        median = sub.groupby(card.groups.to_numpy()).transform("median")
        share = (sub / median.where(median > 0)).fillna(np.inf)
        out[top.label] = np.select([share >= meets, share > attention], TIERS[:2], TIERS[2])
    return pd.DataFrame(out, index=card.regions.index)


def tier_table(card: Scorecard) -> pd.DataFrame:
    """How many regions meet expectations, need attention or improvement on each first-level indicator."""
    table = tiers(card)
    return (
        pd.DataFrame({tier: (table == tier).sum() for tier in TIERS}).rename_axis("first-level indicator").reset_index()
    )


def warned_tiers(card: Scorecard) -> pd.DataFrame:
    """The warned regions' tiers per first-level indicator."""
    warned = card.flags.index[card.flags["warned"]]
    named = _named(card).loc[warned, ["region_id", "name", "score"]]
    return named.join(tiers(card)).sort_values(["score", "region_id"]).reset_index(drop=True)


def tree_table(card: Scorecard) -> pd.DataFrame:
    """The indicators of the tree: first-level, label, which way is better, the data columns it is computed
    from (`needs`, ``table.column`` code names, comma-separated), and the weight it had in this scorecard
    (a share of the index, 0 when left out)."""
    rows = []
    for leaf in card.source_tree.leaves:
        metric = ind.METRICS[leaf.measure]
        rows.append(
            {
                "first-level indicator": card.source_tree.top_of(leaf.id).label,
                "indicator": leaf.label,
                "better when": "higher" if leaf.sign > 0 else "lower",
                "needs": ", ".join(metric.needs),
                "weight": float(card.weights.get(leaf.id, 0.0)),
            }
        )
    return pd.DataFrame(rows)


def computed_from(needs: str) -> str:
    """The data an indicator is computed from, in words, grouped by data table:
    "inspections.penalty_amount, inspections.case_filed" -> "Inspections: fine (yuan), penalty case filed or not"."""
    by_table: dict[str, list[str]] = {}
    for need in filter(None, (n.strip() for n in needs.split(","))):
        table, column = need.split(".", 1)
        words = NEEDS_WORDS.get(need) or labels.data_column(table, column)
        by_table.setdefault(table, []).append(words)
    return labels.first_upper(
        "; ".join(f"{labels.data_table(table)}: {', '.join(words)}" for table, words in by_table.items())
    )


def method_weights_table(card: Scorecard) -> pd.DataFrame:
    """Each leaf's weight under every method (rows: indicators by label)."""
    return card.all_weights.rename(index=lambda leaf: card.tree.node(leaf).label).rename_axis("indicator").reset_index()


def _named(card: Scorecard) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_id": card.regions.index,
            "name": card.regions["name"].to_numpy(),
            "peer group": card.groups.to_numpy(),
            "score": card.scores.to_numpy(),
            "rank": card.ranks.to_numpy(),
        },
        index=card.regions.index.rename(None),
    )


class _Marks:
    """Cells `display.table` prints as "–", with their legend (the interface of `disclosure.Withheld`)."""

    def __init__(self, mask: pd.DataFrame, legend: str):
        self.mask, self.legend = mask, legend


SORT_SCRIPT = """<script>(function () {
  var table = document.getElementById('%s'); if (!table || !table.tHead) return;
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
    th.style.cursor = 'pointer'; th.title = 'Sort by this column';
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows), up = th.dataset.order !== 'asc';
      th.dataset.order = up ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[column].textContent, y = b.cells[column].textContent;
        var nx = parseFloat(x.replace(/,/g, '')), ny = parseFloat(y.replace(/,/g, ''));
        var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
        return up ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();</script>"""


def sortable(table: display.Html, name: str = "scorecard") -> display.Html:
    """`table` whose columns sort when their heading is clicked (a small inline script, no library)."""
    table_id = f"sortable-{html.escape(name)}"
    markup = table.markup.replace("<table ", f"<table id='{table_id}' ", 1)
    return display.Html(markup + SORT_SCRIPT % table_id)


# --- as the report shows them ------------------------------------------------------------------------


def warned_html(card: Scorecard) -> display.Html:
    """The warned regions with their reasons, lowest score first (a sentence when none is warned)."""
    frame = warned_table(card)
    if frame.empty:
        return display.text(f"No region is warned in {card.settings.period}.")
    return display.table(
        frame, caption=f"Warned regions, {card.settings.period} (lowest score first; score 0-100)", digits=1
    )


def tiers_html(card: Scorecard) -> display.Html:
    """How many regions meet expectations on each first-level indicator, and the warned regions' tiers."""
    counts = display.table(
        tier_table(card), caption=f"Regions by tier on each first-level indicator, {card.settings.period}"
    )
    warned = warned_tiers(card)
    if warned.empty:
        return counts
    shown = display.table(
        warned, caption="Warned regions by first-level indicator (sub-score against the peer median)", digits=1
    )
    return display.Html(counts.markup + shown.markup)


def weights_html(card: Scorecard) -> display.Html:
    frame = method_weights_table(card)
    shown = pd.DataFrame({"Indicator": frame["indicator"]})
    for method in frame.columns.drop("indicator"):
        shown[labels.first_upper(METHOD_WORDS.get(method, method))] = [_weight(x) for x in frame[method]]
    return display.table(
        shown,
        caption=f"Weight of each indicator by method, {card.settings.period} "
        f"(% of the index; used: {METHOD_WORDS[card.settings.weights]})",
    )


def _weight(x: float) -> str:
    """An indicator's weight as a share of the index: 7.9%; 0% for one left out."""
    return labels.percent(x)


def tau_html(result: Stability) -> display.Html:
    tau = result.tau.rename(index=METHOD_WORDS, columns=METHOD_WORDS).rename_axis("method").reset_index()
    return display.table(
        tau, caption="Agreement between methods: Kendall's tau between their scores (1 = same order)", digits=2
    )


def stability_html(card: Scorecard, result: Stability) -> display.Html:
    """The warned regions' (or the lowest ten's) ranks under perturbed weights."""
    chosen = card.flags.index[card.flags["warned"]] if card.flags["warned"].any() else card.scores.nsmallest(10).index
    table = result.ranks.loc[chosen].assign(name=card.regions.loc[chosen, "name"], score=card.scores[chosen])
    table = table.sort_values(["score"], kind="stable").rename_axis("region_id").reset_index()
    table = table[["name", "region_id", "score", "rank", "rank_low", "rank_high", "warned_share", "bottom_share"]]
    table.columns = [
        "name",
        "region_id",
        "score",
        "rank",
        "best rank (5%)",
        "worst rank (95%)",
        "share of draws warned",
        f"share of draws in the bottom {card.settings.bottom_n}",
    ]
    for share in table.columns[-2:]:
        table[share] = table[share].map(lambda x: f"{x:.0%}")
    return display.table(
        table, caption=f"Ranks under {result.draws} perturbed weightings (1 = best in the peer group)", digits=2
    )


def change_html(change: Change, shown: int = 10) -> display.Html:
    """The largest falls and rises in score since the quarter before."""
    moves = pd.concat([change.frame.head(shown), change.frame.tail(shown)]).drop_duplicates("region_id")
    moves = moves[["name", "region_id", "score_before", "score", "change", "rank_before", "rank", "warned"]]
    moves = moves.assign(warned=moves["warned"].map({True: "yes", False: "no"}))
    before = change.before
    return display.table(
        moves.rename(columns={"score_before": f"score {before}", "rank_before": f"rank {before}"}),
        caption=f"Largest falls and rises since {before} (points of the 0-100 score)",
        digits=1,
    )


def tree_html(card: Scorecard) -> display.Html:
    """`tree_table` as a reviewer reads it: the data each indicator is computed from in words, weights in %."""
    frame = tree_table(card)
    shown = pd.DataFrame(
        {
            "First-level indicator": frame["first-level indicator"],
            "Indicator": frame["indicator"],
            "Better when": frame["better when"],
            "Computed from (data table: columns)": [computed_from(n) for n in frame["needs"]],
            "Weight": [_weight(x) for x in frame["weight"]],
        }
    )
    return display.table(
        shown,
        caption=f"{card.source_tree.title}: the indicators and the weight each had "
        f"(% of the index, {METHOD_WORDS[card.settings.weights]} weights; 0% = left out)",
    )
