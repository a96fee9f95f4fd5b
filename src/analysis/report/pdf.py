"""The paginated edition: every page of a report in one `report.pdf`, printed by headless Chromium.

The pages' bodies are set one after the other in a print document (each study from a new
page), with the report's print styles, a running header naming the quarter and "Page n of
m" in the footer (CSS paged-media margin boxes, which Chromium prints). Chromium is the
one the browser tests use; without it the report is still built, and the run record says
why there is no PDF.
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
MAIN = re.compile(r"<main>(.*)</main>", re.S)
LEFT_OUT = [
    re.compile(r"<details class='run-record'>.*?</details>", re.S),
    re.compile(r"<button class='toggle-code'.*?</button>", re.S),
    re.compile(r"<nav class='toc'>.*?</nav>", re.S),
]


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def write_pdf(directory: Path, pages: list[str], period: str) -> str:
    """Print `pages` (HTML files in `directory`, in order) to `directory`/report.pdf.

    Returns "" when written, else one sentence saying why not (for the run record).
    """
    chromium = find_chromium()
    if chromium is None:
        return "report.pdf was not made: no Chromium on this machine (make test installs Debian's chromium)"
    document = print_document([(directory / name).read_text(encoding="utf-8") for name in pages], period)
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
            "--no-pdf-header-footer",  # the document's own margin boxes number the pages, without file paths
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=PRINT_SECONDS, check=True)
        except (subprocess.SubprocessError, OSError) as err:
            return f"report.pdf was not made: Chromium could not print the report ({type(err).__name__})"
    return "" if target.exists() else "report.pdf was not made: Chromium wrote no file"


def print_document(pages: list[str], period: str) -> str:
    """One HTML document holding every page's content, each from a new page, for printing."""
    from .render import STYLE

    sections = []
    for page in pages:
        match = MAIN.search(page)
        body = match.group(1) if match else ""
        for pattern in LEFT_OUT:
            body = pattern.sub("", body)
        sections.append(f"<section class='page'>{body}</section>")
    heading = html.escape(f"Work-safety enforcement: quarterly report {period}")
    paged = (
        "@page { size: A4; margin: 20mm 15mm;"
        f' @top-center {{ content: "{heading}"; font: 9pt system-ui, sans-serif; color: #57606a; }}'
        ' @bottom-center { content: "Page " counter(page) " of " counter(pages); font: 9pt system-ui, sans-serif; } }'
        " section.page + section.page { break-before: page; }"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{heading}</title><style>{STYLE}{paged}</style></head>"
        f"<body class='print-edition'><main>{''.join(sections)}</main></body></html>\n"
    )
