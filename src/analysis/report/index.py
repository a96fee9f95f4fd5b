"""The report's front page: what the quarter shows first, then the studies, figures and downloads.

Everything a reviewer reads here is words and formatted numbers (analysis.labels);
code names stay in the downloadable CSV files.
"""

from __future__ import annotations

import html
import re

import pandas as pd

from .. import labels
from ..registry import STUDIES, STUDIES_BY_NAME
from .messages import key_messages
from .schema import numbered_title

SIMULATED_BANNER = (
    "Simulated data. These figures come from the suite's simulated world, in which the effects are planted: "
    "they show what the methods find, not how enforcement really went."
)


def index_page(
    *,
    period: str,
    results: list[dict],
    headline: pd.DataFrame,
    estimates: pd.DataFrame,
    record: dict,
    page,
    changes: pd.DataFrame | None = None,
    previous: str = "",
    page_messages: list[str] | None = None,
) -> str:
    """The index: key messages, what could not be done, studies, the quarter's figures, estimates, downloads.

    `page(title, body, record)` wraps the body in the report's page frame; `page_messages` are key
    messages pages stated themselves (the scorecard's), shown after the studies'.
    """
    span = record.get("data", {}).get("span", ["?", "?"])
    built = str(record.get("built_at", ""))[:10]
    messages = key_messages(estimates, headline, period, {r["name"]: r.get("parameters", {}) for r in results})
    messages += page_messages or []
    body = (
        f"<header class='report'><h1>Work-safety enforcement: quarterly report, {html.escape(period)}</h1>"
        f"<p class='subtitle'>{_scope_words(record.get('scope'))}{_span_words(span)} &middot; "
        f"built {html.escape(built)}</p></header>"
        + (
            f"<p class='banner' role='note'>{html.escape(SIMULATED_BANNER)}</p>"
            if record.get("seed") is not None
            else ""
        )
        + "<h2 id='key-messages'>Key messages</h2>"
        + (
            ("<ul class='key-messages'>" + "".join(f"<li>{html.escape(m)}</li>" for m in messages) + "</ul>")
            if messages
            else "<p class='unavailable'>No study produced an estimate for this quarter.</p>"
        )
        + _limitations_html(results, record.get("limitations", {}))
        + f"<h2 id='studies'>Studies</h2>{_status_html(results)}"
        + _changes_html(changes, previous)
        + "<h2 id='headline'>The quarter in figures</h2>"
        + _headline_html(headline, period, record.get("min_cell_size"))
        + f"<h2 id='estimates'>Main estimates</h2>{_estimates_html(estimates)}"
        + _downloads_html()
    )
    return page(f"Quarterly report {period}", letter_tables(body), record)


def letter_tables(body: str) -> str:
    """Label the index's tables "Table A.", "Table B.", ... in order (chapters number theirs "Table 3.1.")."""
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return re.sub(r"<caption>", lambda m: f"<caption>Table {next(letters)}. ", body)


def _span_words(span: list[str] | None) -> str:
    """Which quarters the data's inspections cover, in words (escaped); None: no inspection was accepted."""
    if span is None:
        return "No inspection in the data was accepted (the data-quality chapter says why)"
    return f"Data from {html.escape(str(span[0]))} to {html.escape(str(span[1]))}"


def _scope_words(scope) -> str:
    """The provinces the report covers, for the subtitle ("" when it covers all of them)."""
    if isinstance(scope, str):
        return "Pages cover different provinces (see each page's settings); the figures below cover all &middot; "
    if not scope:
        return ""
    return f"Covers {html.escape(', '.join(scope))} only &middot; "


