"""The append's shortcuts against what they stand in for: the store library's mapper, and the account rows."""

from __future__ import annotations

from datetime import datetime, timezone

from eventsourcing.persistence import Mapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.stream import recorded
from domain.validation import ValidEvent, validate_event
from service.store.event_store import JsonTranscoder, account_rows, stored_event_of
from tests.support import valid_events

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid(raw: dict[str, object]) -> ValidEvent:
    outcome = validate_event(raw, 0)
    assert isinstance(outcome, ValidEvent), outcome
    return outcome


@PROPERTY
@given(valid_events("acct-1"), st.integers(1, 10**9))
def test_stored_event_of_is_what_the_libraries_mapper_makes(raw: dict[str, object], version: int) -> None:
    """Fails by name when eventsourcing's Mapper.to_stored_event changes what it stores (the library is pinned)."""
    event = valid(raw)
    at = datetime.now(timezone.utc).isoformat()
    mapper: Mapper[object] = Mapper(transcoder=JsonTranscoder())
    assert stored_event_of(version, at, event) == mapper.to_stored_event(recorded(version, at, event))
    assert vars(mapper.to_domain_event(stored_event_of(version, at, event))) == vars(recorded(version, at, event))


@PROPERTY
@given(st.lists(valid_events("acct-1") | valid_events("acct-2"), min_size=1, max_size=12))
def test_account_rows_in_one_pass_are_the_latest_occurrence_count_and_name(raws: list[dict[str, object]]) -> None:
    events = [valid(raw) for raw in raws]
    versions = {"acct-1": 7, "acct-2": 9}
    rows = {row.account_id: row for row in account_rows(events, versions, datetime.now(timezone.utc))}
    for account, row in rows.items():
        mine = [event for event in events if event.account_id == account]
        assert row.event_count == len(mine) and row.version == versions[account]
        assert row.last_occurred_at == max(event.occurred_at for event in mine)
        named = [event for event in mine if event.type == "sales.account.updated" and event.data.get("name") is not None]
        latest = max(named, key=lambda event: event.occurred_at) if named else None
        if latest is None:
            assert row.name is None
        else:  # the latest by occurredAt; on a tie, the later arrival
            tied = [event for event in named if event.occurred_at == latest.occurred_at]
            assert row.name == tied[-1].data["name"] and row.name_occurred_at == latest.occurred_at
