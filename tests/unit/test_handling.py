"""A finding's handling aggregate: its transitions, its refusals, and replays giving the same state."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from eventsourcing.application import Application
from hypothesis import given
from hypothesis import strategies as st

from domain.handling import (
    ACKNOWLEDGED,
    ASSIGNED,
    CLOSED,
    NEW,
    SNOOZED,
    Handling,
    Refused,
    handling_id,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def new() -> Handling:
    return Handling(finding_id="2b8f2c1e-0000-5000-8000-000000000001", account_id="acme")


def refused(argument: str, call: Any, *args: Any) -> str:
    with pytest.raises(Refused) as caught:
        call(*args)
    assert caught.value.argument == argument
    return caught.value.reason


def test_the_id_derives_from_the_finding_alone() -> None:
    assert new().id == handling_id("2b8f2c1e-0000-5000-8000-000000000001") != handling_id("another")


def test_a_new_handling_is_version_0_and_each_action_counts_one() -> None:
    handling = new()
    assert (handling.state, handling.version, handling.actions) == (NEW, 0, [])
    handling.acknowledge("billing-lead", NOW)
    handling.assign("rep-114", "billing-lead", NOW, "refund under way")
    handling.comment("customer called", "rep-114", NOW)
    assert handling.version == 3 and handling.state == ASSIGNED and handling.assignee == "rep-114"
    assert [(each.kind, each.by, each.note) for each in handling.actions] == [
        ("ACKNOWLEDGE", "billing-lead", None), ("ASSIGN", "billing-lead", "refund under way"),
        ("COMMENT", "rep-114", "customer called")]
    assert handling.acknowledged_at == NOW


def test_a_comment_does_not_acknowledge() -> None:
    handling = new()
    handling.comment("looking", "rep-114", NOW)
    assert handling.state == NEW and handling.acknowledged_at is None


def test_acknowledging_twice_is_refused() -> None:
    handling = new()
    handling.acknowledge("a", NOW)
    assert "already acknowledged" in refused("id", handling.acknowledge, "b", NOW)


def test_closing_twice_is_refused_and_reopening_brings_it_back() -> None:
    handling = new()
    handling.assign("rep-114", "lead", NOW)
    handling.close("refund sent", "rep-114", NOW, 41)
    assert (handling.state, handling.closed_at, handling.evidence_seen) == (CLOSED, NOW, 41)
    assert "reopen it" in refused("id", handling.close, "again", "rep-114", NOW)
    assert "reopen it" in refused("id", handling.assign, "x", "lead", NOW)
    handling.reopen("customer says no refund came", "lead", NOW + timedelta(hours=1))
    assert (handling.state, handling.assignee, handling.closed_at) == (ASSIGNED, "rep-114", None)


def test_reopening_what_is_not_closed_is_refused() -> None:
    assert "only a closed finding" in refused("id", new().reopen, "why", "lead", NOW)


def test_notes_required_where_they_must_be_and_never_blank() -> None:
    handling = new()
    assert refused("note", handling.comment, "  ", "a", NOW) == "is required and must not be blank"
    assert refused("note", handling.close, "", "a", NOW) == "is required and must not be blank"
    assert "omit it" in refused("note", handling.acknowledge, "a", NOW, " ")
    assert "at most 2000" in refused("note", handling.comment, "x" * 2001, "a", NOW)
    assert "NUL" in refused("note", handling.comment, "a\x00b", "a", NOW)
    assert "surrogate" in refused("note", handling.close, "a\ud800", "a", NOW)
    assert handling.version == 0 and handling.actions == []


def test_snoozing_into_the_past_or_beyond_a_year_is_refused() -> None:
    handling = new()
    assert "not in the future" in refused("until", handling.snooze, NOW - timedelta(seconds=1), "a", NOW)
    assert "not in the future" in refused("until", handling.snooze, NOW, "a", NOW)
    assert "at most a year" in refused("until", handling.snooze, NOW + timedelta(days=365, seconds=1), "a", NOW)
    handling.snooze(NOW + timedelta(days=365), "a", NOW)
    assert handling.version == 1


def test_a_snooze_ends_by_itself_back_to_the_state_it_interrupted() -> None:
    handling = new()
    handling.snooze(NOW + timedelta(days=2), "lead", NOW)
    assert handling.effective_state(NOW + timedelta(days=1)) == SNOOZED
    assert handling.effective_state(NOW + timedelta(days=2)) == ACKNOWLEDGED  # a snooze takes the finding on
    handling.assign("rep-114", "lead", NOW + timedelta(days=3))
    handling.snooze(NOW + timedelta(days=5), "rep-114", NOW + timedelta(days=3))
    assert handling.effective_state(NOW + timedelta(days=6)) == ASSIGNED


COMMANDS = st.lists(st.tuples(
    st.sampled_from(["acknowledge", "assign", "snooze", "comment", "close", "reopen"]),
    st.sampled_from(["rep-114", "billing-lead", "local"]),
    st.integers(-2, 400),  # days from the action to a snooze's end
    st.sampled_from([None, "", "refund under way"]),
), max_size=12)


def attempt(handling: Handling, kind: str, who: str, days: int, note: str | None, at: datetime) -> None:
    calls = {
        "acknowledge": lambda: handling.acknowledge(who, at, note),
        "assign": lambda: handling.assign(who, "lead", at, note),
        "snooze": lambda: handling.snooze(at + timedelta(days=days), who, at, note),
        "comment": lambda: handling.comment(note or "", who, at),
        "close": lambda: handling.close(note or "", who, at, days),
        "reopen": lambda: handling.reopen(note or "", who, at),
    }
    try:
        calls[kind]()
    except Refused:
        pass


@given(COMMANDS)
def test_replaying_the_stream_gives_the_same_state(commands: list[tuple[str, str, int, str | None]]) -> None:
    """Whatever was accepted or refused, the stored events replay to the state the commands left."""
    handling, app = new(), Application()
    for step, (kind, who, days, note) in enumerate(commands):
        version = handling.version
        attempt(handling, kind, who, days, note, NOW + timedelta(hours=step))
        assert handling.version in (version, version + 1)  # a refusal records nothing
    app.save(handling)
    replayed: Handling = app.repository.get(handling.id)
    assert vars(replayed) == vars(handling)
    assert replayed.version == len(replayed.actions)
