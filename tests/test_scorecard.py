"""The quarterly scorecard (analysis.scorecard): weights against pymcdm and by hand, the score's
algebra (0-100, monotone, row order, recomputable from the printed values), Sichuan's warning
rule with ties, the indicator tree's checks, disclosure control, and the `scorecard` command."""

from __future__ import annotations

import dataclasses
import io
import re
from importlib import resources

import numpy as np
import pandas as pd
import pymcdm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from analysis import scorecard
from analysis.cli import main
from analysis.data import load
from analysis.errors import ParameterError
from analysis.limits import Unavailable
from analysis.metrics import quarters_of
from analysis.scorecard import indicators, tables
from analysis.scorecard.card import rank_matrix
from analysis.scorecard.tree import Node, Tree
from analysis.scorecard.weighting import fill_with_peer_median

PERIOD = "2024Q4"
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory(seed=11, scale=0.3)  # shared with the report smoke test


@pytest.fixture(scope="module")
def dataset(world):
    return load(world)


@pytest.fixture(scope="module")
def card(dataset):
    return scorecard.build(dataset, PERIOD)


# --- weights: pymcdm, by hand, and an independent PCA --------------------------------------------------


def _decision_matrices(count: int = 20):
    rng = np.random.default_rng(7)
    for _ in range(count):
        rows, columns = rng.integers(3, 80), rng.integers(2, 10)
        yield rng.uniform(0.01, 10.0, size=(rows, columns)) * rng.uniform(0.1, 100.0, size=columns)


def test_entropy_weights_match_pymcdm():
    gaps = [
        np.abs(scorecard.entropy_weights(m) - pymcdm.weights.entropy_weights(m)).max() for m in _decision_matrices()
    ]
    assert max(gaps) < TOLERANCE, max(gaps)


def test_critic_weights_match_pymcdm():
    gaps = [np.abs(scorecard.critic_weights(m) - pymcdm.weights.critic_weights(m)).max() for m in _decision_matrices()]
    assert max(gaps) < TOLERANCE, max(gaps)


def test_critic_weights_match_pymcdm_on_normalised_values(card):
    """The matrix the scorecard actually weighs (0-1, with exact 0s and 1s)."""
    matrix = card.normalised.to_numpy()
    assert np.abs(scorecard.critic_weights(matrix) - pymcdm.weights.critic_weights(matrix)).max() < TOLERANCE


def test_entropy_weights_by_hand_with_a_zero_share():
    """0 log 0 counts as 0 (the limit), where pymcdm would set the first column's entropy to 0."""
    matrix = np.array([[0.0, 1.0], [1.0, 1.0], [3.0, 2.0]])
    e1 = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)) / np.log(3)
    e2 = -(2 * 0.25 * np.log(0.25) + 0.5 * np.log(0.5)) / np.log(3)
    expected = np.array([1 - e1, 1 - e2]) / (2 - e1 - e2)
    assert np.abs(scorecard.entropy_weights(matrix) - expected).max() < 1e-12


def test_pca_weights_are_the_squared_loadings_of_the_first_component():
    for matrix in _decision_matrices(8):
        standardised = (matrix - matrix.mean(axis=0)) / matrix.std(axis=0)
        loadings = PCA(n_components=1).fit(standardised).components_[0]
        assert np.abs(scorecard.pca_weights(matrix) - loadings**2).max() < TOLERANCE


def test_weights_of_every_method_sum_to_one(card):
    assert set(card.all_weights.columns) == set(scorecard.METHODS)
    assert np.abs(card.all_weights.sum() - 1).max() < TOLERANCE
    assert (card.all_weights >= 0).all().all()


# --- the indicator tree ---------------------------------------------------------------------------------


def test_bundled_tree_has_six_first_level_and_nine_second_level_indicators():
    tree = scorecard.load_tree()
    assert len(tree.first_level) == 6 and len(tree.leaves) == 9
    assert all(leaf.direction in ("higher_is_better", "lower_is_better") for leaf in tree.leaves)
    for kind in ("expert", "equal"):
        assert abs(tree.effective_weights(kind).sum() - 1) < TOLERANCE
    assert tree.effective_weights("expert")["avg_case_value"] == pytest.approx(0.15 * 0.6)
    assert tree.node("accidents_per_1000_enterprises").sign == -1


