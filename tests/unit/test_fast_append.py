"""The append's columns against what they stand in for: the store library's mapper. (The account rows the append's
statement keeps are checked against a reference in tests/integration/test_append_positions.py.)"""

from __future__ import annotations

from datetime import datetime, timezone

from eventsourcing.persistence import Mapper, StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.stream import recorded
from domain.validation import ValidEvent, validate_event
from service.store.event_store import JsonTranscoder, event_columns
from tests.support import valid_events

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid(raw: dict[str, object]) -> ValidEvent:
    outcome = validate_event(raw, 0)
    assert isinstance(outcome, ValidEvent), outcome
    return outcome


def stored_event_of(version: int, recorded_at_text: str, event: ValidEvent) -> StoredEvent:
    """The stored event the append writes for the event, from its columns (`event_columns`) and its version."""
    originator_id, topic, state = (column[0] for column in event_columns([event], recorded_at_text)[:3])
    return StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=state)


@PROPERTY
@given(valid_events("acct-1"), st.integers(1, 10**9))
def test_stored_event_of_is_what_the_libraries_mapper_makes(raw: dict[str, object], version: int) -> None:
    """Fails by name when eventsourcing's Mapper.to_stored_event changes what it stores (the library is pinned)."""
    event = valid(raw)
    at = datetime.now(timezone.utc).isoformat()
    mapper: Mapper[object] = Mapper(transcoder=JsonTranscoder())
    assert stored_event_of(version, at, event) == mapper.to_stored_event(recorded(version, at, event))
    assert vars(mapper.to_domain_event(stored_event_of(version, at, event))) == vars(recorded(version, at, event))
