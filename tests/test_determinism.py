"""The same data and parameters give the same report: built twice, every estimate and page agree."""

from __future__ import annotations

import re

import pytest

from analysis.report import build

pytestmark = pytest.mark.slow

VARYING = [
    re.compile(r"<details class='run-record'>.*?</details>", re.S),  # build time, timings, paths of the run
    re.compile(r"built \d{4}-\d{2}-\d{2}"),
]


def comparable(page: str) -> str:
    for pattern in VARYING:
        page = pattern.sub("", page)
    return page


def differences(a, b, name: str) -> str:
    """The rows of a CSV that differ between two builds, for the failure message."""
    import pandas as pd

    left, right = pd.read_csv(a / name), pd.read_csv(b / name)
    if left.shape != right.shape:
        return f"{name}: {left.shape} against {right.shape}"
    changed = (left != right) & ~(left.isna() & right.isna())
    rows = changed.any(axis=1)
    return f"{name}: {int(rows.sum())} rows differ:\n{left[rows].to_string()}\n{right[rows].to_string()}"


def test_a_report_built_twice_is_the_same(built_report, report_world, tmp_path):
    first = built_report  # the shared build (conftest.py): every notebook run afresh, as here
    result = build(
        report_world,
        "2024Q4",
        out=tmp_path / "second",
        jobs=2,
        force=True,
        cache_dir=tmp_path / "cache-second",
        log=lambda *_: None,
    )
    assert result.ok
    second = result.out
    for name in ("estimates.csv", "headline.csv", "scorecard.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), differences(first, second, name)
    pages = sorted(p.name for p in first.glob("*.html"))
    assert len(pages) >= 8
    different = [
        name
        for name in pages
        if comparable((first / name).read_text(encoding="utf-8"))
        != comparable((second / name).read_text(encoding="utf-8"))
    ]
    assert different == [], f"pages that differ between two builds: {different}"
