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
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from projections.facts import Fact
from projections.view.fold import ViewState

SPANS_DAYS = (0, 7, 14, 28, 30, 31, 90, 365)  # the windows and deadlines of the view's parts
JUST_AFTER = timedelta(microseconds=1)
DAY = timedelta(days=1)
DATED = ("dueAt", "until")  # data fields of facts that are instants the view compares with
LEAVES = frozenset({str, int, float, bool, type(None), Decimal})  # values that hold no instant


@cache
def spans_of(won_days: int) -> tuple[timedelta, ...]:
    return tuple(sorted({timedelta(days=days) for days in {*SPANS_DAYS, won_days}}))


def next_change(view: ViewState, as_of: datetime) -> datetime | None:
    """The earliest instant after `as_of` at which the view may read differently with no new fact.

    For each instant held, the candidates are the instant plus each span, and a
    microsecond after each: the earliest after `as_of` is the instant plus the first span
    longer than the time since it, or `as_of` plus a microsecond if a span ends exactly
    at `as_of`. Each distinct instant is looked at once (a fact is held by several parts).

    Over many instants that is, for each span, the earliest instant after `as_of` less
    the span, plus the span: a list of instants (a department's events of 90 days) is
    sorted once and searched per span, so a view costs the number of lists it holds,
    not the number of instants in them.
    """
    spans = spans_of(view.spells.won_days)
    singles: set[tuple[datetime, bool]] = set()
    runs: list[list[datetime]] = []
    gather(view, singles, runs)
    soonest: datetime | None = None
    for instant, daily in singles:
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
    for run in runs:
        for span in spans:
            edge = as_of - span
            first = bisect_left(run, edge)
            if first < len(run) and run[first] == edge:
                return as_of + JUST_AFTER
            if first < len(run) and (soonest is None or run[first] + span < soonest):
                soonest = run[first] + span
    return soonest


def gather(value: Any, singles: set[tuple[datetime, bool]], runs: list[list[datetime]]) -> None:
    """Every instant the state holds: one by one in `singles`, with whether it counts whole days after it (an
    invoice's `dueAt`), or as sorted lists in `runs` (a collection of instants alone)."""
    stack = [value]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind in LEAVES:
            continue
        if kind is datetime:
            singles.add((value, False))
        elif kind is Fact:
            singles.add((value.occurred_at, False))
            for name in DATED:
                if value.data.get(name) is not None:
                    singles.add((value.instant(name), name == "dueAt"))
        elif kind in (list, tuple, set, frozenset):
            if value and type(next(iter(value))) is datetime:
                try:
                    runs.append(sorted(value))
                    continue
                except TypeError:  # not instants alone
                    pass
            stack.extend(value)
        elif kind is dict:
            stack.extend(value.keys())
            stack.extend(value.values())
        elif (names := field_names(kind)) is not None:
            stack.extend(getattr(value, name) for name in names)
        elif isinstance(value, datetime):
            singles.add((value, False))
        elif isinstance(value, (list, tuple, set, frozenset)):  # a named tuple, say
            stack.extend(value)


FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def field_names(kind: type) -> tuple[str, ...] | None:
    """A dataclass's field names (None: not a dataclass), looked up once per class."""
    if kind not in FIELD_NAMES:
        FIELD_NAMES[kind] = tuple(field.name for field in dataclasses.fields(kind)) \
            if dataclasses.is_dataclass(kind) else None
    return FIELD_NAMES[kind]
