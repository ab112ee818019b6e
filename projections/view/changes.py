"""When an account's view next changes with time alone: the moment the projector must read it again.

A view counts facts over the last 7, 14, 30, 90 and 365 days, says how many whole days
an invoice is overdue, when a plan runs out, when a win stops making a customer and
when onboarding ends: every such answer changes at an instant a fixed span after an
instant the state holds (a fact's, an invoice's `dueAt`, a plan's `until`). The next
change is therefore no later than the earliest of those instants plus each span (and a
microsecond after, for the windows closed at that end) that is still to come; an
overdue invoice adds the next whole day. This errs only early (a moment at which the
view turns out the same), never late; `tests/unit/view/test_view_changes.py` checks that
no view changes before it.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from projections.facts import Fact
from projections.view.fold import ViewState

SPANS_DAYS = (0, 7, 14, 28, 30, 31, 90, 365)  # the windows and deadlines of the view's parts
JUST_AFTER = timedelta(microseconds=1)
DAY = timedelta(days=1)
DATED = ("dueAt", "until")  # data fields of facts that are instants the view compares with


def next_change(view: ViewState, as_of: datetime) -> datetime | None:
    """The earliest instant after `as_of` at which the view may read differently with no new fact.

    For each instant held, the candidates are the instant plus each span, and a
    microsecond after each: the earliest after `as_of` is the instant plus the first span
    longer than the time since it, or `as_of` plus a microsecond if a span ends exactly
    at `as_of`. Each distinct instant is looked at once (a fact is held by several parts).
    """
    spans = sorted({timedelta(days=days) for days in {*SPANS_DAYS, view.spells.won_days}})
    soonest: datetime | None = None
    for instant, daily in set(instants_in(view)):
        since = as_of - instant
        later = bisect_right(spans, since)
        if later and spans[later - 1] == since:
            return as_of + JUST_AFTER  # nothing can come sooner
        candidate = instant + spans[later] if later < len(spans) else None
        if daily and instant <= as_of:
            day = instant + DAY * (since // DAY + 1)
            candidate = day if candidate is None or day < candidate else candidate
        if candidate is not None and (soonest is None or candidate < soonest):
            soonest = candidate
    return soonest


def instants_in(value: Any) -> Iterator[tuple[datetime, bool]]:
    """Every instant the state holds, and whether it counts whole days after it (an invoice's `dueAt`)."""
    if isinstance(value, datetime):
        yield value, False
    elif isinstance(value, Fact):
        yield value.occurred_at, False
        for name in DATED:
            if value.data.get(name) is not None:
                yield value.instant(name), name == "dueAt"
    elif isinstance(value, (list, tuple, set, frozenset)):
        for each in value:
            yield from instants_in(each)
    elif isinstance(value, dict):
        for key, each in value.items():
            yield from instants_in(key)
            yield from instants_in(each)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from instants_in(getattr(value, field.name))