def test_bundled_tree_lists_every_metric_with_the_columns_it_needs():
    text = resources.files("analysis").joinpath("resources/indicator_tree.toml").read_text(encoding="utf-8")
    block = text.split("# Metrics a tree may use")[1]
    listed = dict(re.findall(r"^#\s+([a-z0-9_]+)\s{2,}(.+)$", block, flags=re.M))
    assert set(listed) == set(scorecard.METRICS)
    for name, metric in scorecard.METRICS.items():
        needs = {n for n in metric.needs if n != "inspections.inspection_id"}
        assert needs <= {c.strip() for c in listed[name].split(",")}, name


def _tree(**changes) -> dict:
    """The bundled tree's nodes as a dict, with `changes` ({node: {key: value or None to drop}})."""
    import tomllib

    text = resources.files("analysis").joinpath("resources/indicator_tree.toml").read_text(encoding="utf-8")
    nodes = tomllib.loads(text)["nodes"]
    for node, fields in changes.items():
        entry = dict(nodes.get(node, {}))
        for key, value in fields.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        nodes[node] = entry
    return {"nodes": nodes}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"case_rate": {"metric": "case_ratio"}}, "node 'case_rate': unknown metric 'case_ratio'"),
        ({"case_rate": {"direction": None}}, "node 'case_rate': no direction"),
        ({"case_rate": {"direction": "up"}}, "node 'case_rate': direction 'up'"),
        ({"avg_case_value": {"weight": 0.7}}, "the weights of the indicators under 'penalty_strength' sum to 1.1"),
        ({"team": {"weight": 0.25}}, "the weights of the first-level indicators sum to 1.1"),
        (
            {"team": {"parent": "outcomes"}, "outcomes": {"parent": "team"}},
            "nodes 'team' -> 'outcomes' -> 'team' form a cycle",
        ),
        ({"case_rate": {"parent": "case_handlng"}}, "node 'case_rate': parent 'case_handlng' is not a node"),
        ({"case_rate": {"wieght": 1.0}}, "node 'case_rate': unknown key 'wieght'"),
        (
            {"team": {"metric": "case_rate", "direction": "higher_is_better"}},
            "node 'team': has a metric and indicators",
        ),
        ({"extra": {"label": "Extra", "weight": 0.1}}, "node 'extra': has neither a metric nor indicators under it"),
        ({"case_rate": {"weight": None}}, "node 'case_rate': no weight, while other nodes have one"),
        ({"case_rate": {"weight": -1}}, "node 'case_rate': weight must be a number above 0"),
        (
            {"score": {"parent": "team", "metric": "case_rate", "direction": "higher_is_better", "weight": 0.1}},
            "node 'score': the name is taken by a column of the scorecard",
        ),
    ],
)
def test_a_bad_tree_names_the_node_at_fault(changes, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        scorecard.load_tree(_tree(**changes))


def test_a_bad_tree_file_is_named(tmp_path):
    path = tmp_path / "tree.toml"
    path.write_text("[nodes.a\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=f"indicator tree {re.escape(str(path))}: not valid TOML"):
        scorecard.load_tree(path)
    path.write_text('[index]\npeer_group = "district"\n', encoding="utf-8")
    with pytest.raises(ParameterError, match="peer_group must be one of level, province, all, got 'district'"):
        scorecard.load_tree(path)


def test_a_tree_without_weights_has_no_expert_weights():
    nodes = {k: {key: v for key, v in f.items() if key != "weight"} for k, f in _tree()["nodes"].items()}
    tree = scorecard.load_tree({"nodes": nodes})
    assert not tree.has_expert_weights
    assert abs(tree.effective_weights("equal").sum() - 1) < TOLERANCE
    with pytest.raises(ParameterError, match="no expert weights"):
        tree.effective_weights("expert")


def test_a_partial_tree_changes_only_what_it_names():
    tree = scorecard.load_tree({"index": {"peer_group": "province"}, "tiers": {"area_for_attention": 0.6}})
    assert tree.peer_group == "province" and tree.normalisation == "minmax"
    assert tree.tiers == (0.85, 0.6) and len(tree.leaves) == 9


def test_leaving_indicators_out_renormalises_the_weights():
    tree = scorecard.load_tree().without(["avg_case_value", "accidents_per_1000_enterprises"])
    weights = tree.effective_weights("expert")
    assert "outcomes" not in [n.id for n in tree.nodes] and len(tree.first_level) == 5
    assert abs(weights.sum() - 1) < TOLERANCE
    assert tree.node("double_penalty_share").weight == pytest.approx(1.0)
    assert weights["double_penalty_share"] == pytest.approx(0.15 / 0.85)


# --- the score: 0-100, monotone in each indicator, invariant to row order ---------------------------


def _small_tree(directions: list[str]) -> Tree:
    nodes = [Node("top", "Top", weight=1.0)]
    nodes += [Node(f"x{i}", f"X{i}", "top", "case_rate", d, 1 / len(directions)) for i, d in enumerate(directions)]
    return Tree("test", tuple(nodes))


raw_values = st.lists(st.floats(0, 1000, allow_nan=False) | st.just(float("nan")), min_size=3, max_size=3)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(raw_values, min_size=4, max_size=12), normalisation=st.sampled_from(scorecard.NORMALISATIONS))
def test_scores_lie_between_0_and_100_under_every_method(rows, normalisation):
    raw = pd.DataFrame(rows, columns=["x0", "x1", "x2"], index=[f"R{i:02d}" for i in range(len(rows))])
    groups = pd.Series(["a", "b"] * (len(rows) // 2) + ["a"] * (len(rows) % 2), index=raw.index)
    _, weights, scores = scorecard.score(
        raw, _small_tree(["higher_is_better", "lower_is_better", "higher_is_better"]), groups, normalisation
    )
    assert np.abs(weights.sum() - 1).max() < TOLERANCE
    assert ((scores >= -TOLERANCE) & (scores <= 100 + TOLERANCE)).all().all()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(st.floats(0, 100, allow_nan=False), min_size=3, max_size=3), min_size=3, max_size=10),
    region=st.integers(0, 9),
    column=st.integers(0, 2),
    step=st.floats(0.01, 50),
    normalisation=st.sampled_from(scorecard.NORMALISATIONS),
    method=st.sampled_from(["equal", "expert"]),
)
def test_a_score_moves_with_each_indicator_in_its_direction(rows, region, column, step, normalisation, method):
    """Weights held (equal, expert): a better value never lowers a region's own score."""
    directions = ["higher_is_better", "lower_is_better", "higher_is_better"]
    raw = pd.DataFrame(rows, columns=["x0", "x1", "x2"], index=[f"R{i:02d}" for i in range(len(rows))])
    region = raw.index[region % len(raw)]
    groups = pd.Series("all", index=raw.index)
    better = raw.copy()
    better.loc[region, f"x{column}"] += step if directions[column] == "higher_is_better" else -step
    tree = _small_tree(directions)
    before = scorecard.score(raw, tree, groups, normalisation)[2][method][region]
    after = scorecard.score(better, tree, groups, normalisation)[2][method][region]
    assert after >= before - 1e-9


def test_the_scorecard_does_not_depend_on_row_order(dataset, card):
    shuffled = dataclasses.replace(
        dataset,
        tables={
            name: frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
            for name, frame in dataset.tables.items()
        },
    )
    again = scorecard.build(shuffled, PERIOD)
    pd.testing.assert_frame_equal(scorecard.csv_frame(again), scorecard.csv_frame(card))
    pd.testing.assert_frame_equal(scorecard.stability(again).ranks, scorecard.stability(card).ranks)


@pytest.mark.parametrize("method", scorecard.METHODS)
@pytest.mark.parametrize("normalisation", scorecard.NORMALISATIONS)
def test_scores_of_the_data_lie_between_0_and_100(dataset, method, normalisation):
    card = scorecard.build(dataset, PERIOD, weights=method, normalisation=normalisation)
    assert card.scores.between(0, 100).all() and card.normalised.stack().between(0, 1).all()
    assert np.abs(card.scores - 100 * card.normalised @ card.weights).max() < TOLERANCE


def test_min_max_values_run_from_0_to_1_within_each_peer_group(card):
    shown = card.normalised.where(card.states == indicators.SHOWN)
    assert (shown.groupby(card.groups).min().fillna(0) == 0).all().all()
    assert (shown.groupby(card.groups).max().fillna(1) == 1).all().all()


def test_missing_values_count_at_the_peer_median():
    normalised = pd.DataFrame({"x": [0.0, 0.2, 1.0, np.nan, 0.4, np.nan]}, index=list("abcdef"))
    groups = pd.Series(["g", "g", "g", "g", "h", "h"], index=normalised.index)
    filled, mask = fill_with_peer_median(normalised, groups)
    assert filled["x"].tolist() == [0.0, 0.2, 1.0, 0.2, 0.4, 0.4]
    assert mask["x"].tolist() == [False, False, False, True, False, True]


# --- Sichuan's rule -------------------------------------------------------------------------------------


def test_the_warning_rule_is_applied_exactly_with_ties():
    scores = pd.Series(
        [50.0, 60.0, 60.0, 60.0, 80.0, 95.0, 79.99, 90.0, 90.0, 10.0], index=[f"R{i}" for i in range(10)]
    )
    groups = pd.Series(["a"] * 6 + ["b"] * 3 + ["c"], index=scores.index)
    flags = scorecard.warning_rule(scores, groups, threshold=80.0, bottom_n=2)
    # a: 50 is lowest; the three 60s tie for second, so all three are in the bottom 2; 80 is not under 80.
    # b (3 regions, more than 2): 79.99 is lowest and the two 90s tie for second, so all three are in the bottom 2.
    # c has a single region: no bottom rule in a group of n or fewer, but its 10 is under 80.
    assert flags["bottom"].tolist() == [True, True, True, True, False, False, True, True, True, False]
    assert flags["under"].tolist() == [True, True, True, True, False, False, True, False, False, True]
    assert flags["warned"].tolist() == [True, True, True, True, False, False, True, True, True, True]
    flags = scorecard.warning_rule(scores, groups, threshold=0.0, bottom_n=1)
    assert flags["bottom"].tolist() == [True, False, False, False, False, False, True, False, False, False]
    assert not scorecard.warning_rule(scores, groups, threshold=0.0, bottom_n=0)["warned"].any()


def test_ranks_are_within_peer_groups_with_ties_sharing_the_better_rank():
    scores = pd.Series([5.0, 9.0, 9.0, 1.0, 3.0], index=list("abcde"))
    groups = pd.Series(["g", "g", "g", "h", "h"], index=scores.index)
    assert scorecard.ranks_within(scores, groups).tolist() == [3, 1, 1, 2, 1]
    assert rank_matrix(scores.to_numpy()[None, :], groups).tolist() == [[3, 1, 1, 2, 1]]


def test_the_card_applies_the_rule_to_its_scores(card):
    expected = scorecard.warning_rule(card.scores, card.groups, card.settings.threshold, card.settings.bottom_n)
    pd.testing.assert_frame_equal(card.flags[["under", "bottom", "warned"]], expected)


def test_perturbed_draws_apply_the_same_rule(card):
    """With the draws held at the chosen weights, every draw warns exactly the card's regions."""
    held = scorecard.stability(card, draws=20, concentration=1e12)
    assert (held.ranks["warned_share"] == card.flags["warned"].astype(float)).all()
    assert (held.ranks["bottom_share"] == card.flags["bottom"].astype(float)).all()
    assert (held.ranks["rank_low"] == card.ranks).all() and (held.ranks["rank_high"] == card.ranks).all()


def test_a_warning_that_depends_on_the_weighting_is_marked(dataset):
    median = float(scorecard.build(dataset, PERIOD).scores.median())
    card = scorecard.build(dataset, PERIOD, threshold=median, bottom_n=0)
    warned_everywhere = card.by_method("warned").all(axis=1)
    assert (card.flags["robust"] == card.flags["warned"] & warned_everywhere).all()
    labels, reasons = scorecard.warning_labels(card), scorecard.reasons(card)
    fragile = card.flags["warned"] & ~card.flags["robust"]
    assert fragile.any(), "a threshold at the median score should make some warnings depend on the method"
    assert (labels.str.endswith("(depends on weighting)") == fragile).all()
    assert reasons[fragile].str.contains("Depends on the weighting: warned under").all()
    assert reasons[card.flags["robust"]].str.contains("Warned under every weighting method").all()


def test_reasons_name_the_indicators_against_the_peer_median(card):
    warned = card.flags.index[card.flags["warned"]]
    reasons = scorecard.reasons(card)
    assert len(warned) and reasons[warned].str.match(r"Score \d+\.\d, under 80; ranked \d+ of \d+ counties").all()
    assert reasons[warned].str.contains(r"Pulled down most by [a-z].* against a peer median of .*points\)").all()
    text = " ".join(reasons) + scorecard.findings(card)
    assert "_" not in text  # words, not code names


def test_the_key_message_counts_the_warned_and_names_the_lowest(dataset, card):
    everyone = scorecard.key_message(card)
    lowest = card.scores.idxmin()
    assert everyone.startswith(f"The efficiency scorecard warns all {len(card.flags)} regions scored in {PERIOD}")
    assert f"{card.regions.at[lowest, 'name']} ({card.scores[lowest]:.1f})" in everyone
    median = float(card.scores.median())
    some = scorecard.build(dataset, PERIOD, threshold=median, bottom_n=0)
    under = int(some.flags["under"].sum())
    assert f"warns {under} of the {len(some.flags)} regions scored in {PERIOD} ({under} under the threshold of" in (
        scorecard.key_message(some)
    )
    none = scorecard.key_message(scorecard.build(dataset, PERIOD, threshold=0, bottom_n=0))
    assert none == f"The efficiency scorecard warns none of the {len(card.flags)} regions scored in {PERIOD}."


def test_scores_reprint_without_reading_as_the_threshold():
    assert scorecard.reading.score_text(79.96, 80.0) == "79.96"
    assert scorecard.reading.score_text(79.94, 80.0) == "79.9"
    assert scorecard.reading.score_text(80.0, 80.0) == "80.0"


# --- disclosure control and what the data lacks ---------------------------------------------------------


def test_regions_with_few_inspections_are_neither_scored_nor_named(dataset):
    k = 60
    card = scorecard.build(dataset, PERIOD, min_cell_size=k)
    counts = indicators.counts(dataset, pd.Period(PERIOD, freq="Q-DEC"))["inspections"]
    few = counts[(counts > 0) & (counts < k)].index
    assert len(few) and not set(few) & set(card.regions.index)
    assert (counts[card.regions.index] >= k).all()
    assert f"{len(few)} regions with fewer than {k} inspections (not named)" in scorecard.reading.left_out(card)
    names = set(dataset.regions.set_index("region_id").loc[few, "name"])
    text = card._repr_html_() + " ".join(scorecard.reasons(card)) + tables.scorecard_table(card).markup
    assert not any(name in text for name in names)
    assert card.withheld.names == len(few)


def test_a_withheld_value_never_enters_a_score(dataset):
    """Fines of a region with fewer than k cases: changing them changes nothing printed."""
    k = 8
    card = scorecard.build(dataset, PERIOD, min_cell_size=k)
    held = card.states.index[card.states["avg_case_value"] == indicators.WITHHELD]
    assert len(held), "the test needs a region whose average fine is withheld"
    inspections = dataset.inspections.copy()
    in_quarter = np.asarray(quarters_of(inspections["inspection_date"]).astype(str) == PERIOD)
    in_region = inspections["region_id"].astype(str).isin(held).to_numpy()
    rows = in_quarter & in_region & inspections["case_filed"].to_numpy()
    inspections.loc[rows, "penalty_amount"] *= 50
    changed = dataclasses.replace(dataset, tables={**dataset.tables, "inspections": inspections})
    again = scorecard.build(changed, PERIOD, min_cell_size=k)
    pd.testing.assert_frame_equal(scorecard.csv_frame(again), scorecard.csv_frame(card))
    assert "average fine per case (withheld: fewer than 8 cases)" in scorecard.reasons(card)[held[0]]


def test_an_indicator_the_data_lacks_is_left_out_with_a_note(dataset):
    accidents = dataset.accidents.iloc[0:0]
    card = scorecard.build(
        dataclasses.replace(dataset, tables={**dataset.tables, "accidents": accidents}), PERIOD, weights="expert"
    )
    assert "accidents_per_1000_enterprises" not in card.normalised.columns
    assert any(
        "accidents per 1,000 enterprises: the data does not record it (column accidents.accidents)" in n
        for n in card.notes
    )
    assert abs(card.weights.sum() - 1) < TOLERANCE
    assert card.weights["case_rate"] == pytest.approx(0.15 / 0.85)
    assert tables.tree_table(card).set_index("indicator").loc["Accidents per 1,000 enterprises", "weight"] == 0


def test_nothing_to_score_is_said_in_a_sentence(dataset):
    with pytest.raises(Unavailable, match="no region has 100000 or more inspections in 2024Q4"):
        scorecard.build(dataset, PERIOD, min_cell_size=100_000)


def test_tiers_read_each_first_level_indicator_against_the_peer_median(card):
    tiers = scorecard.tiers(card)
    assert list(tiers.columns) == [top.label for top in card.tree.first_level]
    assert set(np.unique(tiers)) <= set(scorecard.reading.TIERS)
    assert ((tiers == "meets expectations").mean() >= 0.5).all()  # at or above the median meets them


def test_change_since_the_previous_quarter(dataset, card):
    change = scorecard.change_since_previous(dataset, card)
    assert change.before == "2024Q3" and len(change.frame)
    assert np.allclose(change.frame["change"], change.frame["score"] - change.frame["score_before"])
    assert "Against 2024Q3" in change.reading
    first = scorecard.build(dataset, "2019Q1")
    with pytest.raises(Unavailable, match="2018Q4 cannot be scored"):
        scorecard.change_since_previous(dataset, first)


def test_save_writes_only_inside_a_build(card, tmp_path, monkeypatch):
    from analysis.results import RESULTS_ENV

    monkeypatch.delenv(RESULTS_ENV, raising=False)
    assert scorecard.save(card) is None
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path / "results"))
    written = pd.read_csv(scorecard.save(card), keep_default_na=False)
    assert written["region_id"].tolist() == scorecard.csv_frame(card)["region_id"].tolist()


