"""A live view's trend brought up to the latest week boundary when read (`service.read.account_view.trend_through`).

The projector does not judge a view again at each week boundary: until the view changes
(its due time), its score holds. So the stored view with its trend brought up to a later
boundary must read exactly as the view judged at that boundary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.thresholds import DEFAULT_THRESHOLDS
from projections.view.health import DEFAULT_WEIGHTS
from projections.view.model import AccountView
from projections.weeks import WEEK, boundary_at_or_after
from service.projection.projector import judged_from_start
from service.read.account_view import trend_through
from tests.unit.test_findings_laws import arrived
from tests.unit.view.test_view_fold_matches_reference import histories


def stored(view: AccountView) -> dict[str, Any]:
    """As the views table holds it and the reads load it."""
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(view.to_json()))
    return loaded


@settings(max_examples=100, deadline=None)
@given(facts=histories(), later=st.sampled_from([timedelta(0), timedelta(hours=13), timedelta(days=3),
                                                *[timedelta(days=400), timedelta(days=800)] * 4]),
       weeks=st.integers(0, 14), into=st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=6)]))
def test_a_view_read_after_week_boundaries_has_the_trend_of_the_view_judged_at_the_latest(
        facts: list[Fact], later: timedelta, weeks: int, into: timedelta) -> None:
    present = arrived(facts)
    judged_at = max(fact.occurred_at for fact in present) + later
    judged = judged_from_start("acme", present, judged_at, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS)
    latest = boundary_at_or_after(judged_at) + WEEK * weeks
    assume(judged.due is None or judged.due > latest)  # the view (and its findings) hold until then: a quiet account
    read_at = latest + into
    at_boundary = judged_from_start("acme", present, latest, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS)
    expected = stored(at_boundary.view)["health"]["trend"] if latest > judged_at else stored(judged.view)["health"]["trend"]
    assert trend_through(stored(judged.view), read_at)["health"]["trend"] == expected


def test_a_view_read_before_the_next_boundary_is_served_as_stored() -> None:
    view = {"as_of": "2026-03-04T10:00:00+00:00", "health": {"score": 80, "trend": [
        {"at": "2026-02-23T00:00:00+00:00", "score": 70}, {"at": "2026-03-02T00:00:00+00:00", "score": 75},
        {"at": "2026-03-04T10:00:00+00:00", "score": 80}]}}
    assert trend_through(view, datetime.fromisoformat("2026-03-08T23:59:59+00:00")) is view
    moved = trend_through(view, datetime.fromisoformat("2026-03-17T08:00:00+00:00"))
    assert moved["health"]["trend"] == [{"at": "2026-03-02T00:00:00+00:00", "score": 75},
                                        {"at": "2026-03-09T00:00:00+00:00", "score": 80},
                                        {"at": "2026-03-16T00:00:00+00:00", "score": 80}]
    assert moved["as_of"] == view["as_of"] and view["health"]["trend"][0]["score"] == 70  # the stored view unchanged


@settings(max_examples=50, deadline=None)
@given(facts=histories())
def test_a_view_is_stored_as_its_json(facts: list[Fact]) -> None:
    """The views table writes `orjson.dumps(view)` (no copy through `to_json`): the same bytes."""
    present = arrived(facts)
    view = judged_from_start("acme", present, max(fact.occurred_at for fact in present), DEFAULT_THRESHOLDS,
                             DEFAULT_WEIGHTS).view
    assert orjson.dumps(view) == orjson.dumps(view.to_json())
