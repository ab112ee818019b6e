"""`cx360 report`'s HTML in a real browser: opened from a file, with no network, its charts drawn and no error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from service.settings import Settings
from tests.browser.conftest import console_error, serious_violations
from tests.integration.test_impact_api import FROM, TO, story_database


@pytest.fixture(scope="module")
def report_file(database_url: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("report") / "report.html"
    with story_database(database_url, settings) as (url, _):
        done = subprocess.run([sys.executable, "-m", "service.cli", "report", "--from", FROM, "--to", TO, "-o",
                               str(target)], capture_output=True, text=True, env={**os.environ, "DATABASE_URL": url},
                              timeout=120)
    assert done.returncode == 0, done.stderr
    yield target


@pytest.fixture
def opened(browser: Browser, report_file: Path) -> Iterator[Page]:
    """The report opened from its file; any request leaving the page, or any error, fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if console_error(message) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url) if not request.url.startswith("file:") else None)
    page.goto(report_file.as_uri())
    yield page
    context.close()
    assert errors == [] and requests == [], (errors, requests)


def test_every_chart_is_drawn_with_its_marks(opened: Page) -> None:
    charts = opened.locator("figure svg.chart")
    assert charts.count() >= 4
    for index in range(charts.count()):
        chart = charts.nth(index)
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 30
        assert chart.locator("rect.bar, circle.point").count() > 0
        assert chart.locator("title").text_content()
    forest = opened.locator("svg.intervals").first
    assert forest.locator("line.whisker").count() > 0  # 30 accounts a side: the intervals are there
    assert opened.get_by_text("an association between the contradiction and the outcome").count() > 0


def test_the_report_has_no_serious_accessibility_violation(opened: Page) -> None:
    assert serious_violations(opened) == []
