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
    Evidence,
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
    handling.close("refund sent", "rep-114", NOW, Evidence(41))
    assert (handling.state, handling.closed_at, handling.evidence_seen) == (CLOSED, NOW, 41)
    assert "reopen it" in refused("id", handling.close, "again", "rep-114", NOW)
    assert "reopen it" in refused("id", handling.assign, "x", "lead", NOW)
    handling.reopen("customer says no refund came", "lead", NOW + timedelta(hours=1))
    assert (handling.state, handling.assignee, handling.closed_at) == (ASSIGNED, "rep-114", None)


NEWER = Evidence(42)  # evidence after the close at 41, the rules still holding the finding


def closed_at_41(assignee: str | None = "rep-114") -> Handling:
    handling = new()
    if assignee is not None:
        handling.assign(assignee, "lead", NOW)
    handling.close("refund sent", "rep-114", NOW, Evidence(41))
    return handling


def test_a_close_undone_by_new_evidence_is_open_to_every_action_but_reopen() -> None:
    later = NOW + timedelta(hours=1)
    assert closed_at_41().shown_state(later, NEWER) == ASSIGNED
    assert closed_at_41(None).shown_state(later, NEWER) == ACKNOWLEDGED
    assert closed_at_41().shown_state(later, Evidence(42, held=False)) == CLOSED  # the rules resolved it
    assert closed_at_41().shown_state(later, Evidence(41)) == CLOSED  # nothing newer
    closing = closed_at_41()
    closing.close("refund sent again", "rep-114", later, NEWER)
    assert (closing.state, closing.closed_at, closing.evidence_seen) == (CLOSED, later, 42)
    assigning = closed_at_41()
    assigning.assign("support-lead", "rep-114", later, evidence=NEWER)
    assert (assigning.state, assigning.assignee, assigning.closed_at, assigning.evidence_seen) == (
        ASSIGNED, "support-lead", None, None)
    snoozing = closed_at_41()
    snoozing.snooze(later + timedelta(days=2), "rep-114", later, evidence=NEWER)
    assert (snoozing.state, snoozing.closed_at) == (SNOOZED, None)
    reopening = closed_at_41(None)
    assert refused("id", reopening.reopen, "why", "lead", later, NEWER) == (
        "only a closed finding can be reopened (this one is ACKNOWLEDGED)")
    assert "already acknowledged (ACKNOWLEDGED)" in refused("id", reopening.acknowledge, "lead", later, None, NEWER)
    assert reopening.version == 1


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


def test_a_snooze_records_its_end_in_utc_and_wants_an_offset() -> None:
    handling = new()
    paris = timezone(timedelta(hours=2))
    handling.snooze(datetime(2026, 12, 20, 11, 0, tzinfo=paris), "a", NOW)
    assert handling.snoozed_until == handling.actions[-1].until == datetime(2026, 12, 20, 9, 0, tzinfo=timezone.utc)
    assert handling.actions[-1].as_json()["until"] == "2026-12-20T09:00:00+00:00"
    assert "no UTC offset" in refused("until", new().snooze, datetime(2026, 12, 20, 11, 0), "a", NOW)


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
    evidence = Evidence(days)  # the finding's newest evidence: a later, higher one undoes an earlier close
    calls = {
        "acknowledge": lambda: handling.acknowledge(who, at, note, evidence),
        "assign": lambda: handling.assign(who, "lead", at, note, evidence),
        "snooze": lambda: handling.snooze(at + timedelta(days=days), who, at, note, evidence),
        "comment": lambda: handling.comment(note or "", who, at),
        "close": lambda: handling.close(note or "", who, at, evidence),
        "reopen": lambda: handling.reopen(note or "", who, at, evidence),
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
