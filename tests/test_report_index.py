"""The index compares with the previous quarter's report, in words."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.report import build
from analysis.report.index import _changes_html
from analysis.report.schema import DATA_DIR, PERIOD, NotebookSpec, Param

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
pytestmark = pytest.mark.usefixtures("without_pdf")  # builds of fixture notebooks: no report.pdf (conftest.py)


def test_change_table_says_whether_a_move_exceeds_its_uncertainty():
    changes = pd.DataFrame(
        [
            {
                "study": "surprise",
                "outcome": "case_filed",
                "estimand": "ATE",
                "method": "aipw",
                "estimate_before": 0.09,
                "estimate_after": 0.097,
                "change": 0.007,
                "intervals_overlap": True,
                "status": "changed",
            },
            {
                "study": "surprise",
                "outcome": "penalty_amount",
                "estimand": "ATE",
                "method": "aipw",
                "estimate_before": 2000.0,
                "estimate_after": 3166.0,
                "change": 1166.0,
                "intervals_overlap": False,
                "status": "changed",
            },
        ]
    )
    markup = _changes_html(changes, "2024Q3")
    assert "Change since 2024Q3" in markup and "+9.0 percentage points" in markup and "+9.7 percentage points" in markup
    assert "within the uncertainty" in markup and "larger than the uncertainty" in markup and "+3,166 yuan" in markup


@pytest.mark.slow  # two builds
def test_next_quarter_compares_with_the_report_beside_it(tiny_dir, tmp_path):
    spec = NotebookSpec("ok", "Fixture ok", (DATA_DIR, PERIOD, Param("label", str, "x", "free text")))

    def run(period):
        return build(
            tiny_dir,
            period,
            out=tmp_path / "reports" / period,
            jobs=1,
            specs=(spec,),
            notebooks_dir=FIXTURES,
            log=lambda *_: None,
        )

    run("2022Q3")
    index = (run("2022Q4").out / "index.html").read_text()
    assert "Change since 2022Q3" in index
