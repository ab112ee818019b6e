"""What a report holds for a range, read through the same code as the GraphQL queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import asyncpg

from projections.attribution.contradictions import ContradictionsCost
from projections.attribution.impact import Impact
from projections.attribution.models import MODELS
from projections.attribution.settings import MAX_LOOKBACK_DAYS
from projections.attribution.totals import Total
from service.read.attribution import AttributionReads
from service.read.impact import ImpactReads, judge_cost, judge_impact, revenue
from service.read.pool import ReadPool
from service.runtime.health import DatabaseHealth
from service.settings import Settings

RESAMPLES = 2_000
LONGEST_RANGE = timedelta(days=MAX_LOOKBACK_DAYS)  # ten years, as the GraphQL ranges


class ReportError(Exception):
    """Bad input to a report: names the option and the reason."""


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime  # excluded
    generated_at: datetime
    attribution: dict[str, list[Total]]  # model -> its credits by department and currency
    cost: ContradictionsCost
    impact: list[Impact]


def last_month(today: date) -> tuple[date, date]:
    """The calendar month before `today`'s: what a monthly report covers by default."""
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1), first


def instant(text: str, option: str) -> datetime:
    """A date (midnight UTC) or an RFC 3339 date-time with an offset."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{option}: {text!r} is neither a date (2026-10-01) nor a date-time with an offset "
                          "(2026-10-01T00:00:00Z)") from None
    if len(text) == 10:
        return datetime.combine(parsed.date(), time(), timezone.utc)
    if parsed.tzinfo is None:
        raise ReportError(f"{option}: {text!r} has no offset; add Z or +HH:MM")
    return parsed.astimezone(timezone.utc)


def report_range(start: str | None, end: str | None, today: date) -> tuple[datetime, datetime]:
    """`--from` and `--to` (to excluded); the last calendar month when both are omitted."""
    if start is None and end is None:
        first, after = last_month(today)
        return instant(first.isoformat(), "--from"), instant(after.isoformat(), "--to")
    if start is None or end is None:
        raise ReportError(f"{'--from' if start is None else '--to'}: give both --from and --to, or neither "
                          "(the last calendar month)")
    begins, ends = instant(start, "--from"), instant(end, "--to")
    if begins >= ends:
        raise ReportError(f"--from: must be before --to ({begins.isoformat()} >= {ends.isoformat()})")
    if ends - begins > LONGEST_RANGE:
        raise ReportError(f"--to: must be at most ten years after --from ({(ends - begins).days} days)")
    return begins, ends


async def gather(url: str, settings: Settings, start: datetime, end: datetime, resamples: int = RESAMPLES) -> Report:
    pool = await asyncpg.create_pool(dsn=url, min_size=1, max_size=2, timeout=settings.read_timeout_seconds)
    try:
        reads = ReadPool(pool, DatabaseHealth())
        facts = await ImpactReads(reads, settings.attribution).range_facts(start, end)
        credits = AttributionReads(reads)
        attribution = {model: await credits.totals(model, start, end, "department") for model in MODELS}
    finally:
        await pool.close()
    gains, losses = revenue(facts, start, end, settings.attribution)  # once, for both
    return Report(start, end, datetime.now(timezone.utc), attribution,
                  judge_cost(facts, gains, losses), judge_impact(facts, gains, start, end, resamples))
