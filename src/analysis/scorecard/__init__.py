"""The enforcement efficiency index and the quarter's warnings.

Zhejiang scores every district and county on a law-enforcement efficiency index (6 first-level,
9 second-level indicators); Sichuan warns, each quarter, every unit under 80 points and the
bottom three. This package builds that page so that a warning can be explained and checked:

* `tree`: the indicator tree (TOML, bundled or the user's), checked node by node;
* `indicators`: the second-level indicators per region and quarter, under disclosure control;
* `weighting`: normalisation within peer groups; entropy, CRITIC, PCA, equal and expert weights;
* `card`: `build` -> `Scorecard` (scores 0-100, ranks, Sichuan's warning rule);
* `stability`: ranks under perturbed weights and across methods; change since the last quarter;
* `reading`: reasons and findings in words; `tables`: the CSV and the report's tables;
* `figures`: the notebook's figures (returned, never saved).
"""

from .card import Scorecard, Settings, build, check, check_period, ranks_within, score, warning_rule
from .indicators import METRICS
from .reading import findings, key_message, reasons, scale_note, warning_labels
from .stability import Change, Stability, change_reading, change_since_previous, stability, stability_reading
from .tables import csv_frame, save, scorecard_table, tiers, weights_frame
from .tree import NORMALISATIONS, PEER_GROUPS, Node, Tree, load_tree
from .weighting import METHODS, critic_weights, entropy_weights, normalise, pca_weights

__all__ = [
    "METHODS",
    "METRICS",
    "NORMALISATIONS",
    "PEER_GROUPS",
    "Change",
    "Node",
    "Scorecard",
    "Settings",
    "Stability",
    "Tree",
    "build",
    "change_reading",
    "change_since_previous",
    "check",
    "check_period",
    "critic_weights",
    "csv_frame",
    "entropy_weights",
    "findings",
    "key_message",
    "load_tree",
    "normalise",
    "pca_weights",
    "ranks_within",
    "reasons",
    "save",
    "scale_note",
    "score",
    "scorecard_table",
    "stability",
    "stability_reading",
    "tiers",
    "warning_labels",
    "warning_rule",
    "weights_frame",
]
