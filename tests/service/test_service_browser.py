"""The web pages in a real headless browser (Playwright driving Debian's chromium).

Open the home page, choose a profile, open a title, press play, go back: the title is in Continue Watching.
Skips, saying why, when the playwright package or /usr/bin/chromium is missing (``make test`` installs the
apt package ``chromium``; ``playwright install`` is never needed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reelkit.service.testing import CHROMIUM_ARGS, LiveServer

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")


def _playwright() -> object:
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="the playwright Python package is not installed (pip install playwright)",
    )
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no chromium browser at /usr/bin/chromium (apt-get install chromium)")
    return sync_api


def test_play_then_continue_watching(live_server: LiveServer, tmp_path: Path) -> None:
    sync_api = _playwright()
    with sync_api.sync_playwright() as p:  # type: ignore[attr-defined]
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(live_server.url + "/")
            assert "Who's watching?" in page.inner_text("h1")
            # choose the first profile
            page.click(".profiles a.profile >> nth=0")
            page.wait_for_selector('section.row[data-row-kind="top-picks"]')
            member = page.get_attribute("#profile-name", "data-member-id")
            assert member
            page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
            # open a title from Top Picks (not yet watched)
            card = page.locator('section[data-row-kind="top-picks"] a.card').first
            title_id = card.get_attribute("data-title-id")
            assert title_id
            card.click()
            page.wait_for_selector("#play")
            assert page.inner_text("#progress-note") == "Not watched yet."
            page.click("#play")
            page.wait_for_selector('#play-status[data-state="recorded"]')
            assert "35%" in page.inner_text("#progress-note")
            page.screenshot(path=str(tmp_path / "title.png"), full_page=True)
            # back to the home page: the title is now first in Continue Watching
            page.go_back()
            cw = page.wait_for_selector('section[data-row-kind="continue-watching"]')
            assert cw is not None
            first = page.locator('section[data-row-kind="continue-watching"] a.card').first
            assert first.get_attribute("data-title-id") == title_id
            # and it left the other rows (a title appears once per page)
            assert page.locator(f'a.card[data-title-id="{title_id}"]').count() == 1
            page.goto(live_server.url + "/communities")
            assert page.locator("section.community").count() >= 2
            page.goto(live_server.url + "/events")
            assert page.locator(f'table.events a[href="/titles/{title_id}"]').count() >= 1
        finally:
            browser.close()
