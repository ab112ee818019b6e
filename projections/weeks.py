"""Week boundaries (Mondays, 00:00 UTC): where checkpoints are taken and trend points fall."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

WEEK = timedelta(days=7)
FIRST_MONDAY = datetime(1970, 1, 5, tzinfo=timezone.utc)


def boundary_at_or_after(instant: datetime) -> datetime:
    """The first week boundary at or after `instant`."""
    weeks, rest = divmod(instant - FIRST_MONDAY, WEEK)
    return FIRST_MONDAY + (weeks + (1 if rest else 0)) * WEEK


def boundary_at_or_before(instant: datetime) -> datetime:
    return FIRST_MONDAY + ((instant - FIRST_MONDAY) // WEEK) * WEEK


def boundaries_before(instant: datetime, count: int) -> list[datetime]:
    """The `count` latest week boundaries strictly before `instant`, oldest first."""
    latest = boundary_at_or_before(instant)
    if latest == instant:
        latest -= WEEK
    return [latest - WEEK * k for k in range(count - 1, -1, -1)]
