"""Any contract-valid dataset gives a complete report that says what it could not do.

The variants (tests/variants.py) are the data a new user brings: optional columns
missing, programmes absent, one province, early or late windows, other formats, opaque
ids. Each passes `validate` with nothing quarantined; the report must complete on each,
every notebook "ok", with the expected sentences where an analysis was not possible.

A report per variant takes about 40 s, so the matrix is sized: CI (`make check`) builds the
variants in `IN_CI`, one per kind of gap a study must say in words, and `make test-all` builds
every variant (the others are marked `matrix`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from variants import (
    BASE_SCALE,
    BASE_SEED,
    VARIANTS,
    VARIANTS_BY_NAME,
    Variant,
    base_world,
    drop_columns,
    optional_columns,
    without_programs,
    write_variant,
)

from analysis.data import load
from analysis.report import build, pdf


@pytest.fixture(scope="module")
def world(world_factory):
    return base_world(world_factory(seed=BASE_SEED, scale=BASE_SCALE))


def dataset(world, tmp_path, variant: Variant) -> Path:
    tables, truth = world
    return write_variant(variant, tables, truth, tmp_path / variant.name)


def report(world, once_per_run, variant: Variant) -> Path:
    """The variant's published report, built once per test run (the matrix and the comparison of
    estimates read the same variants) and shared by every xdist worker."""

    def make(folder: Path) -> dict:
        with pytest.MonkeyPatch.context() as patch:  # pages are read here, never report.pdf: Chromium's seconds saved
            patch.setattr(pdf, "find_chromium", lambda: None)
            result = build(
                dataset(world, folder, variant),
                variant.period,
                out=folder / "reports" / variant.name,
                jobs=2,
                allow_failures=True,
                log=lambda *_: None,
            )
        failed = {
            n.name: f"{n.status}: {n.message.splitlines()[0] if n.message else ''}"
            for n in result.notebooks
            if n.status != "ok"
        }
        return {"out": str(result.out), "failed": failed}

    built = once_per_run(f"variant-{variant.name}", make)
    assert not built["failed"], built["failed"]
    return Path(built["out"])


def page_text(out: Path, notebook: str) -> str:
    return (out / f"{notebook}.html").read_text(encoding="utf-8")


@pytest.mark.slow  # loads every variant of the slow matrix (~6 s)
def test_every_variant_is_contract_valid(world, tmp_path):
    assert len(VARIANTS) >= 25
    for variant in VARIANTS:
        loaded = load(dataset(world, tmp_path, variant))
        assert loaded.quarantine.empty, variant.name
        assert loaded.reconciliation()["balanced"].all()


HARD = Variant(
    "no-optional-columns-no-programs",
    lambda tables: without_programs()(drop_columns(*optional_columns())(tables)),
    period="2021Q4",
)


@pytest.mark.slow  # a whole report of its own data (~45 s)
def test_report_completes_without_optional_columns_or_programmes(world, once_per_run):
    out = report(world, once_per_run, HARD)
    manifest = json.loads((out / "manifest.json").read_text())
    limits = manifest["limitations"]
    assert limits.get("03_cross_region_enforcement"), "the cross-region study must say it had no programme to study"
    index = (out / "index.html").read_text()
    assert "What this data could not support" in index
    for name in ("02_surprise_inspections", "03_cross_region_enforcement", "04_team_expansion"):
        text = page_text(out, name)
        assert not re.search(r'class="[^"]*\boutput_error\b', text), name  # no cell ended in an error


IN_CI = {
    "base",
    "no-optional-columns",
    "programs-empty",
    "no-surprise-campaign",
    "no-cross-region",
    "everyone-adopts-at-once",
    "one-province",
    "eight-quarters-early",
    "zero-inspection-quarters",
    "tiny",
}


def _sized(variant: Variant):
    return variant if variant.name in IN_CI else pytest.param(variant, marks=pytest.mark.matrix)


@pytest.mark.slow
@pytest.mark.parametrize("variant", [_sized(v) for v in VARIANTS], ids=lambda v: v.name)
def test_report_completes_on_variant(world, once_per_run, variant):
    out = report(world, once_per_run, variant)
    for notebook, sentences in variant.expect.items():
        text = page_text(out, notebook)
        for sentence in sentences:
            assert sentence in text, f"{variant.name}: {notebook} does not say {sentence!r}"


def estimates_of(world, once_per_run, name: str) -> pd.DataFrame:
    frame = pd.read_csv(report(world, once_per_run, VARIANTS_BY_NAME[name]) / "estimates.csv")
    return frame.sort_values(["study", "outcome", "estimand", "method"]).reset_index(drop=True)


@pytest.mark.slow
@pytest.mark.matrix  # four reports beyond the base one
def test_estimates_do_not_depend_on_row_order_format_or_ids(world, once_per_run):
    reference = estimates_of(world, once_per_run, "base")
    assert len(reference) > 50
    for name in ("rows-shuffled", "csv", "duckdb", "opaque-ids"):
        other = estimates_of(world, once_per_run, name)
        pd.testing.assert_frame_equal(
            other[["study", "outcome", "estimand", "method"]], reference[["study", "outcome", "estimand", "method"]]
        )
        for column in ("estimate", "n_obs"):
            np.testing.assert_allclose(other[column], reference[column], rtol=1e-8, err_msg=f"{name}: {column}")
        # pyfixest's demeaning iterates to a tolerance of 1e-8, so row order moves standard errors in
        # the 8th digit (seen: 3e-8 relative).
        np.testing.assert_allclose(other["std_error"], reference["std_error"], rtol=1e-6, err_msg=f"{name}: std_error")


def test_a_missing_result_says_why_where_it_is_first_shown():
    from analysis.limits import Limitations, Unavailable

    limits = Limitations()

    def impossible():
        raise Unavailable("the data has no Jiangsu")

    result = limits.run("Jiangsu", impossible)  # assigned, not displayed
    first = limits.run("Jiangsu", str, result.frame)._repr_html_()
    again = limits.run("Jiangsu", str, result.withheld)._repr_html_()
    assert "the data has no Jiangsu" in first and "see above" in again
    assert limits.items == [("Jiangsu", "the data has no Jiangsu.")]
