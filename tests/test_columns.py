"""Whole-column helpers (`analysis.columns`) against what pandas gives value by value.

The helpers read codes off categoricals, booleans and short ranges of whole numbers instead
of hashing the rows; these tests check that they give exactly pandas' groups and values,
including missing values, unused categories and categories in any order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.columns import codes_of, combinations, lookup


def _column(kind: str, draw_values: list, name: str) -> pd.Series:
    if kind == "category":
        texts = [None if v is None else f"level{v}" for v in draw_values]
        unused = ["level9", "aaa"]  # categories no row has, one sorting first
        return pd.Series(pd.Categorical(texts, categories=sorted({*filter(None, texts), *unused})), name=name)
    if kind == "unsorted category":
        texts = [None if v is None else f"level{v}" for v in draw_values]
        return pd.Series(pd.Categorical(texts, categories=["level3", "zzz", "level1", "level0", "level2"]), name=name)
    if kind == "bool":
        return pd.Series([bool(v) if v is not None else False for v in draw_values], name=name)
    if kind == "float":
        return pd.Series([np.nan if v is None else float(v) - 1.5 * (v == 3) for v in draw_values], name=name)
    if kind == "int":
        return pd.Series([1000 + (v or 0) for v in draw_values], name=name)
    return pd.Series([None if v is None else f"t{v}" for v in draw_values], dtype=object, name=name)


KINDS = ["category", "unsorted category", "bool", "float", "int", "text"]
values = st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=1, max_size=40)


def _as_list(series) -> list:
    return [None if pd.isna(v) else v for v in pd.Series(series).astype(object)]


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(KINDS), rows=values)
def test_codes_are_what_factorize_gives(kind, rows):
    column = _column(kind, rows, "x")
    codes, levels = codes_of(column)
    expected_codes, expected_levels = pd.factorize(column, sort=True)
    np.testing.assert_array_equal(codes, expected_codes)
    assert _as_list(levels) == _as_list(expected_levels)


@settings(max_examples=150, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4), data=st.data())
def test_combinations_are_the_groups_of_a_groupby(kinds, data):
    n = data.draw(st.integers(1, 40))
    columns = [
        _column(kind, data.draw(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=n, max_size=n)), f"c{i}")
        for i, kind in enumerate(kinds)
    ]
    frame = pd.concat(columns, axis=1)
    keys = list(frame.columns)
    groups = frame.groupby(keys, sort=True, dropna=False, observed=True)

    codes, present = combinations(columns)

    np.testing.assert_array_equal(codes, groups.ngroup().to_numpy())
    expected = groups.size().reset_index()
    for key, column in zip(keys, columns, strict=True):
        assert _as_list(present[key]) == _as_list(expected[key])
        if isinstance(column.dtype, pd.CategoricalDtype):
            assert present[key].dtype == column.dtype  # the categories stay as they were


def test_lookup_with_unused_categories_and_missing_keys():
    rows = pd.DataFrame(
        {
            "grade": pd.Categorical(["b", "a", None, "b"], categories=["a", "b", "c"]),
            "treated": [True, False, True, True],
        }
    )
    table = pd.DataFrame({"grade": ["b", "a", "c"], "treated": [True, False, False], "score": [0.7, 0.2, 0.9]})
    np.testing.assert_array_equal(lookup(rows, table, ["grade", "treated"], "score"), [0.7, 0.2, np.nan, 0.7])


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_a_wide_range_of_numbers_is_hashed_not_counted(dtype):
    column = pd.Series(np.array([0, 10**12, 5, 0], dtype=dtype))
    codes, levels = codes_of(column)
    np.testing.assert_array_equal(codes, [0, 2, 1, 0])
    assert list(levels) == [0, 5, 10**12]


def test_codes_of_many_categories_add_up_without_overflow():
    """A categorical of 70 categories stores int8 codes: doubled, they would wrap past 127."""
    from analysis.surprise import arm_counts

    levels = pd.Series([f"industry_{i:02d}" for i in range(70)])
    table = pd.DataFrame({"industry": pd.Categorical(levels), "surprise": [True, False] * 35})
    counts = arm_counts(table, "industry")
    assert counts.shape == (70, 2) and counts.to_numpy().sum() == 70
    assert codes_of(table["industry"])[0].dtype == np.int64


@pytest.mark.parametrize(
    "values", [np.array([-100, 100, 0], dtype=np.int8), np.array([-(2**62), 2**62, 0], dtype=np.int64)]
)
def test_codes_of_a_span_wider_than_the_dtype(values):
    codes, levels = codes_of(pd.Series(values))
    np.testing.assert_array_equal(codes, [0, 2, 1])
    assert list(levels) == sorted(values.tolist())


@pytest.mark.parametrize("dtype", ["text", "sorted category", "unsorted category"])
def test_a_programme_is_in_force_by_region_of_any_dtype(dtype, tiny_dir):
    from analysis.data import load
    from analysis.quarter import Quarter

    dataset = load(tiny_dir)
    starts = dataset.program_starts("surprise_campaign")
    region, start = next(iter(starts.items()))
    never = next(r for r in dataset.regions["region_id"].astype(str) if r not in starts)
    regions = [region, never, region]
    column = {
        "text": pd.Series(regions, dtype="str"),
        "sorted category": pd.Series(pd.Categorical(regions)),
        "unsorted category": pd.Series(pd.Categorical(regions, categories=sorted(set(regions), reverse=True))),
    }[dtype]
    first = Quarter.parse(start).ordinal
    quarters = np.array([first, first + 4, first - 1])
    np.testing.assert_array_equal(dataset.in_force("surprise_campaign", column, quarters), [True, False, False])
    labels = [str(Quarter.parse(start).shift(k)) for k in (0, 4, -1)]
    np.testing.assert_array_equal(dataset.in_force("surprise_campaign", column, labels), [True, False, False])
