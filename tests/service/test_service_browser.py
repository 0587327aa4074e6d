"""The web pages in a real headless browser (Playwright driving Debian's chromium).

Open the home page, choose a profile, open a title, press play, go back: the title is in Continue Watching.
Skips, saying why, when the playwright package or /usr/bin/chromium is missing (``make test`` installs the
apt package ``chromium``; ``playwright install`` is never needed).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from reelkit.service.store import EventRecord, TitleRecord, open_store
from reelkit.service.testing import CHROMIUM_ARGS, LiveServer

from .conftest import start_server

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


def _launch(p: Any) -> Any:
    """Debian's chromium, headless, through Playwright's ``p``."""
    return p.chromium.launch(
        executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
        args=CHROMIUM_ARGS,
        headless=True,
    )


@contextmanager
def _browser_page(**kw: Any) -> Iterator[Any]:
    """A page of Debian's chromium (headless; 20 s timeouts), closed with its browser on leaving."""
    sync_api = _playwright()
    with sync_api.sync_playwright() as p:  # type: ignore[attr-defined]
        browser = _launch(p)
        try:
            page = browser.new_page(**kw)
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()


def test_play_then_continue_watching(live_server: LiveServer, tmp_path: Path) -> None:
    with _browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(live_server.url + "/")
        assert "Who's watching?" in page.inner_text("h1")
        # choose the first profile
        page.click(".profiles a.profile >> nth=0")
        page.wait_for_selector('section.row[data-row-kind="top-picks"]')
        member = page.get_attribute("#profile-name", "data-member-id")
        assert member
        page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
        # a card reached by the keyboard has a ring on all four sides, inside its row (not clipped)
        page.keyboard.press("Tab")
        while not page.evaluate("document.activeElement.classList.contains('card')"):
            page.keyboard.press("Tab")
        ring = page.evaluate(
            "(() => { const c = document.activeElement, s = getComputedStyle(c), "
            "r = c.getBoundingClientRect(), row = c.parentElement.getBoundingClientRect(); "
            "const out = parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset); "
            "return [s.outlineStyle, parseFloat(s.outlineWidth), r.top - out >= row.top, "
            "r.left - out >= row.left]; })()"
        )
        assert ring == ["solid", 3, True, True]
        # open a title from Top Picks (not yet watched)
        card = page.locator('section[data-row-kind="top-picks"] a.card').first
        title_id = card.get_attribute("data-title-id")
        assert title_id
        card.click()
        page.wait_for_selector("#play")
        assert page.inner_text("#progress-note") == "Not watched yet."
        # played from the keyboard: the button keeps the focus (disabled during the request, it lost it)
        page.focus("#play")
        page.keyboard.press("Enter")
        page.wait_for_selector('#play-status[data-state="recorded"]')
        assert page.evaluate("document.activeElement.id") == "play"
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


def test_the_api_docs_render_every_endpoint(live_server: LiveServer) -> None:
    """/docs answered 200 but Swagger UI 4.15 (swagger-ui-bundle) cannot read the OpenAPI 3.1 FastAPI writes:
    the page said "Unable to render this definition" and listed no endpoint. Swagger UI 5 lists them all."""
    with _browser_page() as page:
        page.goto(live_server.url + "/docs")
        page.wait_for_selector(".opblock")
        assert "Unable to render" not in page.inner_text("body")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/v1/members/{member_id}/home" in [t.replace("\u200b", "") for t in paths]


def test_after_an_unknown_typed_id_the_profile_list_can_be_chosen_again(live_server: LiveServer) -> None:
    """The "Type an id" button turned the profile list off and nothing turned it back on: after an unknown
    id (a 404 page with the field kept) the list and its Open button were dead until the page was left. The
    button now switches between the two pickers, and the list opens the profile chosen in it."""
    with _browser_page() as page:
        page.goto(live_server.url + "/")
        page.click("#type-id")
        assert page.is_disabled("#member-select") and page.is_enabled("#member-id")
        page.fill("#member-id", "nobody-42")
        page.press("#member-id", "Enter")
        page.wait_for_selector("#member-error")
        assert page.is_disabled("#member-select") and page.inner_text("#type-id") == "Choose from the list"
        page.click("#type-id")
        assert page.is_enabled("#member-select") and page.is_disabled("#member-id")
        assert page.inner_text("#type-id") == "Type an id"
        assert page.evaluate("document.activeElement.id") == "member-select"
        chosen = page.eval_on_selector("#member-select", "s => s.options[s.options.length - 1].value")
        page.select_option("#member-select", chosen)
        page.click("#member-go")
        page.wait_for_selector("#profile-name")
        assert page.get_attribute("#profile-name", "data-member-id") == chosen


