"""The append keeps the store's guarantees: the notification ids it reports are the rows' own, in batch
order and gap-free under concurrent appends; stream versions follow on; duplicates are not stored again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.validation import ValidEvent, validate_event
from service.settings import connection_params
from service.store.event_store import EventStore, RecordOutcome, store_env
from service.store.tables import EVENTS_TABLE
from tests.support import event, unique


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[EventStore]:
    opened = EventStore(env=store_env(connection_params(database_url)), write_timeout=30)
    yield opened
    opened.close()


def valid(raw: dict[str, object], index: int) -> tuple[int, ValidEvent]:
    outcome = validate_event(raw, index)
    assert isinstance(outcome, ValidEvent), outcome
    return index, outcome


def rows(database_url: str, source: str) -> dict[str, tuple[int, int]]:
    with psycopg.connect(database_url) as connection:
        found = connection.execute(f"SELECT event_id, notification_id, originator_version FROM {EVENTS_TABLE}"
                                   " WHERE source = %s", (source,)).fetchall()
    return {event_id: (notification_id, version) for event_id, notification_id, version in found}


def test_reported_positions_are_the_rows_ids_in_batch_order_under_concurrent_appends(store: EventStore,
                                                                                       database_url: str) -> None:
    source, accounts = unique("append"), [unique() for _ in range(5)]
    outcomes: dict[int, RecordOutcome] = {}
    batches = {thread: [valid(event(account_id=accounts[i % 5], source=source, id=f"{thread}-{i}"), i)
                        for i in range(300)] for thread in range(4)}

    def append(thread: int) -> None:
        outcomes[thread] = store.record(batches[thread])

    threads = [threading.Thread(target=append, args=(thread,)) for thread in batches]
    for each in threads:
        each.start()
    for each in threads:
        each.join()
    stored = rows(database_url, source)
    every_id = []
    for thread, outcome in outcomes.items():
        assert outcome.accepted == 300
        ids = [outcome.positions[index] for index, _ in batches[thread]]
        assert ids == list(range(ids[0], ids[0] + 300))  # one batch: consecutive, in batch order
        assert ids == [stored[f"{thread}-{i}"][0] for i in range(300)]
        every_id += ids
    assert sorted(every_id) == list(range(min(every_id), min(every_id) + 1200))  # no gap between the batches
    for account in range(5):  # each account's stream: versions 1..240, no gap, none twice
        versions = sorted(stored[f"{t}-{i}"][1] for t in range(4) for i in range(300) if i % 5 == account)
        assert versions == list(range(1, 241))


def test_duplicates_are_not_stored_again_and_new_events_follow_on(store: EventStore, database_url: str) -> None:
    source, account = unique("append"), unique()
    first = [valid(event(account_id=account, source=source, id=f"e-{i}"), i) for i in range(3)]
    store.record(first)
    again = store.record([*first, valid(event(account_id=account, source=source, id="e-3"), 3)])
    assert (again.accepted, again.duplicates, list(again.positions)) == (1, 3, [3])
    stored = rows(database_url, source)
    assert stored["e-3"][0] == again.positions[3] and stored["e-3"][1] == 4


AT = [f"2026-03-0{day}T09:00:00Z" for day in (1, 2, 3)]  # few instants: ties in occurredAt are common
BATCH_EVENTS = st.lists(st.tuples(
    st.integers(0, 1),  # which of two accounts
    st.sampled_from(AT),
    st.sampled_from(["support.ticket.opened", "sales.account.updated", "sales.account.updated"]),
    st.sampled_from([None, "Acme", "Acme GmbH", "Acme AG"]),  # the name an update sets, if any
    st.integers(0, 9),  # the event's id: the same id again is a duplicate, stored once
), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(BATCH_EVENTS, min_size=1, max_size=3))
@example([[(0, AT[0], "sales.account.updated", "Acme", 1), (0, AT[0], "sales.account.updated", "Acme AG", 2)]])
@example([[(0, AT[0], "sales.account.updated", "Acme", 1)], [(0, AT[0], "sales.account.updated", "Acme AG", 2)]])
def test_account_rows_are_the_count_latest_occurrence_and_latest_name_of_what_was_stored(
        store: EventStore, database_url: str, batches: list[list[tuple[int, str, str, str | None, int]]]) -> None:
    """Against a reference over the events stored (the first of each key, in arrival order): the latest name by
    occurredAt, on a tie the later arrival, within a batch and across batches."""
    source, accounts = unique("rows"), [unique(), unique()]
    stored: dict[str, tuple[str, str, str | None]] = {}  # id -> (account, occurred at, name), in arrival order
    for batch in batches:
        raws = []
        for account, at, event_type, name, number in batch:
            data = ({"name": name} if name else {"industry": "software"}) if event_type == "sales.account.updated" else None
            raws.append(event(event_type, account_id=accounts[account], source=source, id=f"e-{number}",
                              occurred_at=at, data=data))
            stored.setdefault(f"e-{number}", (accounts[account], at,
                                              name if event_type == "sales.account.updated" else None))
        store.record([valid(raw, index) for index, raw in enumerate(raws)])
    with psycopg.connect(database_url) as connection:
        found = {row[0]: row[1:] for row in connection.execute(
            "SELECT account_id, version, event_count, last_occurred_at, name, name_occurred_at FROM cx360_accounts"
            " WHERE account_id = ANY(%s)", (accounts,))}
    for account in accounts:
        mine = [(at, name) for owner, at, name in stored.values() if owner == account]
        if not mine:
            assert account not in found
            continue
        named = [(at, name) for at, name in mine if name is not None]
        latest = max(named, key=lambda pair: pair[0]) if named else None  # max keeps the first of equals:
        latest = [pair for pair in named if latest and pair[0] == latest[0]][-1] if latest else None  # the last
        version, count, last, name, name_at = found[account]
        assert (version, count) == (len(mine), len(mine))
        assert last == max(datetime.fromisoformat(at) for at, _ in mine)
        assert (name, name_at) == ((latest[1], datetime.fromisoformat(latest[0])) if latest else (None, None))


def test_a_compressor_from_the_environment_is_refused_by_name(database_url: str) -> None:
    env = {**store_env(connection_params(database_url)), "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"}
    with pytest.raises(ValueError, match="COMPRESSOR_TOPIC and CIPHER_TOPIC"):
        EventStore(env=env)