# --- the command ----------------------------------------------------------------------------------------


def test_command_scores_can_be_recomputed_from_what_it_prints(world, tmp_path, capsys):
    weights_file = tmp_path / "out" / "weights.csv"
    argv = ["scorecard", str(world), "--period", PERIOD, "--format", "csv", "--weights-out", str(weights_file)]
    assert main(argv) == 0
    printed = capsys.readouterr()
    table = pd.read_csv(io.StringIO(printed.out), keep_default_na=False)
    weights = pd.read_csv(weights_file)
    leaves = [leaf.id for leaf in scorecard.load_tree().leaves]
    assert list(table.columns) == ["region_id", *leaves, "score", "rank", "warning", "reason"]
    assert list(weights.columns) == ["indicator", "weight"] and weights["indicator"].tolist() == leaves
    assert abs(weights["weight"].sum() - 1) < TOLERANCE
    recomputed = 100 * table[leaves].to_numpy() @ weights["weight"].to_numpy()
    assert np.abs(recomputed - table["score"].to_numpy()).max() < TOLERANCE
    assert ((table["warning"] == "") == ~table["warning"].str.contains("under|bottom")).all()
    assert "weights (entropy) written to" in printed.err


def test_command_prints_a_table_and_its_notes(world, capsys):
    assert main(["scorecard", str(world), "--period", PERIOD, "--weights", "expert", "--bottom-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["region_id", "inspections_per_officer", "surprise_share"]
    assert "note: Not scored: 14 regions without inspections in 2024Q4." in out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--period", "2024H2"], "period '2024H2' is not a quarter like 2023Q4"),
        (["--period", "2031Q1"], "period 2031Q1 is outside the data (2019Q1 to 2024Q4)"),
        (["--period", PERIOD, "--weights", "magic"], "weights must be one of entropy, critic, pca, equal, expert"),
        (["--period", PERIOD, "--threshold", "120"], "threshold must be a score from 0 to 100, got 120"),
        (["--period", PERIOD, "--threshold", "nan"], "threshold must be a score from 0 to 100"),
        (["--period", PERIOD, "--bottom-n", "-1"], "bottom n must be 0 (no bottom rule) or more, got -1"),
        (["--period", PERIOD, "--peer-group", "district"], "peer group must be one of level, province, all"),
        (["--period", PERIOD, "--normalisation", "rank"], "normalisation must be one of minmax, zscore"),
    ],
)
def test_command_bad_input_exits_two_with_a_message(world, capsys, extra, message):
    assert main(["scorecard", str(world), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_command_refuses_a_bad_tree_or_a_folder_for_weights(world, tmp_path, capsys):
    tree = tmp_path / "tree.toml"
    tree.write_text('[nodes.case_rate]\nmetric = "case_rate"\n', encoding="utf-8")
    assert main(["scorecard", str(world), "--period", PERIOD, "--tree", str(tree)]) == 2
    assert "node 'case_rate': no direction" in capsys.readouterr().err
    assert main(["scorecard", str(world), "--period", PERIOD, "--weights-out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_command_says_when_nothing_can_be_scored(world, capsys):
    assert main(["scorecard", str(world), "--period", PERIOD, "--min-cell-size", "100000"]) == 1
    assert "no region has 100000 or more inspections" in capsys.readouterr().err


def test_the_notebook_parameters_check_the_tree():
    from analysis.report.schema import NOTEBOOKS_BY_NAME

    spec = NOTEBOOKS_BY_NAME["05_quarterly_scorecard"]
    partial = {"index": {"peer_group": "province"}}
    assert spec.resolve({"tree": partial})["tree"] == partial
    with pytest.raises(ParameterError, match="tree: indicator tree: node 'case_rate': unknown metric"):
        spec.resolve({"tree": _tree(case_rate={"metric": "nope"})})
    with pytest.raises(ParameterError, match="weights: 'magic' is not one of"):
        spec.resolve({"weights": "magic"})


def test_expert_weights_need_a_tree_that_gives_them(world, dataset, tmp_path, capsys):
    nodes = {k: {key: v for key, v in f.items() if key != "weight"} for k, f in _tree()["nodes"].items()}
    with pytest.raises(Unavailable, match="the indicator tree gives no expert weights"):
        scorecard.build(dataset, PERIOD, tree={"nodes": nodes}, weights="expert")
    assert "expert" not in scorecard.build(dataset, PERIOD, tree={"nodes": nodes}).all_weights.columns
    path = tmp_path / "tree.toml"
    lines = [f"[nodes.{k}]\n" + "".join(f'{key} = "{v}"\n' for key, v in f.items()) for k, f in nodes.items()]
    path.write_text("".join(lines), encoding="utf-8")
    assert main(["scorecard", str(world), "--period", PERIOD, "--tree", str(path), "--weights", "expert"]) == 2
    assert "--weights expert: the indicator tree gives no expert weights" in capsys.readouterr().err
