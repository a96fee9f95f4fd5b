"""Open the built report in headless Chromium (Debian's, installed by `make test`)."""

from __future__ import annotations

import functools
import shutil

import pytest

from analysis.report import schema

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,  # reads the shared full report (conftest.built_report: one build per run, ~45 s)
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="Debian chromium is not installed (make test installs it as root)"
    ),
]


def test_index_and_a_page_load_cleanly(reviewer_report, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for page_name in ("index.html", "01_reform_overview.html"):
                page = browser.new_page()
                problems: list[str] = []
                record = problems.append  # bound now: each page's handlers write to its own list
                page.on("console", lambda m, record=record: record(m.text) if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e, record=record: record(str(e)))
                page.on("requestfailed", lambda r, record=record: record(f"request failed: {r.url}"))
                page.goto((reviewer_report / page_name).as_uri())
                page.wait_for_load_state("load")
                images = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
                assert problems == [], (page_name, problems)
                assert all(images), (page_name, images)
                if page_name == "01_reform_overview.html":
                    assert images, "the chapter's figures should be on the page"
                    assert not page.is_visible(".code_cell .input")  # code hidden by default
                    page.click("button.toggle-code")
                    assert page.is_visible(".code_cell .input")  # and revealable
                page.screenshot(path=str(tmp_path / f"{page_name}.png"), full_page=True)
                assert (tmp_path / f"{page_name}.png").stat().st_size > 1000
        finally:
            browser.close()


# --- the reviewer's pages, as a reviewer's browser shows them ------------------------------------------

CHAPTER_PAGES = tuple(f"{spec.name}.html" for spec in schema.NOTEBOOKS)
REVIEWER_PAGES = ("index.html", *CHAPTER_PAGES, "methods.html")
STUDY_PAGES = ("02_surprise_inspections.html", "03_cross_region_enforcement.html", "04_team_expansion.html")
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def reviewer_report(built_report):
    return built_report  # every page, built once per test run (conftest.py)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser, path, viewport=None):
    page = browser.new_page(viewport=viewport) if viewport else browser.new_page()
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("name", REVIEWER_PAGES)
def test_no_serious_accessibility_violations(reviewer_report, browser, name):
    """axe-core's rules (WCAG 2 A and AA): nothing serious or critical on any page."""
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(browser, reviewer_report / name)
    rules = {"type": "tag", "values": ["wcag2a", "wcag2aa"]}
    # every violating element, one example per passing rule: the scorecard's 5,000 cells take 12 s, not 19 s
    results = Axe().run(page, options={"runOnly": rules, "resultTypes": ["violations"]})
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} e.g. {v['nodes'][0]['html'][:120]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    page.close()
    assert serious == [], serious


@pytest.mark.parametrize("name", REVIEWER_PAGES)
def test_pages_do_not_scroll_sideways_on_a_phone(reviewer_report, browser, name):
    page = open_page(browser, reviewer_report / name, PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert width <= PHONE["width"], f"{name} is {width} px wide at {PHONE['width']} px"


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_every_figure_is_numbered_titled_described_and_downloadable(reviewer_report, browser, name):
    page = open_page(browser, reviewer_report / name)
    figures = page.evaluate(
        """Array.from(document.querySelectorAll('img')).map(img => ({
            alt: img.getAttribute('alt') || '',
            caption: img.closest('figure')?.querySelector('figcaption')?.textContent || '',
            source: img.closest('figure')?.querySelector('.figure-source')?.textContent || '',
            data: img.closest('figure')?.querySelector('a.figure-data')?.getAttribute('download') || '',
        }))"""
    )
    captions = page.evaluate("Array.from(document.querySelectorAll('caption')).map(c => c.textContent)")
    page.close()
    number = schema.CHAPTERS[name.removesuffix(".html")]
    assert figures, f"{name} has no figure"
    for k, figure in enumerate(figures, start=1):
        assert figure["caption"].startswith(f"Figure {number}.{k}. ") and len(figure["caption"]) > 20, figure
        assert len(figure["alt"]) > 20 and "No description" not in figure["alt"], figure
        assert any(ch.isdigit() for ch in figure["alt"]), f"alt text says no number: {figure['alt']}"
        assert figure["source"].startswith("Source: dataset ") and "simulated" in figure["source"], figure
        assert figure["data"] == f"figure-{number}-{k}.csv", figure
    for k, caption in enumerate(captions, start=1):
        assert caption.startswith(f"Table {number}.{k}. "), caption


def test_printing_hides_the_controls(reviewer_report, browser):
    page = open_page(browser, reviewer_report / "02_surprise_inspections.html")
    page.emulate_media(media="print")
    shown = page.evaluate(
        """['button.toggle-code', 'nav.toc', 'details.run-record', 'a.figure-data']
            .map(s => document.querySelector(s))
            .filter(e => e && getComputedStyle(e).display !== 'none')
            .map(e => e.outerHTML.slice(0, 60))"""
    )
    page.close()
    assert shown == []


def test_long_tables_print_their_first_rows_and_say_so(reviewer_report, browser):
    from analysis.report.render import PRINTED_ROWS

    page = open_page(browser, reviewer_report / "05_quarterly_scorecard.html")
    count_rows = """Array.from(document.querySelectorAll('table')).map(t =>
        Array.from(t.querySelectorAll('tbody > tr')).filter(r => getComputedStyle(r).display !== 'none').length)"""
    on_screen = page.evaluate(count_rows)
    page.emulate_media(media="print")
    printed = page.evaluate(count_rows)
    notes = page.evaluate(
        "Array.from(document.querySelectorAll('p.print-only')).filter(p => getComputedStyle(p).display !== 'none')"
        ".map(p => p.textContent)"
    )
    page.close()
    long_tables = sum(rows > PRINTED_ROWS for rows in on_screen)
    assert long_tables, "the scorecard should have a table of every region"
    assert printed == [min(rows, PRINTED_ROWS) for rows in on_screen]
    assert len(notes) == long_tables and all(f"first {PRINTED_ROWS} of" in n for n in notes), notes


def test_the_first_screen_of_the_index_gives_the_key_messages_with_units(reviewer_report, browser):
    page = open_page(browser, reviewer_report / "index.html", {"width": 1280, "height": 900})
    first_screen = page.evaluate(
        """Array.from(document.querySelectorAll('ul.key-messages li'))
            .filter(li => li.getBoundingClientRect().bottom <= 900).map(li => li.textContent)"""
    )
    page.close()
    assert len(first_screen) >= 2, first_screen
    assert any("percentage points" in m and "95% CI" in m for m in first_screen), first_screen


def test_the_pdf_edition_has_every_page_numbered(reviewer_report):
    from pypdf import PdfReader

    reader = PdfReader(reviewer_report / "report.pdf")
    pages = len(reader.pages)
    assert pages >= 4
    for number in (1, pages):
        text = reader.pages[number - 1].extract_text()
        assert f"Page {number} of {pages}" in text, text[-200:]
    assert "quarterly report 2024Q4" in reader.pages[0].extract_text()
    assert "Figure 3.1." in "".join(page.extract_text() for page in reader.pages)  # chapter 3: the first study


@functools.cache  # parsed once for the tests that read it
def _pdf_sheets(report):
    """report.pdf's sheets as (width, height in points, text with ligatures spelled out, {font size: characters})."""
    import collections
    import unicodedata

    from pypdf import PdfReader

    sheets = []
    for page in PdfReader(report / "report.pdf").pages:
        sizes: collections.Counter = collections.Counter()

        def count(text, cm, tm, font, size, sizes=sizes):
            if text.strip():
                sizes[round(size * tm[0] * cm[0], 1)] += len(text.strip())

        text = unicodedata.normalize("NFKC", page.extract_text(visitor_text=count))
        sheets.append((round(float(page.mediabox.width)), round(float(page.mediabox.height)), text, sizes))
    return sheets


def test_every_pdf_sheet_names_the_quarter_and_its_chapter(reviewer_report):
    """Running header "Quarterly report 2024Q4 · <chapter>", chapters in the report's order, each from a new
    sheet; footer with the publication and "Page n of m"."""
    sheets = _pdf_sheets(reviewer_report)
    chapters = [
        "Overview",
        *(schema.numbered_title(spec.name, spec.title) for spec in schema.NOTEBOOKS),
        "Methods, glossary and references",
    ]
    headers = [text.splitlines()[0] for _, _, text, _ in sheets]
    assert all(h.startswith("Quarterly report 2024Q4 · ") for h in headers), headers
    running = [h.removeprefix("Quarterly report 2024Q4 · ") for h in headers]
    firsts = [k for k, chapter in enumerate(running) if k == 0 or running[k - 1] != chapter]
    assert [running[k] for k in firsts] == chapters, running  # each chapter once, in order
    for k in firsts[1:-1]:  # a chapter's first sheet opens with its title (", 2024Q4" after it)
        assert f"{running[k]}, 2024Q4" in " ".join(sheets[k][2].split()), (running[k], sheets[k][2][:300])
    for number, (_, _, text, _) in enumerate(sheets, start=1):
        assert f"Page {number} of {len(sheets)}" in text, text[-200:]
        assert "Work-safety enforcement: quarterly report 2024Q4" in text, text[-200:]


def test_the_pdf_is_a4_printed_at_full_size_without_controls_or_code(reviewer_report):
    """A4 sheets (landscape only for a table of twelve columns or more); body text at its 10 pt: Chromium
    shrinks every page when anything is wider than the sheet, so nothing was; no buttons, settings or code."""
    import collections

    sheets = _pdf_sheets(reviewer_report)
    assert {(width, height) for width, height, _, _ in sheets} <= {(595, 842), (842, 595)}
    assert sum(1 for width, height, _, _ in sheets if width < height) > len(sheets) / 2
    sizes = sum((s for _, _, _, s in sheets), start=collections.Counter())
    assert 10.0 in sizes and sizes[10.0] > 1000, sizes.most_common(8)  # the body's size, unscaled
    text = "\n".join(text for _, _, text, _ in sheets)
    for control in ("Show code", "Run record", "Settings of this page", "from analysis", "Report index"):
        assert control not in text, control


def test_running_headers_are_css_strings_that_cannot_end_early():
    from analysis.report import pdf

    quoted = pdf.css_string('Q4 · a "b" \\ </style> ok')
    assert quoted.startswith('"') and quoted.endswith('"') and quoted.count('"') == 2
    assert "<" not in quoted and "\\5c " in quoted and "\\b7 " in quoted
    page = "<main><h1 id='x'>3. Fines &amp; penalties, 2024Q4<a class='anchor-link'>¶</a></h1></main>"
    assert pdf.chapter_title("02_x.html", page, "2024Q4") == "3. Fines & penalties"
    assert pdf.chapter_title("index.html", page, "2024Q4") == "Overview"


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_pages_show_the_dataset_by_name_never_by_its_path(reviewer_report, report_world, name):
    text = (reviewer_report / name).read_text(encoding="utf-8")
    world = report_world
    assert str(world.parent) not in text  # not even in the hidden code


@pytest.mark.parametrize("name", STUDY_PAGES)
def test_study_pages_open_with_the_finding_and_end_with_a_verdict(reviewer_report, name):
    text = (reviewer_report / name).read_text(encoding="utf-8")
    finding, conclusion = text.index("Main finding"), text.rindex("Conclusion for reviewers")  # after the contents
    assert finding < text.index("Question.") < conclusion
    assert "95% CI" in text[finding : finding + 600]
    assert "Verdict:" in text[conclusion:]
