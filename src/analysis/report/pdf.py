"""The paginated edition: every page of a report in one `report.pdf`, printed by headless Chromium.

The pages' bodies are set one after the other in one print document with the report's print
styles (`render.STYLE`, its `@media print` and `@page` rules), each page a chapter that starts
on a new sheet. Every sheet carries a running header naming the quarter and its chapter, and
"Page n of m" in the footer.

Why one document with CSS named pages, and not one PDF per chapter merged afterwards: Chromium
(≥ 131) prints `@page` margin boxes, with text, `counter(page)` and `counter(pages)`, and
honours named pages (`page: chapter-3`), so each chapter's `@page chapter-3 { @top-left ... }`
rule gives its sheets their own header while the numbering runs over the whole report. CSS
`string-set` (a header taken from the current heading) Chromium does not implement. Printing
once keeps links between chapters working inside the PDF and needs no renumbering, font
embedding or stamping afterwards. The browser tests read the headers and page numbers back
from the PDF, so a Chromium that stopped printing margin boxes would fail them.

Chromium is the one the browser tests use; without it the report is still built, and the run
record says why there is no PDF.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PRINT_SECONDS = 180
PUBLICATION = "Work-safety enforcement"
FRONT_PAGE = "index.html"
FRONT_CHAPTER = "Overview"
MAIN = re.compile(r"<main>(.*)</main>", re.S)
TITLE = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
TAG = re.compile(r"<[^>]+>")
LEFT_OUT = [
    re.compile(r"<details class='run-record'>.*?</details>", re.S),
    re.compile(r"<button class='toggle-code'.*?</button>", re.S),
    re.compile(r"<nav class='toc'>.*?</nav>", re.S),
]
WIDE_TABLE = "table:has(tr > :nth-child(12))"  # set on a landscape sheet, as render.STYLE's print rules say
LOCAL_LINK = re.compile(r"""href=(["'])([^"'#:]+)(#[^"']*)?\1""")  # a link to a file beside the page


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def write_pdf(directory: Path, pages: list[str], period: str) -> str:
    """Print `pages` (HTML files in `directory`, in order) to `directory`/report.pdf.

    Returns "" when written, else one sentence saying why not (for the run record).
    """
    chromium = find_chromium()
    if chromium is None:
        return "report.pdf was not made: no Chromium on this machine (make test installs Debian's chromium)"
    document = print_document([(name, (directory / name).read_text(encoding="utf-8")) for name in pages], period)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "report.html"
        source.write_text(document, encoding="utf-8")
        target = directory / "report.pdf"
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={scratch}/profile",
            "--no-pdf-header-footer",  # the document's own margin boxes carry header and page numbers
            "--generate-pdf-document-outline",  # chapters and sections as PDF bookmarks
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=PRINT_SECONDS, check=True)
        except (subprocess.SubprocessError, OSError) as err:
            return f"report.pdf was not made: Chromium could not print the report ({type(err).__name__})"
    return "" if target.exists() else "report.pdf was not made: Chromium wrote no file"


def print_document(pages: list[tuple[str, str]], period: str) -> str:
    """One HTML document holding every page's content (`(file name, html)` pairs, in order), each
    page a chapter from a new sheet whose running header names the quarter and the chapter."""
    from .render import STYLE

    names = {name for name, _ in pages}
    sections, chapters = [], []
    for number, (name, page) in enumerate(pages, start=1):
        match = MAIN.search(page)
        body = match.group(1) if match else ""
        for pattern in LEFT_OUT:
            body = pattern.sub("", body)
        body = LOCAL_LINK.sub(lambda m: _print_link(m, names), body)
        header, anchor = css_string(f"Quarterly report {period} · {chapter_title(name, page, period)}"), _anchor(name)
        chapters.append(
            f"@page chapter-{number} {{ @top-left {{ content: {header}; }} }}"
            f" @page chapter-{number}-wide {{ size: A4 landscape; @top-left {{ content: {header}; }} }}"
            f" #{anchor} {{ page: chapter-{number}; }} #{anchor} {WIDE_TABLE} {{ page: chapter-{number}-wide; }}"
        )
        sections.append(f"<section class='page' id='{anchor}'>{body}</section>")
    publication = f"{PUBLICATION}: quarterly report {period}"
    paged = (  # the header's text per chapter; the footer's "Page n of m" is render.STYLE's
        "@page { size: A4;"
        " @top-left { width: 100%; vertical-align: bottom; padding-bottom: 1.5mm; border-bottom: .5pt solid #8c959f;"
        " font: 8pt system-ui, sans-serif; color: #1b1f24; }"
        f" @bottom-left {{ content: {css_string(publication)}; font: 8pt system-ui, sans-serif; color: #57606a; }} }}"
        f" {' '.join(chapters)}"
        " section.page + section.page { break-before: page; }"
        " p.subtitle:has(+ h1) { display: none; }"  # "Quarterly report 2024Q4" above a title: the header says it
        f" header.report p:has(> a[href='#{_anchor(FRONT_PAGE)}']) {{ display: none; }}"  # "<- Report index"
    )
    heading = html.escape(publication)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{heading}</title><style>{STYLE}{paged}</style></head>"
        f"<body class='print-edition'><main>{''.join(sections)}</main></body></html>\n"
    )


def chapter_title(name: str, page: str, period: str) -> str:
    """The page's title as its running header names it: its first heading, without the quarter
    (the header gives it once); the front page is the report's overview."""
    if name == FRONT_PAGE:
        return FRONT_CHAPTER
    match = TITLE.search(page)
    title = html.unescape(TAG.sub("", match.group(1))).replace("¶", "").strip() if match else ""
    title = " ".join(title.removesuffix(f", {period}").split())
    return title or Path(name).stem.replace("_", " ")


def css_string(text: str) -> str:
    """`text` as a quoted CSS string: anything but letters, digits, spaces and plain punctuation
    as a hex escape, so no quote, backslash or `</style>` can end it early."""
    return (
        '"'
        + "".join(ch if ch.isascii() and (ch.isalnum() or ch in " .,:;()-") else f"\\{ord(ch):x} " for ch in text)
        + '"'
    )


def _anchor(name: str) -> str:
    return "page-" + re.sub(r"[^A-Za-z0-9_-]", "-", Path(name).stem)


def _print_link(match: re.Match[str], names: set[str]) -> str:
    """A link to another page of the report goes to the start of its chapter in the PDF (also one to
    a place in that page: ids may repeat between pages); one to a file beside the report
    (estimates.csv, ...) stays text: the PDF may be read far from those files."""
    target = match.group(2)
    if target in names:
        return f"href='#{_anchor(target)}'"
    return f"data-file={match.group(1)}{target}{match.group(1)}"
