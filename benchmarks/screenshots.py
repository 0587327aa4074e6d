"""Screenshots of the web pages for the docs: ``docs/home.png``, ``docs/title.png``, ``docs/communities.png``.

Sets up a demo data folder (reused on later runs), starts ``reelkit serve`` on a free loopback port, and
drives Debian's chromium with Playwright: choose a profile, open a title from Top Picks, press play, and come
back to the home page (the title is now in Continue Watching).

    python benchmarks/screenshots.py [--data-dir .reelkit/screenshots] [--out docs] [--member m0007]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import uuid
from pathlib import Path

from reelkit.service.bootstrap import bootstrap
from reelkit.service.testing import CHROMIUM_ARGS, start_server

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT / ".reelkit" / "screenshots")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--member", default=None, help="profile to show (default: the first member)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs the playwright package: pip install playwright", file=sys.stderr)
        return 2
    chromium = args.chromium if Path(args.chromium).exists() else shutil.which("chromium")
    if chromium is None:
        print("needs a chromium browser: apt-get install chromium", file=sys.stderr)
        return 2
    bootstrap(args.data_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    with start_server(args.data_dir, token=uuid.uuid4().hex) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(server.url + "/")
        if args.member:
            page.goto(f"{server.url}/?member={args.member}")
        else:
            page.click(".profiles a.profile >> nth=0")
        page.wait_for_selector('section.row[data-row-kind="top-picks"]')
        card = page.locator('section[data-row-kind="top-picks"] a.card').nth(1)
        card.click()
        page.wait_for_selector("#play")
        page.click("#play")
        page.wait_for_selector('#play-status[data-state="recorded"]')
        page.screenshot(path=str(args.out / "title.png"))
        page.go_back()
        page.wait_for_selector('section[data-row-kind="continue-watching"]')
        page.screenshot(path=str(args.out / "home.png"))
        page.goto(server.url + "/communities")
        page.wait_for_selector("section.community")
        page.screenshot(path=str(args.out / "communities.png"))
        browser.close()
    for name in ("home.png", "title.png", "communities.png"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
