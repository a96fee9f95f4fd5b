"""Quarters are parsed, checked and ordered in one place."""

from __future__ import annotations

import pytest

from analysis.quarter import Quarter, ordinals


@pytest.mark.parametrize("text", ["2023Q5", "2023q1", "23Q1", "2023-Q1", "", "2023Q0", None])
def test_bad_quarters_are_named(text):
    assert not Quarter.is_quarter(text)
    with pytest.raises(ValueError, match="is not a quarter like 2023Q4"):
        Quarter.parse(text)


def test_quarters_order_and_shift_as_quarters():
    assert Quarter.parse(" 2024Q1 ") == Quarter(2024, 1)
    assert Quarter.parse("2023Q4") < Quarter.parse("2024Q1") < Quarter.parse("2024Q2")
    assert str(Quarter.parse("2024Q1").shift(-1)) == "2023Q4" and str(Quarter(2023, 4).shift(5)) == "2025Q1"
    assert list(ordinals(["2024Q1", "2023Q4"])) == [Quarter(2024, 1).ordinal, Quarter(2024, 1).ordinal - 1]
