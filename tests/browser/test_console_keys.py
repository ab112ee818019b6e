"""Once API keys are required, the console asks for one, and works with it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, expect

from service.settings import Settings
from tests.conftest import RunningServer
from tests.support import create_key


@pytest.fixture(scope="module")
def keyed(settings: Settings, keys_database_url: str) -> Iterator[str]:
    create_key(keys_database_url, "admin", name="keeps keys required")
    with RunningServer(replace(settings, database_url=keys_database_url, projector="off")) as url:
        yield url


def test_the_console_asks_for_a_key_and_uses_it(browser: Browser, keyed: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "views:read", "streams:read", name="console")
    context = browser.new_context(base_url=keyed)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/")
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("API key").fill("cx360_000000000000_wrong")
    page.get_by_role("button", name="Use this key").click()
    expect(page.get_by_role("alert")).to_contain_text("key")  # the API's words for a key it does not know
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Use this key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    page.goto("/accounts/no-such-account")  # the key stays for the tab
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    context.close()
    assert errors and all("401" in error for error in errors), errors  # only the browser's notes of the refusals
