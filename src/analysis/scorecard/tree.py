"""The indicator tree: the index's indicators, their directions and expert weights.

A tree is read from TOML (the bundled ``resources/indicator_tree.toml``, a file of the same
form, or its tables as a dict) and checked as a whole: every problem is named with its node,
and all are reported at once as a `ParameterError`. Besides the indicators, the tree defines
how the index compares regions ([index]: normalisation, peer group) and the tiers' cut-points.

A user's tree is laid over the bundled one: its [index] and [tiers] keys replace the bundled
ones key by key, and its [nodes], when given, replace all the bundled nodes. So
``{"index": {"peer_group": "province"}}`` changes only the peer groups.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import pandas as pd

from ..errors import ParameterError
from .indicators import METRICS

DIRECTIONS = ("higher_is_better", "lower_is_better")
NODE_KEYS = ("label", "parent", "metric", "direction", "weight")
TOP_KEYS = ("index", "tiers", "nodes")
INDEX_KEYS = ("title", "normalisation", "peer_group")
NORMALISATIONS = ("minmax", "zscore")
PEER_GROUPS = ("level", "province", "all")
RESERVED = ("region_id", "name", "peer_group", "inspections", "score", "rank", "warning", "reason")
WEIGHT_TOLERANCE = 1e-6
DEFAULT_TIERS = (0.85, 0.70)  # the EPA State Review Framework's cut-points, as shares of the peer median


@dataclass(frozen=True)
class Node:
    """One indicator: first-level (no parent) or below; a leaf has a metric and a direction."""

    id: str
    label: str
    parent: str | None = None
    metric: str | None = None
    direction: str | None = None
    weight: float | None = None  # the expert weight among its siblings

    @property
    def measure(self) -> str:
        """The metric of a second-level indicator (ValueError for an indicator with others under it)."""
        if self.metric is None:
            raise ValueError(f"node {self.id!r} has indicators under it, not a metric")
        return self.metric

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better."""
        return 1 if self.direction == "higher_is_better" else -1


@dataclass(frozen=True)
class Tree:
    """A checked indicator tree; nodes in file order."""

    title: str
    nodes: tuple[Node, ...]
    tiers: tuple[float, float] = DEFAULT_TIERS  # (meets expectations from, area for attention above)
    normalisation: str = "minmax"
    peer_group: str = "level"

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def children(self, parent: str | None) -> list[Node]:
        return [n for n in self.nodes if n.parent == parent]

    @property
    def first_level(self) -> list[Node]:
        return self.children(None)

    @property
    def leaves(self) -> list[Node]:
        """Leaves depth-first, in file order within each parent: the scorecard's column order."""

        def below(node: Node) -> list[Node]:
            kids = self.children(node.id)
            return [node] if not kids else [leaf for kid in kids for leaf in below(kid)]

        return [leaf for top in self.first_level for leaf in below(top)]

    def top_of(self, node_id: str) -> Node:
        """The first-level indicator a node belongs to."""
        node = self.node(node_id)
        while node.parent is not None:
            node = self.node(node.parent)
        return node

    @property
    def has_expert_weights(self) -> bool:
        return all(n.weight is not None for n in self.nodes)

    def effective_weights(self, kind: str = "expert") -> pd.Series:
        """Each leaf's weight in the index: the product of the weights down the tree (sums to 1).

        `kind` "expert": the tree's weights; "equal": siblings weigh the same at every level.
        """
        if kind == "expert" and not self.has_expert_weights:
            raise ParameterError("the indicator tree gives no expert weights; choose another weighting method")

        def share(node: Node) -> float:
            return float(node.weight or 0.0) if kind == "expert" else 1.0 / len(self.children(node.parent))

        weights: dict[str, float] = {}
        for leaf in self.leaves:
            weight, node = share(leaf), leaf
            while node.parent is not None:
                node = self.node(node.parent)
                weight *= share(node)
            weights[leaf.id] = weight
        return pd.Series(weights, dtype="float64")

    def without(self, leaf_ids) -> Tree:
        """The tree without these leaves (and any indicator left with none under it); the expert
        weights of the remaining siblings are scaled to sum to 1 again."""
        gone = set(leaf_ids)
        kept = [n for n in self.nodes if n.id not in gone]
        while True:
            empty = {n.id for n in kept if n.metric is None and not any(m.parent == n.id for m in kept)}
            if not empty:
                break
            kept = [n for n in kept if n.id not in empty]
        if self.has_expert_weights:
            totals: dict[str | None, float] = {}
            for n in kept:
                totals[n.parent] = totals.get(n.parent, 0.0) + float(n.weight or 0.0)
            kept = [replace(n, weight=float(n.weight or 0.0) / totals[n.parent]) for n in kept]
        return replace(self, nodes=tuple(kept))


