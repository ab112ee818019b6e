"""The append keeps the store's guarantees: the notification ids it reports are the rows' own, in batch
order and gap-free under concurrent appends; stream versions follow on; duplicates are not stored again."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

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
