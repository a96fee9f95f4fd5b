"""Open the built report in headless Chromium (Debian's, installed by `make test`)."""

from __future__ import annotations

import shutil

import pytest
from test_report_runner import FIXTURES, spec

from analysis.report import build

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
    pytest.mark.xdist_group("notebooks"),
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="Debian chromium is not installed (make test installs it as root)"
    ),
]


def test_index_and_a_page_load_cleanly(tiny_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    result = build(
        tiny_dir,
        "2022Q4",
        out=tmp_path / "report",
        jobs=2,
        specs=(spec("ok"),),
        notebooks_dir=FIXTURES,
        cache_dir=tmp_path / "cache",
        log=lambda *_: None,
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for page_name in ("index.html", "ok.html"):
                page = browser.new_page()
                problems: list[str] = []
                record = problems.append  # bound now: each page's handlers write to its own list
                page.on("console", lambda m, record=record: record(m.text) if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e, record=record: record(str(e)))
                page.on("requestfailed", lambda r, record=record: record(f"request failed: {r.url}"))
                page.goto((result.out / page_name).as_uri())
                page.wait_for_load_state("load")
                images = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
                assert problems == [], (page_name, problems)
                assert all(images), (page_name, images)
                if page_name == "ok.html":
                    assert images, "the fixture's figure should be on the page"
                    assert not page.is_visible(".code_cell .input")  # code hidden by default
                    page.click("button.toggle-code")
                    assert page.is_visible(".code_cell .input")  # and revealable
                page.screenshot(path=str(tmp_path / f"{page_name}.png"), full_page=True)
                assert (tmp_path / f"{page_name}.png").stat().st_size > 1000
        finally:
            browser.close()