def test_the_pages_fit_a_phone(data_dir: Path, tmp_path: Path) -> None:
    """At 375 px no page scrolls sideways (a wide table scrolls in its own box): the stripboard, a QC report
    and the ABR demo were wider (548, 547, 554 px), the stripboard's tables past their white box; a title
    named by one long word made its page and its card wider. A QC finding's message keeps a readable width
    in its scrolling box, and the profile avatars' letters are hidden from screen readers."""
    sync_api = _playwright()
    from reelkit.produce.generator import generate_production
    from reelkit.produce.production import dump_production
    from reelkit.stream.dash import SMALL_LADDER, make_sample_clip, package_dash

    from .test_qc_page import wav_bytes

    clip = make_sample_clip(tmp_path / "clip.mp4", duration_s=4, size=(192, 108), audio=False)  # both rungs
    package_dash(clip, data_dir / "abr" / "streams" / "tiny", renditions=SMALL_LADDER[:2], preset="ultrafast")
    import reelkit.stream.abr as abr

    models = data_dir / "abr" / "models"  # a trained model, so that the demo's form offers the choice
    models.mkdir()
    shutil.copyfile(Path(abr.__file__).parent / "models" / "fugu_ttp.npz", models / "m.npz")
    production = tmp_path / "gen.yaml"
    dump_production(generate_production(6, 0), production)
    (tmp_path / "tone.wav").write_bytes(wav_bytes(2.0))
    # a title of one 136-letter word, half watched: in Continue Watching and on its own page
    store = open_store(data_dir)
    try:
        member = store.list_members(1, 0)[0].member_id
        store.upsert_titles([TitleRecord("t999", "Ab" * 68, "Drama", duration=6000.0)])
        play = EventRecord("long-1", member, "t999", "play", int(time.time()), 3000.0, fraction=0.5)
        store.append_events([play], received_at=int(time.time()))
    finally:
        store.close()
    server = start_server(data_dir)
    try:
        with sync_api.sync_playwright() as p:  # type: ignore[attr-defined]
            browser = _launch(p)
            try:
                page = browser.new_page(viewport={"width": 375, "height": 800})
                page.set_default_timeout(60_000)
                widths = {}
                page.goto(f"{server.url}/?member={member}")
                card = page.locator('section[data-row-kind="continue-watching"] a.card[data-title-id="t999"]')
                card_width = card.evaluate("e => e.getBoundingClientRect().width")
                page.goto(server.url + "/titles/t999")
                widths["title"] = page.evaluate("document.documentElement.scrollWidth")
                page.goto(server.url + "/produce/stripboard")
                page.set_input_files('input[name="file"]', str(production))
                page.click('form.upload button[type="submit"]')
                page.wait_for_selector("table.strips")
                widths["stripboard"] = page.evaluate("document.documentElement.scrollWidth")
                page.goto(server.url + "/qc")
                widths["qc form"] = page.evaluate("document.documentElement.scrollWidth")
                page.set_input_files('input[name="media"]', str(tmp_path / "tone.wav"))
                page.select_option('select[name="spec"]', "atsc-a85")
                page.click('form.qc-form button[type="submit"]')
                page.wait_for_selector("#qc-findings")
                widths["qc"] = page.evaluate("document.documentElement.scrollWidth")
                # the findings' message (what to fix) was squeezed to 94 px, 185 px tall per row
                messages = page.locator("#qc-findings tbody tr td:last-child")
                message_width = messages.first.evaluate("e => e.getBoundingClientRect().width")
                page.goto(f"{server.url}/")
                avatar = page.locator("span.avatar").first  # the chosen profile's, in the header
                avatars_hidden = avatar.get_attribute("aria-hidden")
                page.goto(server.url + "/abr/demo?stream=tiny")
                page.wait_for_selector("#abr-chunks")
                widths["abr"] = page.evaluate("document.documentElement.scrollWidth")
                video = page.locator("#abr-video").evaluate(
                    "e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height]"
                )
                # the model choice is off for an algo that takes none (Play gave a 404), on again for fugu
                model_off = []
                for algo in ("bba", "fugu"):
                    page.select_option('form.chooser select[name="algo"]', algo)
                    model_off.append(page.locator("#abr-model-choice").is_disabled())
                # at 200% zoom (640 x 360) the sticky header (125 px) hid half the focused links: static there
                positions = {}
                for size in ((640, 360), (1280, 800)):
                    page.set_viewport_size({"width": size[0], "height": size[1]})
                    page.goto(server.url + "/events")
                    positions[size] = page.evaluate(
                        "getComputedStyle(document.querySelector('header.top')).position"
                    )
                    # a table that scrolls sideways is a region a keyboard can reach
                    wrap = page.locator(".table-wrap").first
                    positions[(*size, "wrap")] = (wrap.get_attribute("tabindex"), wrap.get_attribute("role"))
            finally:
                browser.close()
    finally:
        server.stop()
    assert widths == {"title": 375, "stripboard": 375, "qc form": 375, "qc": 375, "abr": 375}
    assert video[0] / video[1] == pytest.approx(16 / 9, rel=0.01)  # it was 343 x 360
    assert card_width == 168  # as every card (a long name made it wider)
    assert message_width >= 200
    assert model_off == [True, False]
    assert positions == {
        (640, 360): "static",
        (1280, 800): "sticky",
        (640, 360, "wrap"): ("0", "region"),
        (1280, 800, "wrap"): ("0", "region"),
    }
    assert avatars_hidden == "true"  # a screen reader read each profile as "C Clara Z."
