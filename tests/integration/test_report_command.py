"""`cx360 report` as a user runs it: a subprocess on the story's database, HTML and CSV, and bad options named."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from service.report.data import ReportError, last_month, report_range
from service.settings import Settings
from tests.integration.test_impact_api import FROM, RULE, TO, story_database


@pytest.fixture(scope="module")
def story_url(database_url: str, settings: Settings) -> Iterator[str]:
    with story_database(database_url, settings) as (url, _):
        yield url


def report(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", "report", *options], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url}, timeout=120)


def test_the_csv_holds_each_number_with_what_it_is_made_of(story_url: str, tmp_path: Path) -> None:
    target = tmp_path / "october.csv"
    done = report(story_url, "--from", FROM, "--to", TO, "--format", "csv", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}" in done.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(rows[0]) == ["section", "row", "measure", "currency", "value", "count"]

    def value(section: str, row: str, measure: str, currency: str = "") -> tuple[str, str]:
        [found] = [(each["value"], each["count"]) for each in rows
                   if (each["section"], each["row"], each["measure"], each["currency"]) == (section, row, measure, currency)]
        return found

    assert value("cost_by_rule", RULE, "converted_while_open", "USD") == ("5000", "10")
    assert value("cost_by_rule", RULE, "lost_after_high", "USD") == ("18000", "15")
    assert value("cost_by_department_pair", "sales + support", "lost_after_high", "USD") == ("18000", "15")
    assert value("cx_impact", "HIGH", "churn_rate_with") == ("0.5", "30")
    assert value("cx_impact", "HIGH", "churn_rate_without") == ("0.1", "30")
    low, _ = value("cx_impact", "HIGH", "churn_rate_interval_low")
    assert 0 < float(low) < 0.4


def test_the_html_is_one_file_with_its_charts_and_nothing_to_fetch(story_url: str, tmp_path: Path) -> None:
    target = tmp_path / "october.html"
    done = report(story_url, "--from", FROM, "--to", TO, "-o", str(target))
    assert done.returncode == 0, done.stderr
    page = target.read_text()
    assert page.startswith("<!doctype html>") and "</html>" in page
    assert page.count("<svg") >= 4 and "What contradictions stand beside" in page and "CX impact" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "<script" not in page
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(("options", "message"), [
    (["--from", "2026-10-01"], "--to: give both --from and --to, or neither"),
    (["--from", "2026-11-01", "--to", "2026-10-01"], "--from: must be before --to"),
    (["--from", "yesterday", "--to", "2026-10-01"], "--from: 'yesterday' is neither a date"),
    (["--from", "2026-10-01T00:00:00", "--to", "2026-11-01"], "--from: '2026-10-01T00:00:00' has no offset"),
    (["--from", "2000-01-01", "--to", "2026-01-01"], "--to: must be at most ten years after --from"),
    (["--output", "/nowhere/at/all/report.html"], "--output: the folder /nowhere/at/all does not exist"),
    (["--format", "pdf"], "invalid choice: 'pdf'"),
])
def test_bad_options_are_named_and_nothing_is_written(database_url: str, tmp_path: Path, options: list[str],
                                                      message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "service.cli", "report", *options], capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": database_url}, timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done
    assert message in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_with_no_range_a_report_covers_the_last_calendar_month() -> None:
    assert last_month(date(2026, 12, 6)) == (date(2026, 11, 1), date(2026, 12, 1))
    assert last_month(date(2026, 1, 31)) == (date(2025, 12, 1), date(2026, 1, 1))
    start, end = report_range(None, None, date(2026, 3, 1))
    assert (start.isoformat(), end.isoformat()) == ("2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")
    start, _ = report_range("2026-02-01T00:00:00+02:00", "2026-03-01", date(2026, 3, 1))
    assert start.isoformat() == "2026-01-31T22:00:00+00:00"
    with pytest.raises(ReportError, match="--to: '2026-13-01' is neither"):
        report_range("2026-01-01", "2026-13-01", date(2026, 3, 1))
