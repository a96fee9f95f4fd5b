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
table.report-table th:first-child, table.report-table td:first-child, table.status td:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .25rem 0; }
p.reading { border-left: 3px solid #0969da; padding-left: .75rem; }
.unavailable { border-left: 3px solid #9a6700; background: #fff8c5; padding: .4rem .75rem; }
p.disclosure { font-size: 12px; color: #57606a; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-bad { color: #cf222e; font-weight: 600; }
details.run-record { margin-top: 3rem; font-size: 12px; color: #57606a; }
details.run-record pre { white-space: pre-wrap; }
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


def notebook_page(notebook: nbformat.NotebookNode, *, title: str, status: str, message: str, parameters: dict, record: dict) -> str:
    """One executed notebook as a reviewer page: header, contents, outputs; code behind a button."""
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(without_stderr(notebook))
    header = (
        "<header class='report'><button class='toggle-code' onclick='toggleCode()'>Show code</button>"
        f"<p><a href='index.html'>&larr; Report index</a></p>"
        f"<p>Status: {_status_badge(status)}{' &mdash; ' + html.escape(message) if message else ''}</p>"
        f"{_parameter_table(parameters)}</header>"
    )
    return _page(title, header + _table_of_contents(body) + body, record, HtmlFormatter().get_style_defs(".highlight"))


def without_stderr(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without stderr output: library warnings and log lines are not for reviewers.

    (The executed notebook beside the page keeps them for whoever debugs the run.)
    """
    clean = copy.deepcopy(notebook)
    for cell in clean.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return clean


def failed_page(*, title: str, status: str, message: str, parameters: dict, record: dict) -> str:
    """Page for a notebook that left no executed notebook behind (for example a crashed worker)."""
    body = (
        f"<header class='report'><p><a href='index.html'>&larr; Report index</a></p><h1>{html.escape(title)}</h1>"
        f"<p>Status: {_status_badge(status)}</p>{_parameter_table(parameters)}</header>"
        f"<div class='output_error'><pre>{html.escape(message)}</pre></div>"
    )
    return _page(title, body, record)


def index_page(*, period: str, results: list[dict], headline: pd.DataFrame, estimates: pd.DataFrame, record: dict) -> str:
    """The report's front page: headline figures, estimates, then the status of every notebook."""
    rows = "".join(
        f"<tr><td><a href='{html.escape(r['name'])}.html'>{html.escape(r['title'])}</a></td>"
        f"<td>{_status_badge(r['status'])}</td><td>{r['seconds']:.1f} s</td>"
        f"<td>{'cached' if r.get('cached') else 'executed'}</td></tr>"
        for r in results
    )
    body = (
        f"<header class='report'><h1>Enforcement Reform Lab &mdash; report for {html.escape(period)}</h1>"
        f"<p>Data: <code>{html.escape(str(record.get('data', {}).get('sha256', ''))[:16])}</code> &middot; "
        f"commit <code>{html.escape(str(record.get('git', {}).get('commit', ''))[:12])}</code></p></header>"
        f"<h2 id='estimates'>Headline estimates</h2>{_estimates_html(estimates)}"
        f"{_limitations_html(results, record.get('limitations', {}))}"
        f"<h2 id='headline'>The quarter in figures</h2>{_headline_html(headline, period, record.get('min_cell_size'))}"
        "<h2 id='notebooks'>Notebooks</h2><table class='status'><thead><tr><th>notebook</th><th>status</th>"
        f"<th>duration</th><th>run</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return _page(f"Report {period}", body, record)


def _limitations_html(results: list[dict], limitations: dict[str, list[dict]]) -> str:
    """Which analyses this data could not support, notebook by notebook (from each one's record)."""
    titles = {r["name"]: r["title"] for r in results}
    items = "".join(
        f"<li><a href='{html.escape(name)}.html'>{html.escape(titles.get(name, name))}</a>: "
        + "; ".join(f"{html.escape(str(e.get('section', '')))} &mdash; {html.escape(str(e.get('reason', '')))}" for e in entries)
        + "</li>"
        for name, entries in limitations.items() if entries
    )
    if not items:
        return ""
    return f"<h2 id='limitations'>What this data could not support</h2><ul class='unavailable'>{items}</ul>"


def _headline_html(headline: pd.DataFrame, period: str, min_cell_size) -> str:
    """The quarter's national figures, or a sentence saying why there are none."""
    if headline.empty:
        return f"<p class='unavailable'>The data has no inspections in {html.escape(period)}, so there are no figures for the quarter.</p>"
    if headline["value"].isna().all():
        return (f"<p class='unavailable'>The quarter's figures are withheld: they would rest on fewer than "
                f"{html.escape(str(min_cell_size))} inspections.</p>")
    note = ("" if headline["year_on_year"].notna().any() else
            "<p class='reading'>Year-on-year ratios are not available: the data has no inspections (or too few) a year earlier.</p>")
    return _frame_html(headline, "The quarter against the same quarter a year earlier") + note


def _estimates_html(estimates: pd.DataFrame) -> str:
    from ..results import headline

    if estimates.empty:
        return "<p>No study has recorded estimates in this report.</p>"
    lead = headline(estimates)
    return (_frame_html(lead if len(lead) else estimates, "Each study's main estimate with its standard error and 95% interval")
            + f"<p>All {len(estimates)} estimates (every method and event time): "
            "<a href='estimates.csv'>estimates.csv</a>; each study's page explains them.</p>")


def _frame_html(frame: pd.DataFrame, caption: str) -> str:
    from ..display import table

    return str(table(frame, caption=caption))


def _status_badge(status: str) -> str:
    css = "status-ok" if status == "ok" else "status-bad"
    return f"<span class='{css}'>{html.escape(status)}</span>"


def _parameter_table(parameters: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(repr(v))}</td></tr>" for k, v in parameters.items())
    return f"<table class='report-table'><caption>Parameters</caption><tbody>{rows}</tbody></table>"


def _table_of_contents(body: str) -> str:
    items = []
    for level, anchor, text in HEADING.findall(body):
        label = re.sub(r"<[^>]+>", "", text).strip()
        indent = " style='margin-left:1rem'" if level == "2" else ""
        items.append(f"<li{indent}><a href='#{html.escape(anchor)}'>{html.escape(html.unescape(label))}</a></li>")
    return f"<nav class='toc'><strong>Contents</strong><ul>{''.join(items)}</ul></nav>" if items else ""