def load_tree(source: Tree | dict | str | Path | None = None) -> Tree:
    """The indicator tree from `source` laid over the bundled tree (see the module docstring):
    None or an empty dict for the bundled tree as it is, a TOML file's path, or a file's tables as
    a dict. Raises ParameterError naming every faulty node."""
    if isinstance(source, Tree):
        return source
    bundled = tomllib.loads(
        resources.files("analysis").joinpath("resources/indicator_tree.toml").read_text(encoding="utf-8")
    )
    if source is None or isinstance(source, dict):
        return tree_from_dict(_laid_over(bundled, source or {}))
    try:
        settings = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ParameterError(f"indicator tree {source}: cannot be read ({err})") from err
    except tomllib.TOMLDecodeError as err:
        raise ParameterError(f"indicator tree {source}: not valid TOML ({err})") from err
    return tree_from_dict(_laid_over(bundled, settings), where=f"indicator tree {source}")


def _laid_over(bundled: dict, given: dict) -> dict:
    out = {**bundled, **{key: value for key, value in given.items() if key not in ("index", "tiers")}}
    for section in ("index", "tiers"):
        if section in given:
            mine = given[section]
            out[section] = {**bundled.get(section, {}), **mine} if isinstance(mine, dict) else mine
    return out


def tree_from_dict(settings: dict, where: str = "indicator tree") -> Tree:
    """Check a tree given as TOML tables; raise ParameterError listing every problem."""
    problems = [f"unknown section {key!r} (known: {', '.join(TOP_KEYS)})" for key in settings if key not in TOP_KEYS]
    raw = settings.get("nodes")
    if not isinstance(raw, dict) or not raw:
        raise ParameterError(f"{where}: no indicators: give them as [nodes.ID] tables")
    nodes = []
    for node_id, fields in raw.items():
        node, found = _node(str(node_id), fields)
        problems += found
        if node is not None:
            nodes.append(node)
    if not problems:
        problems += _structure(nodes)
    tiers, found = _tiers(settings.get("tiers", {}))
    problems += found
    index, found = _index(settings.get("index", {}))
    problems += found
    if problems:
        raise ParameterError(f"{where}: " + "; ".join(problems))
    return Tree(index["title"], tuple(nodes), tiers, index["normalisation"], index["peer_group"])


def _node(node_id: str, fields) -> tuple[Node | None, list[str]]:
    """One node from its table, and what is wrong with it on its own."""
    if not isinstance(fields, dict):
        return None, [f"node {node_id!r}: expected a table of settings, got {fields!r}"]
    problems = [
        f"node {node_id!r}: unknown key {key!r} (known: {', '.join(NODE_KEYS)})"
        for key in fields
        if key not in NODE_KEYS
    ]
    if node_id in RESERVED:
        problems.append(f"node {node_id!r}: the name is taken by a column of the scorecard; choose another")
    metric, direction, weight = fields.get("metric"), fields.get("direction"), fields.get("weight")
    if metric is not None and metric not in METRICS:
        problems.append(f"node {node_id!r}: unknown metric {metric!r} (known: {', '.join(METRICS)})")
    if metric is not None and direction is None:
        problems.append(f'node {node_id!r}: no direction; give direction = "higher_is_better" or "lower_is_better"')
    if direction is not None and direction not in DIRECTIONS:
        problems.append(
            f'node {node_id!r}: direction {direction!r} is neither "higher_is_better" nor "lower_is_better"'
        )
    if direction is not None and metric is None:
        problems.append(f"node {node_id!r}: a direction without a metric")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0):
        problems.append(f"node {node_id!r}: weight must be a number above 0, got {weight!r}")
        weight = None
    parent = fields.get("parent")
    label = fields.get("label") or (
        METRICS[metric].label.capitalize() if metric in METRICS else node_id.replace("_", " ")
    )
    node = Node(
        node_id,
        str(label),
        None if parent is None else str(parent),
        metric,
        direction,
        None if weight is None else float(weight),
    )
    return node, problems


