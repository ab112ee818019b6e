"""The console's screenshots in docs/screenshots/, taken from a running service with the demo data.

    .venv/bin/cx360 serve --demo &
    .venv/bin/python -m tests.browser.screenshots http://127.0.0.1:8000

Not a test: run it by hand when the pages change (it needs Chromium, as the browser tests do).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def main(url: str) -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport=LAPTOP, base_url=url)
        page.goto("/")
        page.locator("table.accounts tbody tr").first.wait_for()
        page.screenshot(path=OUT / "accounts.png")
        page.goto("/?order=OPEN_FINDINGS_DESC")
        page.locator("table.accounts tbody tr").first.wait_for()
        first = page.locator("table.accounts tbody tr a").first.get_attribute("href")
        page.goto(f"{first}")
        page.locator("svg.lanes").wait_for()
        page.screenshot(path=OUT / "account.png", full_page=True)
        page.goto("/matrix?cell=SALES,BILLING")
        page.locator("#cell-title").wait_for()
        page.screenshot(path=OUT / "matrix.png")
        page.goto("/attribution")
        page.locator("table.compare").first.wait_for()
        page.screenshot(path=OUT / "attribution.png")
        page.goto("/impact")
        page.locator("table.impact").first.wait_for()
        page.screenshot(path=OUT / "impact.png")
        page.goto("/graphql")
        page.locator(".graphiql-execute-button").click()
        page.locator(".result-window .CodeMirror-line").nth(3).wait_for()
        page.screenshot(path=OUT / "graphiql.png")
        page.set_viewport_size(PHONE)
        page.goto(f"{first}")
        page.locator("svg.lanes").wait_for()
        page.screenshot(path=OUT / "account-phone.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
