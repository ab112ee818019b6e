"""The view's next change with time alone: no view reads differently before it (`projections.view.changes`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import advance, findings_at, start
from projections.facts import Fact
from projections.findings import Moment
from projections.thresholds import thresholds_from
from projections.view.changes import next_change
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
