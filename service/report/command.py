"""`cx360 report [--from --to] [--format html|csv] [--output FILE]`, on the service's database."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone
from pathlib import Path

from service.report.data import ReportError, gather, report_range
from service.report.render import csv_report, html_report
from service.runtime.database import database
from service.settings import Settings

FORMATS = ("html", "csv")


def report_command(settings: Settings, start: str | None, end: str | None, form: str, output: Path | None) -> int:
    try:
        begins, ends = report_range(start, end, datetime.now(timezone.utc).date())
    except ReportError as error:
        print(f"cx360: {error}", file=sys.stderr)
        return 2
    target = output or Path(f"cx360-report-{begins:%Y-%m-%d}-to-{ends:%Y-%m-%d}.{form}")
    if target.is_dir():
        print(f"cx360: --output: {target} is a folder; name a file", file=sys.stderr)
        return 2
    if not target.parent.exists():
        print(f"cx360: --output: the folder {target.parent} does not exist", file=sys.stderr)
        return 2
    with database(settings) as url:
        report = asyncio.run(gather(url, settings, begins, ends))
    written = html_report(report) if form == "html" else csv_report(report)
    partial = target.with_name(target.name + ".partial")  # never a half-written report under the name asked for
    partial.write_text(written, encoding="utf-8")
    partial.replace(target)
    print(f"wrote {target} ({len(written.encode()):,} bytes): {begins:%Y-%m-%d %H:%M} to {ends:%Y-%m-%d %H:%M} UTC",
          file=sys.stderr)
    return 0
