"""Reviewer tables read as a statistics office's release: words for code names, units, separators.

The frames behind them keep the code names (researchers use them); these tests check the
`*_html` views the pages show, on hand-made and simulated data.
"""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_tables, write_csv_dataset

from analysis import notice, quality, team
from analysis.data import load
from analysis.disclosure import SYMBOL
from analysis.limits import Missing
from analysis.scorecard import build, tables

SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
CODE_COLUMN = re.compile(r"\b(?:regions|inspections|staffing|programs|accidents)\.[a-z_]+\b")
UNSEPARATED = re.compile(r"^[+-]?\d{4,}(?:\.\d+)?$")  # 420219, not 420,219
BARE_SHARE = re.compile(r"^[+-]?0\.\d+$")  # 0.095 for a share, not 9.5%


class _Cells(HTMLParser):
    """The caption, headers and cells of every table in a piece of HTML."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._tag: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "headers": [], "rows": []})
        if tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        if tag in ("caption", "th", "td"):
            self._tag, self._text = tag, ""

    def handle_data(self, data):
        if self._tag:
            self._text += data

    def handle_endtag(self, tag):
        if tag != self._tag:
            return
        text, table = self._text.strip(), self.tables[-1]
        if tag == "caption":
            table["caption"] = text
        elif tag == "th" and len(table["rows"]) <= 1:
            table["headers"].append(text)
        elif tag == "td":
            table["rows"][-1].append(text)
        self._tag = None


def tables_of(html) -> list[dict]:
    parser = _Cells()
    parser.feed(html._repr_html_() if hasattr(html, "_repr_html_") else str(html))
    for table in parser.tables:
        table["rows"] = [r for r in table["rows"] if r]
    return parser.tables


def only_table(html) -> dict:
    found = tables_of(html)
    assert len(found) == 1, found
    return found[0]


def assert_in_words(table: dict, shares_as_percent: bool = True) -> None:
    """No code names in caption, headers or cells; counts with separators; shares not as bare decimals."""
    texts = [table["caption"], *table["headers"], *(cell for row in table["rows"] for cell in row)]
    for text in texts:
        assert not SNAKE_CASE.search(text), text
        assert not CODE_COLUMN.search(text), text
    for row in table["rows"]:
        for cell in row:
            assert not UNSEPARATED.match(cell.replace("x", "")), cell
            if shares_as_percent:
                assert not BARE_SHARE.match(cell), cell
            assert cell not in ("True", "False"), cell


def column(table: dict, header: str) -> list[str]:
    position = table["headers"].index(header)
    return [row[position] for row in table["rows"]]


# --- data quality -------------------------------------------------------------------------------


@pytest.fixture
def faulty(tmp_path):
    """The tiny dataset with a fine without a case, a repeated inspection and a thousand more good rows."""
    t = tiny_tables()
    inspections = t["inspections"]
    good = pd.concat([inspections.iloc[[0]]] * 1200, ignore_index=True)
    good["inspection_id"] = [f"G{i}" for i in range(len(good))]
    bad = inspections.iloc[[1, 1, 1]].copy()
    bad["inspection_id"] = ["B1", "B2", "B2"]  # the second B2 repeats the first
    bad["penalty_amount"] = ["500", "0", "0"]  # B1: a fine without a case
    t["inspections"] = pd.concat([inspections, good, bad], ignore_index=True)
    return load(write_csv_dataset(tmp_path / "faulty", t))


def test_rows_by_table_have_separators_words_and_yes(faulty):
    table = only_table(quality.reconciliation_html(faulty))
    assert_in_words(table)
    assert table["headers"] == ["Data table", "Rows read", "Accepted", "Quarantined", "Read = accepted + quarantined"]
    assert column(table, "Data table") == ["Regions", "Inspections", "Staffing", "Reform programmes", "Accidents"]
    assert column(table, "Rows read")[1] == "1,209" and column(table, "Quarantined")[1] == "2"
    assert set(column(table, "Read = accepted + quarantined")) == {"yes"}


def test_missing_values_are_columns_in_words_and_percentages(tiny_dir):
    dataset = load(tiny_dir)
    table = only_table(quality.missingness_html(dataset))
    assert_in_words(table)
    rows = {(r[0], r[1]): r[2] for r in table["rows"]}
    assert rows[("Regions", "Population")] == "33.3%"  # one of three regions
    assert rows[("Inspections", "Enterprise size")] == "16.7%"
    assert rows[("Staffing", "Technical inspectors")] == "25.0%"
    assert rows[("Staffing", "Social supervisors")] == "0%"
    frame = quality.missingness(dataset)  # the researcher's frame keeps the code names
    assert {"table", "column", "missing_share"} <= set(frame.columns) and "population" in set(frame["column"])


def test_quarantined_rows_name_the_column_and_reason_in_words(faulty):
    table = only_table(quality.quarantine_html(faulty))
    assert_in_words(table)
    reasons = dict(zip(column(table, "Column"), column(table, "Reason"), strict=True))
    assert reasons["Fine (yuan)"] == "A fine without a penalty case"
    assert reasons["Inspection number"].startswith("The same inspection number a second time (first at line")
    reading = quality.reconciliation_reading(faulty)
    assert reading.startswith("2 of 1,220 rows") and not SNAKE_CASE.search(reading), reading


def test_nothing_quarantined_is_a_sentence(tiny_dir):
    assert "No row was quarantined." in str(quality.quarantine_html(load(tiny_dir)))


# --- reform overview ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(world_factory):
    return load(world_factory(seed=11, scale=0.3))


def test_the_notice_is_stated_its_own_way():
    stated = {m: notice.stated(m) for m in notice.JIANGSU_METRICS}
    assert stated == {
        "key_matter_cases": "x2.7",
        "penalty_total": "+12%",
        "avg_case_value": "+23.6%",
        "double_penalty_cases": "x2.4",
        "major_hazard_filing_rate": "x2.1",
    }
    assert notice.as_notice_states("key_matter_cases", 2.7012) == "x2.70"
    assert notice.as_notice_states("penalty_total", 1.1213) == "+12.1%"


def test_jiangsu_table_states_notice_and_data_the_same_way(world):
    published = notice.jiangsu_comparison(world, "2022H1", 5)
    table = only_table(notice.jiangsu_html(published, "2022H1"))
    assert_in_words(table)
    assert table["headers"] == ["Figure", "The notice", "The data", "Data against the notice"]
    assert column(table, "Figure")[0] == "Key-matter cases"
    assert column(table, "The notice") == ["x2.7", "+12%", "+23.6%", "x2.4", "x2.1"]
    for notice_cell, data_cell in zip(column(table, "The notice"), column(table, "The data"), strict=True):
        assert notice_cell[0] == data_cell[0]  # x with x, + or - with + or -
        assert re.fullmatch(r"x\d+\.\d\d|[+-]\d+\.\d%", data_cell), data_cell
    for cell in column(table, "Data against the notice"):
        assert re.fullmatch(r"[+-]?\d+\.\d%", cell), cell


def test_jiangsu_table_marks_withheld_cells(world):
    published = notice.jiangsu_comparison(world, "2022H1", 10**9)
    table = only_table(notice.jiangsu_html(published, "2022H1"))
    assert set(column(table, "The data")) == {SYMBOL} and set(column(table, "Data against the notice")) == {SYMBOL}
    assert column(table, "The notice")[0] == "x2.7"  # the notice's own figures are public


def test_hunan_and_the_quarter_by_province_read_in_words(world):
    hunan = only_table(notice.hunan_html(notice.hunan_staffing(world)))
    assert_in_words(hunan)
    assert column(hunan, "Officers in the notice") == ["1,952", "2,767"]
    assert column(hunan, "At the end of") == ["2021 (2021Q4)", "2022 (2022Q4)"]
    latest = only_table(notice.latest_html(notice.latest_by_province(world, "2024Q4", 5), "2024Q4"))
    assert_in_words(latest, shares_as_percent=False)  # the case rate's change is in percentage points: -0.4
    assert "Average fine per case (yuan)" in latest["headers"]
    for cell in column(latest, "Case rate"):
        assert re.fullmatch(r"\d+\.\d%|" + SYMBOL, cell), cell
    for cell in column(latest, "Inspections, change on a year earlier"):
        assert re.fullmatch(r"[+-]?\d+\.\d%|n/a|" + SYMBOL, cell), cell
    for cell in column(latest, "Case rate, change on a year earlier (percentage points)"):
        assert re.fullmatch(r"[+-]?\d+\.\d|n/a|" + SYMBOL, cell) and cell not in ("-0.0", "+0.0"), cell


def test_the_overview_finding_compares_data_and_notice_in_numbers(world):
    jiangsu = notice.jiangsu_comparison(world, "2022H1", 5).frame
    hunan = notice.hunan_staffing(world)
    sentence = notice.finding(jiangsu, hunan, "2022H1")
    assert sentence.startswith("In Jiangsu, 2022H1 against 2021H1, the data ")
    assert "key-matter cases x2." in sentence and "(notice x2.7)" in sentence and "(notice +12%)" in sentence
    assert "Hunan's officers went from" in sentence and "%" in sentence
    gone = Missing("Jiangsu's figures", "no Jiangsu")
    without_jiangsu = notice.finding(gone, hunan)
    assert without_jiangsu.startswith("The notice's Jiangsu figures could not be recomputed")
    assert "Hunan's officers went from" in without_jiangsu
    assert notice.finding(gone, gone.echo()).startswith("Neither the notice's Jiangsu figures nor its Hunan")
    withheld = notice.jiangsu_comparison(world, "2022H1", 10**9).frame
    assert "none of the notice's ratios can be recomputed" in notice.finding(withheld, gone)  # no withheld value


def test_a_wide_gap_is_said_as_a_departure():
    comparison = pd.DataFrame(
        {
            "metric": ["key_matter_cases", "penalty_total"],
            "notice": [2.7, 1.12],
            "data": [2.0, 1.12],
            "relative_difference": [2.0 / 2.7 - 1, 0.0],
        }
    )
    sentence = notice.finding(comparison, Missing("Hunan", "none"), "2022H1")
    assert "departs from the notice" in sentence and "most in key-matter cases (25.9% below" in sentence


# --- team expansion -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cells(world):
    return team.panel(world, last_period="2024Q4")


def quietly(step, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return step(*args)


def test_elasticities_table_in_words(cells):
    result = quietly(team.elasticities, cells)
    table = only_table(result)
    assert_in_words(table, shares_as_percent=False)  # elasticities are unitless
    assert table["headers"][:4] == ["Outcome", "Elasticity", "Standard error", "95% interval"]
    assert column(table, "Outcome")[0] == "Inspections"
    assert all(re.fullmatch(r"-?\d\.\d{3}", cell) for cell in column(table, "Elasticity"))
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", cell) for cell in column(table, "Region-quarters"))
    assert {"estimate", "n_obs", "regions"} <= set(result.tidy().columns)  # the code names stay for researchers


def test_technical_inspector_standard_counts_regions(cells):
    result = team.technical_inspector_standard(cells)
    table = only_table(result)
    assert_in_words(table, shares_as_percent=False)  # technical inspectors per officer: a rate, 0.50
    beijing = next(row for row in table["rows"] if row[0] == "Beijing")
    recorded = int(result.frame.set_index("province").loc["Beijing", "regions_recorded"])
    assert beijing[2] == f"{recorded} of {recorded}" and beijing[1] == "0.50"
    assert "one per two officers" in table["caption"]


def test_training_table_names_terms_and_p_values(cells):
    result = team.training_intensity(cells)
    table = only_table(result)
    assert_in_words(table, shares_as_percent=False)
    assert table["headers"] == ["Term", "Coefficient", "Standard error", "95% interval", "p-value"]
    assert column(table, "Term")[:2] == ["Enforcement officers (log)", "People trained per officer"]
    assert column(table, "p-value")[0] == "< 0.001"
    assert all(re.fullmatch(r"< 0\.001|0\.\d{3}|1\.000", p) for p in column(table, "p-value"))
    assert result.notes[0].startswith("One more person trained per officer goes with ")
    assert list(result.tidy()["term"][:2]) == ["log_officers", "trainees_per_officer"]


# --- the scorecard's indicator tree ---------------------------------------------------------------


def test_indicator_tree_says_what_each_indicator_is_computed_from(world):
    card = build(world, "2024Q4", min_cell_size=5)
    table = only_table(tables.tree_html(card))
    assert_in_words(table)
    computed = dict(zip(column(table, "Indicator"), column(table, "Computed from (data table: columns)"), strict=True))
    assert computed["Inspections per officer"] == "Inspections: number of inspections; staffing: enforcement officers"
    assert computed["Average fine per case"] == "Inspections: fine (yuan), penalty case filed or not"
    weights = column(table, "Weight")
    assert all(re.fullmatch(r"\d+\.\d%|0%|< 0\.1%", w) for w in weights)
    assert abs(sum(float(w.rstrip("%")) for w in weights if w[0].isdigit()) - 100) < 0.6  # rounding
    assert np.isclose(tables.tree_table(card)["weight"].sum(), 1)