def _changes_html(changes: pd.DataFrame | None, previous: str) -> str:
    """How each main estimate moved since the previous report, and whether the move exceeds its uncertainty."""
    if changes is None:
        return ""
    rows = []
    for study in STUDIES:
        lead = changes[
            (changes["study"] == study.name)
            & (changes["estimand"] == study.estimand)
            & (changes["method"] == study.method)
            & changes["status"].isin(["changed", "unchanged"])
        ]
        for r in lead.itertuples():
            verdict = (
                "unchanged"
                if r.status == "unchanged"
                else "within the uncertainty (the 95% intervals overlap)"
                if r.intervals_overlap
                else "larger than the uncertainty (the 95% intervals do not overlap)"
            )
            rows.append(
                f"<tr><th scope='row'>{html.escape(labels.label(study.name))}</th>"
                f"<td class='text'>{html.escape(labels.label(r.outcome).capitalize())}</td>"
                f"<td>{html.escape(_estimate(study.name, r.outcome, r.estimate_before))}</td>"
                f"<td>{html.escape(_estimate(study.name, r.outcome, r.estimate_after))}</td>"
                f"<td class='text'>{html.escape(verdict)}</td></tr>"
            )
    if not rows:
        return (
            f"<h2 id='changes'>Change since {html.escape(previous)}</h2><p>The report for {html.escape(previous)} "
            "has none of this report's main estimates to compare with.</p>"
        )
    return (
        f"<h2 id='changes'>Change since {html.escape(previous)}</h2><div class='scroll'><table class='report-table'>"
        f"<caption>Main estimates in this report against the report for {html.escape(previous)}</caption>"
        "<thead><tr><th scope='col'>Study</th><th scope='col'>Outcome</th><th scope='col'>Before</th>"
        "<th scope='col'>Now</th><th scope='col'>The change is</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _status_html(results: list[dict]) -> str:
    rows = "".join(
        f"<tr><td><a href='{html.escape(r['name'])}.html'>{html.escape(numbered_title(r['name'], r['title']))}</a></td>"
        f"<td>{_status(r['status'])}</td></tr>"
        for r in results
    )
    return (
        f"<div class='scroll'><table class='status'><caption>Pages of this report</caption>"
        "<thead><tr><th scope='col'>Page</th><th scope='col'>Status</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _status(status: str) -> str:
    words = {"ok": "complete"}.get(status, status)
    css = "status-ok" if status == "ok" else "status-bad"
    return f"<span class='{css}'>{html.escape(words)}</span>"


def _limitations_html(results: list[dict], limitations: dict[str, list[dict]]) -> str:
    """Which analyses this data could not support, page by page."""
    titles = {r["name"]: numbered_title(r["name"], r["title"]) for r in results}
    items = "".join(
        f"<li><a href='{html.escape(name)}.html'>{html.escape(titles.get(name, name))}</a>: "
        + "; ".join(
            f"{html.escape(str(e.get('section', '')))} &mdash; {html.escape(str(e.get('reason', '')))}" for e in entries
        )
        + "</li>"
        for name, entries in limitations.items()
        if entries
    )
    if not items:
        return ""
    return f"<h2 id='limitations'>What this data could not support</h2><ul class='unavailable'>{items}</ul>"


def _headline_html(headline: pd.DataFrame, period: str, min_cell_size) -> str:
    """The quarter's national figures, or a sentence saying why there are none."""
    if headline.empty:
        return (
            f"<p class='unavailable'>The data has no inspections in {html.escape(period)}, "
            "so there are no figures for the quarter.</p>"
        )
    if headline["value"].isna().all():
        return (
            f"<p class='unavailable'>The quarter's figures are withheld: they would rest on fewer than "
            f"{html.escape(str(min_cell_size))} inspections.</p>"
        )
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(labels.label(r.metric).capitalize())}</th>"
        f"<td>{html.escape(labels.level(r.metric, r.value))}</td>"
        f"<td>{html.escape(labels.change(r.metric, r.value, r.year_on_year))}</td></tr>"
        for r in headline.itertuples()
    )
    note = (
        ""
        if headline["year_on_year"].notna().any()
        else "<p class='reading'>Changes on a year earlier are not available: the data has no inspections (or too few) "
        "a year earlier.</p>"
    )
    return (
        f"<div class='scroll'><table class='report-table'><caption>{html.escape(period)} against the same "
        "quarter a year earlier</caption><thead><tr><th scope='col'>Measure</th><th scope='col'>Value</th>"
        f"<th scope='col'>Change on a year earlier</th></tr></thead><tbody>{rows}</tbody></table></div>{note}"
    )


def _estimates_html(estimates: pd.DataFrame) -> str:
    """Each study's preferred estimate for every outcome, in words and units."""
    if estimates.empty:
        return "<p class='unavailable'>No study recorded estimates in this report.</p>"
    rows = []
    for study in STUDIES:
        lead = estimates[
            (estimates["study"] == study.name)
            & (estimates["estimand"] == study.estimand)
            & (estimates["method"] == study.method)
        ]
        for r in lead.itertuples():
            rows.append(
                f"<tr><th scope='row'>{html.escape(labels.label(study.name))}</th>"
                f"<td class='text'>{html.escape(labels.label(r.outcome).capitalize())}</td>"
                f"<td>{html.escape(_estimate(study.name, r.outcome, r.estimate))}</td>"
                f"<td>{html.escape(_interval(study.name, r.outcome, r.ci_low, r.ci_high))}</td>"
                f"<td class='text'>{html.escape(labels.label(study.method))}</td><td>{int(r.n_obs):,}</td></tr>"
            )
    return (
        "<div class='scroll'><table class='report-table'><caption>Each study's main estimates, "
        "with 95% confidence intervals</caption><thead><tr><th scope='col'>Study</th><th scope='col'>Outcome</th>"
        "<th scope='col'>Estimate</th><th scope='col'>95% interval</th><th scope='col'>Method</th>"
        f"<th scope='col'>Observations</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"<p>All {len(estimates)} estimates (every method, estimand and event time) are in "
        "<a href='estimates.csv'>estimates.csv</a>; each study's page explains them.</p>"
    )


def _estimate(study: str, outcome: str, x: float) -> str:
    if STUDIES_BY_NAME[study].estimand == "elasticity":
        return "n/a" if pd.isna(x) else f"{x:.2f} (elasticity)"
    return labels.effect(outcome, x)


def _interval(study: str, outcome: str, low: float, high: float) -> str:
    if STUDIES_BY_NAME[study].estimand == "elasticity":
        return "n/a" if pd.isna(low) or pd.isna(high) else f"{low:.2f} to {high:.2f}"
    return labels.interval(outcome, low, high)


def _downloads_html() -> str:
    from .pdf import find_chromium

    printed = (
        "<li><a href='report.pdf'>report.pdf</a>: the whole report, paginated, for printing</li>"
        if find_chromium()
        else ""
    )
    return (
        "<h2 id='downloads'>Downloads</h2><ul>"
        + printed
        + "<li><a href='estimates.csv'>estimates.csv</a>: every estimate, one row each "
        "(<a href='estimates.md'>what each column means</a>)</li>"
        "<li><a href='headline.csv'>headline.csv</a>: the quarter's figures and their ratios to a year earlier</li>"
        "<li><a href='manifest.json'>manifest.json</a>: the run record (data fingerprint, parameters, versions)</li>"
        "<li><a href='methods.html'>Methods, glossary and references</a></li>"
        "</ul>"
    )
