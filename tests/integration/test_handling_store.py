"""The handling store on real PostgreSQL: its own streams and row, replays, and two actors at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from domain.handling import Handling, Refused, handling_id
from service.handling.commands import Command, Handlings, Target, VersionConflict
from service.projection.view_store import open_view_store
from service.settings import connection_params
from service.store.handling_store import HandlingRow, HandlingStore, handling_env
from service.store.tables import EVENTS_TABLE, HANDLING_APPLICATION, HANDLING_TABLE


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[HandlingStore]:
    open_view_store(connection_params(database_url)).datastore.close()  # the findings view, as the service opens it first
    opened = HandlingStore(env=handling_env(connection_params(database_url)))
    yield opened
    opened.close()


def target() -> Target:
    return Target(finding_id=str(uuid4()), account_id="acme", evidence_seen=7)


def row_of(database_url: str, finding_id: str) -> tuple[object, ...] | None:
    with psycopg.connect(database_url) as connection:
        return connection.execute(f"SELECT state, assignee, version, actions FROM {HANDLING_TABLE} WHERE finding_id = %s",
                                  (finding_id,)).fetchone()


def test_actions_are_stored_in_streams_of_their_own_with_their_row(store: HandlingStore, database_url: str) -> None:
    handlings, finding = Handlings(store), target()
    handlings.act(finding, "billing-lead", Command("acknowledge"), expected_version=0)
    row = handlings.act(finding, "billing-lead", Command("assign", note="refund under way", to="rep-114"), 1)
    assert (row.state, row.assignee, row.version) == ("ASSIGNED", "rep-114", 2)
    stored = row_of(database_url, finding.finding_id)
    assert stored is not None and stored[:3] == ("ASSIGNED", "rep-114", 2)
    assert [action["kind"] for action in stored[3]] == ["ACKNOWLEDGE", "ASSIGN"]  # type: ignore[index]
    stream = handling_id(finding.finding_id)
    with psycopg.connect(database_url) as connection:  # never in the department events the rules read
        own = connection.execute(f"SELECT count(*) FROM {HANDLING_TABLE}_events WHERE originator_id = %s",
                                 (stream,)).fetchone()
        events_table = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (EVENTS_TABLE,)).fetchone()
        other = connection.execute(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE originator_id = %s",
                                   (stream,)).fetchone() if events_table == (True,) else (0,)
    assert own == (3,) and other == (0,)  # created, acknowledged, assigned


def test_replaying_a_stream_gives_the_row_the_actions_wrote(store: HandlingStore) -> None:
    handlings, finding = Handlings(store), target()
    for command in (Command("comment", note="looking"), Command("snooze", until=handlings.clock().replace(year=2099)),
                    Command("close", note="done")):
        try:
            row = handlings.act(finding, "lead", command, None)
        except Refused as refusal:
            assert refusal.argument == "until"  # beyond a year: refused, nothing stored
    replayed = store.handling(handling_id(finding.finding_id))
    assert replayed is not None and HandlingRow.of(replayed) == row
    assert [action.kind for action in replayed.actions] == ["COMMENT", "CLOSE"] and replayed.evidence_seen == 7


def test_a_stale_expected_version_names_the_current_one_and_stores_nothing(store: HandlingStore, database_url: str) -> None:
    handlings, finding = Handlings(store), target()
    handlings.act(finding, "a", Command("acknowledge"), None)
    with pytest.raises(VersionConflict, match="at version 1, not 0") as caught:
        handlings.act(finding, "b", Command("comment", note="mine"), expected_version=0)
    assert caught.value.current == 1
    assert row_of(database_url, finding.finding_id)[2] == 1  # type: ignore[index]


def test_a_refused_command_stores_nothing_not_even_the_stream(store: HandlingStore, database_url: str) -> None:
    finding = target()
    with pytest.raises(Refused):
        Handlings(store).act(finding, "a", Command("close", note=" "), None)
    assert store.handling(handling_id(finding.finding_id)) is None and row_of(database_url, finding.finding_id) is None


class MeetingStore(HandlingStore):
    """The real store, whose saves wait for each other: both actors loaded the same version first."""

    name = HANDLING_APPLICATION  # the store library names a subclass's tables after the class otherwise
    meet = threading.Barrier(2, timeout=10)

    def save_handling(self, handling: Handling) -> None:
        self.meet.wait()
        super().save_handling(handling)


@pytest.mark.parametrize("acted_before", [False, True])
def test_two_people_acting_at_once_one_wins_the_other_gets_the_version_error(
        store: HandlingStore, database_url: str, acted_before: bool) -> None:
    meeting = MeetingStore(env=handling_env(connection_params(database_url)))
    finding, outcomes = target(), {}
    if acted_before:
        HandlingStore.save_handling(meeting, Handlings(meeting).load(finding))  # version 0 exists already

    def act(who: str) -> None:
        try:
            outcomes[who] = Handlings(meeting).act(finding, who, Command("assign", to=who), None)
        except VersionConflict as conflict:
            outcomes[who] = conflict

    try:
        threads = [threading.Thread(target=act, args=(who,)) for who in ("rep-114", "rep-7")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        meeting.close()
    won = [each for each in outcomes.values() if isinstance(each, HandlingRow)]
    lost = [each for each in outcomes.values() if isinstance(each, VersionConflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert lost[0].current == won[0].version
    stored = row_of(database_url, finding.finding_id)
    assert stored is not None and stored[1] == won[0].assignee and stored[2] == won[0].version
    replayed = store.handling(handling_id(finding.finding_id))  # the winner's events, in the handling streams
    assert replayed is not None and HandlingRow.of(replayed) == won[0]


def test_replaying_every_handling_stream_gives_its_row(store: HandlingStore, database_url: str) -> None:
    """Every handling in the database (this module's, and the API tests' when they ran first): the stream
    replayed by the store library is what its row says."""
    Handlings(store).act(target(), "a", Command("snooze", until=Handlings(store).clock().replace(year=2027)), None)
    with psycopg.connect(database_url, row_factory=dict_row) as connection:
        rows = connection.execute(f"SELECT * FROM {HANDLING_TABLE}").fetchall()
    assert rows
    for row in rows:
        replayed = store.handling(handling_id(str(row["finding_id"])))
        assert replayed is not None and HandlingRow.of(replayed) == HandlingRow(**row)
