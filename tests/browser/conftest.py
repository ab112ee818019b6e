"""The console in a real browser: Debian's Chromium driven by Playwright, against the service with the demo data.

Playwright's own browser download is not reachable here, so it launches the system's Chromium
(`.ci/run` installs it); without it these tests skip, saying so. The service runs on a database
of its own, so the demo's accounts meet no other test's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from service.settings import Settings
from tests.conftest import RunningServer, administer, with_database
from tests.support import wait_for_projection

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)",
                allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def demo_url(settings: Settings, database_url: str) -> Iterator[str]:
    """The service with the demo data loaded and projected, on a database of its own; stopped after the module,
    so that its connections are not held while the rest of the suite runs."""
    server = with_database(database_url, "postgres")
    name = f"cx360_console_{uuid4().hex[:12]}"
    administer(server, f'CREATE DATABASE "{name}"')
    try:
        demo_database = with_database(database_url, name)
        with RunningServer(replace(settings, database_url=demo_database), demo=True) as url:
            wait_for_projection(url, database_url=demo_database)  # data-driven credits learnt: they hold still
            yield url
    finally:
        administer(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module, not per session: while Playwright's sync API runs, its event loop counts as running in this
    thread, and the asynchronous tests of other modules could not run theirs."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, demo_url: str) -> Iterator[Page]:
    """A fresh page on the console; the test fails if the page logged an error or threw."""
    context = browser.new_context(base_url=demo_url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if console_error(message) else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def console_error(message: ConsoleMessage) -> bool:
    return message.type == "error"


def account_ready_ms(page: Page, account_id: str) -> float:
    """Milliseconds from the start of navigation to the account page being on screen, by the browser's own clock
    (the page's `cx360:account-ready` performance mark)."""
    page.goto(f"/accounts/{account_id}")
    page.wait_for_function("performance.getEntriesByName('cx360:account-ready').length > 0")
    ready: float = page.evaluate("performance.getEntriesByName('cx360:account-ready')[0].startTime")
    return ready


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A and AA checks (2.2 included) on the page as it is; the serious and critical ones."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
    return [{"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
