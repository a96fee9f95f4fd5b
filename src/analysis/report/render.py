"""Reviewer HTML: notebook pages with code hidden, and the report's index.

Pages are self-contained (figures embedded, no external scripts or fonts) so one
folder can be mailed or hosted as is. Every string that comes from data or
parameters is escaped here.
"""

from __future__ import annotations

import copy
import html
import json
import re

import nbformat
import pandas as pd
from nbconvert import HTMLExporter
from pygments.formatters import HtmlFormatter

from .. import labels

HEADING = re.compile(r'<h([12]) id="([^"]+)">(.*?)<a class="anchor-link"', re.S)

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; margin: 0; }
main { max-width: 960px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
header.report { border-bottom: 1px solid #d0d7de; margin-bottom: 1rem; }
nav.toc { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
nav.toc ul { margin: .25rem 0; padding-left: 1.2rem; }
button.toggle-code { float: right; margin-top: .5rem; }
body:not(.show-code) .code_cell .input { display: none; }
.prompt { display: none; }
a.anchor-link { visibility: hidden; text-decoration: none; margin-left: .3rem; }
h1:hover a.anchor-link, h2:hover a.anchor-link, h3:hover a.anchor-link { visibility: visible; }
.input_area pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: 13px; }
.output_subarea img { max-width: 100%; height: auto; }
.output_stderr pre { color: #7d4e00; background: #fff8c5; padding: .4rem; font-size: 12px; white-space: pre-wrap; }
.output_error pre, .output_traceback pre { color: #82071e; background: #ffebe9; padding: .6rem; white-space: pre-wrap; }
table.report-table, table.dataframe, table.status { border-collapse: collapse; margin: .5rem 0 1rem; font-size: 13px; }
table.report-table td, table.report-table th, table.dataframe td, table.dataframe th, table.status td, table.status th
  { border-bottom: 1px solid #d0d7de; padding: .25rem .6rem; text-align: right; }
table.report-table th:first-child, table.report-table td:first-child, table.status td:first-child,
  table.status th:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .25rem 0; }
p.reading { border-left: 3px solid #0969da; padding-left: .75rem; }
.unavailable { border-left: 3px solid #9a6700; background: #fff8c5; padding: .4rem .75rem; }
p.disclosure { font-size: 12px; color: #57606a; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-bad { color: #cf222e; font-weight: 600; }
details.run-record { margin-top: 3rem; font-size: 12px; color: #57606a; }
details.run-record pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table.report-table th[scope='row'], table.report-table td.text { text-align: left; }
.output_html, .output_subarea { overflow-x: auto; max-width: 100%; }
aside.summary { background: #f6f8fa; border: 1px solid #d0d7de; border-left: 4px solid #0969da;
  border-radius: 6px; padding: .2rem 1rem; margin: 1rem 0; }
aside.summary h2 { font-size: 1rem; margin: .5rem 0 .2rem; }
figure.report-figure { margin: 1rem 0; }
figcaption.figure-title { font-weight: 600; margin-bottom: .3rem; }
p.figure-source { font-size: 12px; color: #57606a; margin-top: .2rem; }
a.figure-data { margin-left: .4rem; }
p.banner { background: #ddf4ff; border: 1px solid #54aeff; border-radius: 6px; padding: .6rem .9rem; }
p.subtitle { color: #57606a; margin-top: -.5rem; }
ul.key-messages li { margin: .4rem 0; }
ul.parameters { columns: 2; font-size: 13px; padding-left: 1.2rem; }
dl.glossary dt { font-weight: 600; margin-top: .6rem; }
a { color: #0550ae; }
@media (max-width: 600px) {
  main { padding: 1rem .8rem 3rem; }
  h1 { font-size: 1.5rem; }
  ul.parameters { columns: 1; }
  button.toggle-code { float: none; display: block; margin: .5rem 0; }
}
p.print-only { display: none; }
@media print {
  body { font-size: 10pt; line-height: 1.4; }
  button, nav.toc, details.run-record, a.figure-data, details.settings, p.page-nav, a.anchor-link,
  header.report p:has(> a[href='index.html']), .code_cell .input { display: none !important; }
  main { max-width: none; padding: 0; }
  p.subtitle { margin-top: 0; }
  h1 { font-size: 17pt; margin: 0 0 .3em; }
  h2 { font-size: 13pt; margin: 1.1em 0 .35em; }
  h3 { font-size: 11pt; margin: 1em 0 .3em; }
  h1, h2, h3, h4, p.subtitle, caption, figcaption { break-after: avoid; break-inside: avoid; }
  p, li, dd, blockquote { orphans: 3; widows: 3; }
  figure, tr, img, aside.summary, p.banner, .unavailable, dt { break-inside: avoid; }
  table:not(:has(tbody > tr:nth-child(16))) { break-inside: avoid; }
  thead, tbody > tr:nth-child(-n+2), tbody > tr:nth-last-child(2) { break-after: avoid; }
  .output_subarea img, figure img { max-width: 100%; max-height: 120mm; width: auto; height: auto; }
  .scroll, .output_html, .output_subarea { overflow: visible; max-width: none; }
  /* Nothing may be wider than the text column: Chromium would shrink every page of the PDF to fit it.
     Tables get a smaller type and wrap their text; one of twelve columns or more gets a landscape sheet
     (report/pdf.py names that sheet per chapter with the same selector). */
  table.report-table, table.dataframe, table.status { font-size: 8pt; line-height: 1.3; max-width: 100%; }
  table.report-table td, table.report-table th, table.dataframe td, table.dataframe th, table.status td, table.status th
    { padding: .15em .45em; overflow-wrap: break-word; }
  table:has(tr > :nth-child(12)) { page: wide; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  a { color: #0a3069; text-decoration: underline; text-decoration-thickness: .5pt; text-underline-offset: 1.5pt; }
  a:not([href]) { text-decoration: none; }
  table[data-print-rows] tbody > tr:nth-child(n+26) { display: none; }  /* PRINTED_ROWS; the rest on screen */
  p.print-only { display: block; font-size: 8pt; color: #57606a; }
}
@page { size: A4; margin: 20mm 16mm 18mm;
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt system-ui, sans-serif; } }
@page wide { size: A4 landscape; }
"""

TOGGLE = """
<script>
function toggleCode() {
  document.body.classList.toggle('show-code');
  document.querySelectorAll('button.toggle-code').forEach(function (b) {
    b.textContent = document.body.classList.contains('show-code') ? 'Hide code' : 'Show code';
  });
}
</script>
"""


def _page(title: str, body: str, record: dict, extra_head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}{extra_head}</style>{TOGGLE}</head>"
        f"<body><main>{body}{_run_record(record)}</main></body></html>\n"
    )


def _run_record(record: dict) -> str:
    text = json.dumps(record, indent=2, sort_keys=True, default=str)
    return f"<details class='run-record'><summary>Run record</summary><pre>{html.escape(text)}</pre></details>"


def notebook_page(
    notebook: nbformat.NotebookNode,
    *,
    title: str,
    status: str,
    message: str,
    parameters: dict,
    record: dict,
    number: int = 0,
    finding: str = "",
) -> str:
    """One executed notebook as a reviewer page: header, the main finding, contents, outputs; code behind
    a button. Figures and tables are numbered `number`.1, `number`.2, ... and figures get a source line."""
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(without_paths(without_stderr(notebook), record))
    body = shortened_in_print(number_tables(number_figures(without_title(body), number, _source_line(record)), number))
    body = KEYBOARD_SCROLL.sub(r'\1 tabindex="0"', body)  # a region that scrolls must be reachable by keyboard
    period = parameters.get("period", "")
    heading = f"{title}, {period}" if period else title
    header = (
        "<header class='report'><button class='toggle-code' onclick='toggleCode()'>Show code</button>"
        + (f"<p class='subtitle'>Quarterly report {html.escape(str(period))}</p>" if period else "")
        + f"<h1 id='top'>{html.escape(heading)}</h1>"
        + "<p class='page-nav'><a href='index.html'>&larr; Report index</a> &middot; "
        "<a href='methods.html'>Methods and glossary</a></p>"
        + (
            ""
            if status == "ok"
            else f"<p>Status: {_status_badge(status)}{' &mdash; ' + html.escape(message) if message else ''}</p>"
        )
        + f"{_parameter_list(parameters, record)}</header>"
    )
    summary = (
        f"<aside class='summary' role='note'><h2>Main finding</h2><p>{html.escape(finding)}</p></aside>"
        if finding
        else ""
    )
    return _page(
        heading,
        header + summary + _table_of_contents(body) + body,
        record,
        HtmlFormatter().get_style_defs(".highlight"),
    )


NOTEBOOK_TITLE = re.compile(r"<h1 id=[^>]*>.*?</h1>", re.S)


def without_title(body: str) -> str:
    """The notebook's body without its own title: the page header carries it, numbered and dated."""
    return NOTEBOOK_TITLE.sub("", body, count=1)


KEYBOARD_SCROLL = re.compile(r'(<div class="output_html[^"]*")')
FIGURE = re.compile(r"<figure class=[\"']report-figure[\"']>.*?</figure>", re.S)  # nbconvert re-quotes attributes
FIGURE_TITLE = re.compile(r"(<figcaption class=[\"']figure-title[\"']>)")
FIGURE_DATA = re.compile(r"download=[\"']figure\.csv[\"']")
FIGURE_SOURCE = re.compile(r"(<p class=[\"']figure-source[\"']>)")


def number_figures(body: str, number: int, source: str) -> str:
    """Number each figure ("Figure 2.1."), name its data download after it, and give it its source line."""
    count = 0

    def numbered(match: re.Match) -> str:
        nonlocal count
        count += 1
        figure = FIGURE_TITLE.sub(lambda m: f"{m.group(1)}Figure {number}.{count}. ", match.group(0), count=1)
        figure = FIGURE_DATA.sub(f'download="figure-{number}-{count}.csv"', figure, count=1)
        return FIGURE_SOURCE.sub(lambda m: f"{m.group(1)}{source} ", figure, count=1)

    return FIGURE.sub(numbered, body)


PRINTED_ROWS = 25  # a longer table prints its first rows only (the print CSS hides the rest)
TABLE = re.compile(r"<table\b(.*?)</table>", re.S)


def shortened_in_print(body: str) -> str:
    """Mark tables longer than PRINTED_ROWS so the printed edition shows their first rows and says so:
    a 134-region table is for the screen (and the CSV), not for forty printed pages."""

    def shortened(match: re.Match) -> str:
        rows = len(re.findall(r"<tr\b", match.group(0).split("<tbody", 1)[-1]))
        if rows <= PRINTED_ROWS:
            return match.group(0)
        note = (
            f"<p class='print-only'>The printed edition shows the first {PRINTED_ROWS} of this table's {rows:,} "
            "rows; the web page has them all.</p>"
        )
        return f"<table data-print-rows='{PRINTED_ROWS}'{match.group(1)}</table>{note}"

    return TABLE.sub(shortened, body)


def number_tables(body: str, number: int) -> str:
    """Number each captioned table ("Table 2.1.")."""
    count = 0

    def numbered(match: re.Match) -> str:
        nonlocal count
        count += 1
        return f"{match.group(0)}Table {number}.{count}. "

    return re.sub(r"<caption>", numbered, body)


def _source_line(record: dict) -> str:
    """ "Source: dataset default (fingerprint ...); simulated data." in the page's words, escaped."""
    data = record.get("data", {})
    simulated = "; simulated data, effects planted" if record.get("seed") is not None else ""
    return html.escape(
        f"Source: dataset {data.get('name', '')} (fingerprint {str(data.get('sha256', ''))[:12]}){simulated}."
    )


DATA_DIR_LINE = re.compile(r"^data_dir = .*$", re.M)


def without_paths(notebook: nbformat.NotebookNode, record: dict) -> nbformat.NotebookNode:
    """The notebook with the injected data directory shown by the dataset's name: a path on the machine
    that built the report is not for reviewers (the run record has the fingerprint)."""
    name = json.dumps(str(record.get("data", {}).get("name", "")))
    clean = copy.deepcopy(notebook)
    for cell in clean.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = DATA_DIR_LINE.sub(lambda _: f"data_dir = {name}  # the dataset's name", cell["source"])
    return clean


def without_stderr(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without stderr output: library warnings and log lines are not for reviewers.

    (The executed notebook beside the page keeps them for whoever debugs the run.)
    """
    clean = copy.deepcopy(notebook)
    for cell in clean.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    return clean


def failed_page(*, title: str, status: str, message: str, parameters: dict, record: dict) -> str:
    """Page for a notebook that left no executed notebook behind (for example a crashed worker)."""
    body = (
        "<header class='report'><p class='page-nav'><a href='index.html'>&larr; Report index</a></p>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>Status: {_status_badge(status)}</p>{_parameter_list(parameters, record)}</header>"
        f"<div class='output_error'><pre>{html.escape(message)}</pre></div>"
    )
    return _page(title, body, record)


def index_page(
    *,
    period: str,
    results: list[dict],
    headline: pd.DataFrame,
    estimates: pd.DataFrame,
    record: dict,
    changes: pd.DataFrame | None = None,
    previous: str = "",
    page_messages: list[str] | None = None,
) -> str:
    """The report's front page (see analysis.report.index)."""
    from .index import index_page as front_page

    return front_page(
        period=period,
        results=results,
        headline=headline,
        estimates=estimates,
        record=record,
        page=_page,
        changes=changes,
        previous=previous,
        page_messages=page_messages,
    )


def methods_page() -> str:
    from .methods import methods_page as reference_page

    return reference_page(_page)


def _status_badge(status: str) -> str:
    css = "status-ok" if status == "ok" else "status-bad"
    return f"<span class='{css}'>{html.escape(status)}</span>"


PARAMETER_WORDS = {
    "period": "Report quarter",
    "min_cell_size": "Smallest group shown (inspections)",
    "notice_period": "Half-year the notice compared",
    "scope": "Provinces covered",
    "covariates": "Outcome-model adjustment",
    "propensity_covariates": "Propensity-model adjustment",
    "estimands": "Effects estimated",
    "methods": "Estimators",
    "overlap_tolerance": "Overlap tolerance",
    "cluster": "Errors clustered by",
    "heterogeneity_by": "Effect broken down by",
    "program": "Programme studied",
    "control_group": "Comparison group",
    "anticipation": "Quarters of anticipation allowed",
    "base_period": "Base period before adoption",
    "est_method": "Estimator of each comparison",
    "xformla": "Covariates (formula)",
    "exclude_campaign_regions": "Regions with a surprise campaign left out",
    "lags": "Quarters after a staffing change",
    "leads": "Quarters before a staffing change (leads test)",
    "controls": "Other reforms held fixed",
    "weights": "Weighting of the indicators",
    "threshold": "Warning threshold (score out of 100)",
    "bottom_n": "Lowest regions warned in each peer group",
    "draws": "Perturbed weightings in the stability check",
    "tree": "Indicator tree",
}
EMPTY_WORDS = {  # what an empty value means
    "scope": "all",
    "cluster": "none (independent inspections)",
    "tree": "the bundled tree (six first-level, nine second-level indicators)",
    "xformla": "none",
}


def _parameter_list(parameters: dict, record: dict) -> str:
    """The page's settings as a short list; the dataset by name and fingerprint, never by its path."""
    data = record.get("data", {})
    items = [
        f"<li>Dataset: {html.escape(str(data.get('name', '')))} "
        f"(fingerprint <code>{html.escape(str(data.get('sha256', ''))[:12])}</code>)</li>"
    ]
    for name, value in parameters.items():
        if name == "data_dir":
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        shown = ", ".join(labels.words(v) if isinstance(v, str) else _setting_value(v) for v in values)
        if shown in ("", "{}"):
            shown = EMPTY_WORDS.get(name, "none")
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        items.append(
            f"<li>{html.escape(PARAMETER_WORDS.get(name, name.replace('_', ' ').capitalize()))}: "
            f"{html.escape(shown)}</li>"
        )
    return (
        "<details class='settings'><summary>Settings of this page</summary>"
        f"<ul class='parameters'>{''.join(items)}</ul></details>"
    )


def _setting_value(value) -> str:
    """80.0 as "80", 1e-05 as "1e-05"; anything else as written."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table_of_contents(body: str) -> str:
    items = []
    headings = HEADING.findall(body)
    top = min((level for level, _, _ in headings), default="1")
    for level, anchor, text in headings:
        label = re.sub(r"<[^>]+>", "", text).strip()
        indent = " style='margin-left:1rem'" if level > top else ""
        items.append(f"<li{indent}><a href='#{html.escape(anchor)}'>{html.escape(html.unescape(label))}</a></li>")
    return f"<nav class='toc'><strong>Contents</strong><ul>{''.join(items)}</ul></nav>" if items else ""