def _structure(nodes: list[Node]) -> list[str]:
    """Problems of the tree as a whole: unknown parents, cycles, leaves and branches, weights."""
    by_id = {n.id: n for n in nodes}
    problems = [
        f"node {n.id!r}: parent {n.parent!r} is not a node of the tree"
        for n in nodes
        if n.parent is not None and n.parent not in by_id
    ]
    if problems:
        return problems
    problems += _cycles(by_id)
    if problems:
        return problems
    for n in nodes:
        below = [m for m in nodes if m.parent == n.id]
        if n.metric is not None and below:
            problems.append(f"node {n.id!r}: has a metric and indicators under it; a node is one or the other")
        if n.metric is None and not below:
            problems.append(f"node {n.id!r}: has neither a metric nor indicators under it")
    return problems + _weights(nodes)


def _cycles(by_id: dict[str, Node]) -> list[str]:
    found: list[str] = []
    seen_in_cycle: set[str] = set()
    for start in by_id:
        path, node = [start], by_id[start]
        while node.parent is not None and node.parent not in path:
            path.append(node.parent)
            node = by_id[node.parent]
        if node.parent is not None and node.parent not in seen_in_cycle:
            loop = path[path.index(node.parent) :]
            seen_in_cycle.update(loop)
            found.append(
                "nodes "
                + " -> ".join(repr(x) for x in [*loop, loop[0]])
                + " form a cycle (each names the next as parent)"
            )
    return found


def _weights(nodes: list[Node]) -> list[str]:
    weighted = [n for n in nodes if n.weight is not None]
    if not weighted:
        return []
    problems = [
        f"node {n.id!r}: no weight, while other nodes have one (give every node a weight, or none)"
        for n in nodes
        if n.weight is None
    ]
    for parent in dict.fromkeys(n.parent for n in nodes):
        siblings = [n for n in nodes if n.parent == parent and n.weight is not None]
        total = sum(float(n.weight or 0.0) for n in siblings)
        if siblings and abs(total - 1.0) > WEIGHT_TOLERANCE:
            where = "the first-level indicators" if parent is None else f"the indicators under {parent!r}"
            listed = ", ".join(f"{n.id} {n.weight:g}" for n in siblings)
            problems.append(f"the weights of {where} sum to {total:g}, not 1 ({listed})")
    return problems


def _index(settings) -> tuple[dict, list[str]]:
    """[index]: the title, the normalisation and the peer groups."""
    if not isinstance(settings, dict):
        return {"title": "", "normalisation": "minmax", "peer_group": "level"}, [
            f"[index] must be a table, got {settings!r}"
        ]
    found = {
        "title": str(settings.get("title", "Enforcement efficiency index")),
        "normalisation": settings.get("normalisation", "minmax"),
        "peer_group": settings.get("peer_group", "level"),
    }
    problems = [f"[index]: unknown key {k!r} (known: {', '.join(INDEX_KEYS)})" for k in settings if k not in INDEX_KEYS]
    if found["normalisation"] not in NORMALISATIONS:
        problems.append(
            f"[index]: normalisation must be one of {', '.join(NORMALISATIONS)}, got {found['normalisation']!r}"
        )
    if found["peer_group"] not in PEER_GROUPS:
        problems.append(f"[index]: peer_group must be one of {', '.join(PEER_GROUPS)}, got {found['peer_group']!r}")
    return found, problems


def _tiers(settings) -> tuple[tuple[float, float], list[str]]:
    if not isinstance(settings, dict):
        return DEFAULT_TIERS, [f"[tiers] must be a table, got {settings!r}"]
    meets = settings.get("meets_expectations", DEFAULT_TIERS[0])
    attention = settings.get("area_for_attention", DEFAULT_TIERS[1])
    unknown = [k for k in settings if k not in ("meets_expectations", "area_for_attention")]
    problems = [f"[tiers]: unknown key {k!r} (known: meets_expectations, area_for_attention)" for k in unknown]
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (meets, attention))
    if not numbers or not 0 < attention < meets:
        problems.append(f"[tiers]: need 0 < area_for_attention < meets_expectations, got {attention!r} and {meets!r}")
        return DEFAULT_TIERS, problems
    return (float(meets), float(attention)), problems
