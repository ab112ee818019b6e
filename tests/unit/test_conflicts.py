"""What tells a conflict from a duplicate: the content under the key (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.validation import ValidEvent, validate_event
from service.store.conflicts import Content, differences
from tests.support import valid_events


def valid(raw: dict[str, object]) -> ValidEvent:
    outcome = validate_event(raw, 0)
    assert isinstance(outcome, ValidEvent), outcome
    return outcome


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded machine


@PROPERTY
@given(valid_events("acct-1"))
def test_an_event_never_differs_from_itself_nor_from_its_stored_form(raw: dict[str, object]) -> None:
    event = valid(raw)
    assert differences(Content.of(event), Content.of(event)) == ()
    state = {"account_id": event.account_id, "contact_id": event.contact_id, "actor": event.actor,
             "occurred_at": event.occurred_at_text, "data": Content.of(event).data}
    assert differences(Content.stored(event.type, state), Content.of(event)) == ()


@PROPERTY
@given(valid_events("acct-1"), st.integers(-12, 12))
def test_the_same_instant_with_another_offset_is_the_same_content(raw: dict[str, object], hours: int) -> None:
    event = valid(raw)
    moved = event.occurred_at.astimezone(timezone(timedelta(hours=hours))).isoformat()
    assert differences(Content.of(event), Content.of(valid({**raw, "occurredAt": moved}))) == ()


def test_data_differences_are_named_by_key_and_added_or_missing_keys_count() -> None:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first = Content("t", "a", None, None, at, {"x": 1, "y": [1, 2]})
    assert differences(first, Content("t", "a", None, None, at, {"x": 1, "y": [1, 3], "z": None})) == ("data.y", "data.z")
    assert differences(first, Content("u", "a", "c", None, at + timedelta(seconds=1), first.data)) == (
        "type", "contactId", "occurredAt")
