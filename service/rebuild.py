"""Rebuilding the findings view from the event store while the service keeps serving.

1. Into a fresh shadow view: every event up to a snapshot position, read account by
   account (one ordered scan of the store's timeline index), judged as of now.
2. The shadow view follows the log from that position like any projector, until it is
   close to the head.
3. Under the view's write lock (which pauses the live projector for a moment), the
   shadow takes in the last events and its tables replace the live ones, in one
   transaction. Readers see the old rows until that commit and the new ones after.

Finding ids derive from (account, rule, key), so a rebuild yields the same ids.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore

from projections.evaluation import evaluate
from projections.facts import Fact, fact_from_stored
from projections.findings import Finding
from projections.history import history_of
from projections.thresholds import Thresholds, thresholds_table
from service.findings_view import EVENTS_TABLE, LIVE, FindingsView, drop_view, rename_view
from service.projector import Projector, utc_now

SHADOW = f"{LIVE}_next"
RETIRED = f"{LIVE}_old"
WRITE_EVERY_ACCOUNTS = 500

Progress = Callable[[int, int], None]  # (events done, events in the snapshot)

SNAPSHOT_SCAN = (
    f"SELECT notification_id, topic, state, occurred_at FROM {EVENTS_TABLE} WHERE notification_id <= %s"
    " ORDER BY originator_id, occurred_at, originator_version"
)


@dataclass(frozen=True)
class RebuildReport:
    events: int
    accounts: int
    findings: int
    seconds: float


def rebuild(datastore: PostgresDatastore, conninfo: str, thresholds: Thresholds,
            progress: Progress = lambda done, total: None) -> RebuildReport:
    """Rebuild the findings view; the live one keeps serving until the final swap."""
    started = time.perf_counter()
    shadow = FindingsView(datastore, name=SHADOW)
    with datastore.transaction(commit=True) as curs:
        drop_view(curs, SHADOW)
    shadow.create_table()
    now = utc_now()
    events, accounts, findings = bulk_load(shadow, conninfo, thresholds, now, progress)
    follower = Projector(shadow, thresholds, batch_size=5000)
    while follower.step() == follower.batch_size:
        pass
    swap(datastore, follower)
    return RebuildReport(events, accounts, findings, time.perf_counter() - started)


def bulk_load(shadow: FindingsView, conninfo: str, thresholds: Thresholds, now: datetime,
              progress: Progress) -> tuple[int, int, int]:
    """Judge every account from a consistent snapshot of the store, and track its position.

    Reading, judging and writing overlap: a reader thread fetches the next rows and a
    writer thread sends finished rows while this thread judges (the driver lets go of
    the interpreter while it waits on the server).
    """
    with psycopg.connect(conninfo) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.transaction():
            row = connection.execute(f"SELECT max(notification_id), count(*) FROM {EVENTS_TABLE}").fetchone()
            assert row is not None
            last, total = row[0] or 0, row[1]
            with shadow.datastore.transaction(commit=True) as curs:
                shadow.set_thresholds(curs, thresholds_table(thresholds))
            with connection.cursor(name="cx360_rebuild") as cursor, Writer(shadow) as writer:
                done = accounts = found = 0
                pending: dict[str, list[Finding]] = {}
                due: dict[str, datetime | None] = {}
                for account_id, facts in accounts_of(prefetched(cursor, last)):
                    judged = evaluate(history_of(account_id, facts), now, thresholds)
                    pending[account_id], due[account_id] = judged.findings, judged.next_change
                    done, accounts, found = done + len(facts), accounts + 1, found + len(judged.findings)
                    if len(pending) >= WRITE_EVERY_ACCOUNTS:
                        writer.put(pending, due, None)
                        pending, due = {}, {}
                        progress(done, total)
                writer.put(pending, due, last)
            progress(done, total)
    return done, accounts, found


def prefetched(cursor: psycopg.ServerCursor[Any], last: int, chunk: int = 10_000) -> Iterator[Any]:
    """The snapshot's rows, fetched by a thread a few chunks ahead of their use."""
    chunks: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=4)

    def fetch() -> None:
        try:
            cursor.execute(SNAPSHOT_SCAN, (last,), binary=True)
            while rows := cursor.fetchmany(chunk):
                chunks.put(rows)
            chunks.put([])
        except BaseException as error:  # handed to the consuming thread, which raises it
            chunks.put(error)

    reader = threading.Thread(target=fetch, name="cx360-rebuild-reader", daemon=True)
    reader.start()
    while True:
        rows = chunks.get()
        if isinstance(rows, BaseException):
            raise rows
        if not rows:
            break
        yield from rows
    reader.join()


def accounts_of(rows: Iterator[Any]) -> Iterator[tuple[str, list[Fact]]]:
    """Each account's facts, one account after another, from rows ordered by account."""
    current: str | None = None
    facts: list[Fact] = []
    for notification_id, topic, state, occurred_at in rows:
        fact, account_id = fact_from_stored(notification_id, topic, state, occurred_at)
        if account_id != current:
            if current is not None:
                yield current, facts
            current, facts = account_id, []
        facts.append(fact)
    if current is not None:
        yield current, facts


class Writer:
    """Writes batches of finding rows to the shadow view from a thread of its own, in order."""

    def __init__(self, shadow: FindingsView) -> None:
        self.shadow = shadow
        self.batches: queue.Queue[Batch | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run, name="cx360-rebuild-writer", daemon=True)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.batches.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def put(self, findings: dict[str, list[Finding]], due: dict[str, datetime | None], position: int | None) -> None:
        if self.error is not None:
            raise self.error
        self.batches.put((findings, due, position))

    def run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is None:
                try:
                    with self.shadow.datastore.transaction(commit=True) as curs:
                        self.shadow.write(curs, *batch)
                except BaseException as error:  # raised again in the judging thread
                    self.error = error


Batch = tuple[dict[str, list[Finding]], dict[str, datetime | None], int | None]


def swap(datastore: PostgresDatastore, shadow_projector: Projector) -> None:
    """Take in the last events and put the shadow in the live view's place, atomically."""
    with datastore.transaction(commit=True) as curs:
        shadow_projector.view.lock(curs)
        while shadow_projector.step_in(curs):
            pass
        rename_view(curs, LIVE, RETIRED)
        rename_view(curs, SHADOW, LIVE)
        drop_view(curs, RETIRED)
