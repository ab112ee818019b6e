"""The view's next change with time alone: no view reads differently before it (`projections.view.changes`)."""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import advance, findings_at, start
from projections.facts import Fact
from projections.findings import Moment
from projections.thresholds import thresholds_from
from projections.view.changes import DATED, DAY, JUST_AFTER, SPANS_DAYS, next_change
from projections.view.fold import view_at
from projections.view.model import AccountView
from tests.unit.test_findings_laws import arrived
from tests.unit.view.test_view_fold_matches_reference import histories


def timeless(view: AccountView) -> AccountView:
    """The view without the moment it was read at (which changes with every read)."""
    assert view.health is not None
    return replace(view, as_of=datetime.min, health=replace(view.health, trend=()))


@settings(max_examples=300, deadline=None)
@given(facts=histories(), won_days=st.sampled_from([365, 30]), later=st.sampled_from(
    [timedelta(0), timedelta(microseconds=1), timedelta(hours=13), timedelta(days=3), timedelta(days=40)]),
    share=st.floats(0.01, 0.99))
def test_no_view_changes_before_its_next_change(
        facts: list[Fact], won_days: int, later: timedelta, share: float) -> None:
    thresholds = thresholds_from({"prospecting-a-customer": {"customer_won_days": won_days}})
    state = start("acme", thresholds)
    for fact in sorted(arrived(facts), key=lambda each: each.order):
        state = advance(state, fact, thresholds)
    assert state.last_at is not None
    as_of = state.last_at + later
    findings = findings_at(state, Moment(as_of), thresholds)  # findings are held still: they have their own due

    def read(instant: datetime) -> AccountView:
        return timeless(view_at(state.view, instant, findings))

    now = read(as_of)
    change = next_change(state.view, as_of)
    if change is None:
        assert read(as_of + timedelta(days=800)) == now
        return
    assert change > as_of
    last_before = change - timedelta(microseconds=1)
    for instant in {min(as_of + (change - as_of) * share, last_before), last_before}:
        if instant > as_of:
            assert read(instant) == now, (as_of, instant, change)


def reference_next_change(view: object, as_of: datetime) -> datetime | None:
    """The next change as first written: every instant the state holds, found by walking it, judged one by one."""
    spans = sorted({timedelta(days=days) for days in {*SPANS_DAYS, view.spells.won_days}})  # type: ignore[attr-defined]
    soonest: datetime | None = None
    for instant, daily in set(reference_instants_in(view)):
        since = as_of - instant
        later = bisect_right(spans, since)
        if later and spans[later - 1] == since:
            return as_of + JUST_AFTER
        candidate = instant + spans[later] if later < len(spans) else None
        if daily and instant <= as_of:
            day = instant + DAY * (since // DAY + 1)
            candidate = day if candidate is None or day < candidate else candidate
        if candidate is not None and (soonest is None or candidate < soonest):
            soonest = candidate
    return soonest


def reference_instants_in(value: object) -> Iterator[tuple[datetime, bool]]:
    if isinstance(value, datetime):
        yield value, False
    elif isinstance(value, Fact):
        yield value.occurred_at, False
        for name in DATED:
            if value.data.get(name) is not None:
                yield value.instant(name), name == "dueAt"
    elif isinstance(value, (list, tuple, set, frozenset)):
        for each in value:
            yield from reference_instants_in(each)
    elif isinstance(value, dict):
        for key, each in value.items():
            yield from reference_instants_in(key)
            yield from reference_instants_in(each)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from reference_instants_in(getattr(value, field.name))


@settings(max_examples=300, deadline=None)
@given(facts=histories(), won_days=st.sampled_from([365, 30]), later=st.sampled_from(
    [timedelta(0), timedelta(microseconds=1), timedelta(hours=13), timedelta(days=7), timedelta(days=90),
     timedelta(days=400)]), earlier=st.integers(0, 5))
def test_next_change_is_the_walk_of_every_instant(facts: list[Fact], won_days: int, later: timedelta,
                                                  earlier: int) -> None:
    """The lists of instants searched per span give what judging every instant held gives, at every moment:
    after the last fact, exactly a span after one of its instants (`later`), and at one of them (`earlier`)."""
    thresholds = thresholds_from({"prospecting-a-customer": {"customer_won_days": won_days}})
    state = start("acme", thresholds)
    for fact in sorted(arrived(facts), key=lambda each: each.order):
        state = advance(state, fact, thresholds)
    assert state.last_at is not None
    instants = sorted({instant for instant, _ in reference_instants_in(state.view)})
    for as_of in {state.last_at + later, instants[-1 - min(earlier, len(instants) - 1)] + later}:
        if as_of >= state.last_at:
            assert next_change(state.view, as_of) == reference_next_change(state.view, as_of), as_of
