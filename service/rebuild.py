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

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.postgres import PostgresDatastore
from psycopg.errors import DeadlockDetected, LockNotAvailable

from projections.evaluation import evaluate
from projections.facts import Fact, fact_from_stored
from projections.findings import Finding
from projections.history import history_of
from projections.thresholds import Thresholds, thresholds_table
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights
from projections.view.model import AccountView
from service.projector import VIEW_REFRESH, Projector, utc_now, view_and_due
from service.views import EVENTS_TABLE, LIVE, ProjectedViews, drop_view, rename_view

log = logging.getLogger(__name__)

SHADOW = f"{LIVE}_next"
REBUILD_LOCK = 3_600_361  # session advisory lock held for a whole rebuild
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
            progress: Progress = lambda done, total: None, weights: HealthWeights = DEFAULT_WEIGHTS) -> RebuildReport:
    """Rebuild the findings view; the live one keeps serving until the final swap."""
    started = time.perf_counter()
    with only_rebuild(conninfo):
        return rebuilt(datastore, conninfo, thresholds, progress, weights, started)


class RebuildRunning(RuntimeError):
    """Another rebuild holds the rebuild lock."""


@contextmanager
def only_rebuild(conninfo: str) -> Iterator[None]:
    """Hold the rebuild lock for the whole rebuild: two at once would build into the same shadow."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (REBUILD_LOCK,)).fetchone()
        if not row or not row[0]:
            raise RebuildRunning("another `cx360 rebuild` is running on this database; wait for it to finish")
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (REBUILD_LOCK,))


def rebuilt(datastore: PostgresDatastore, conninfo: str, thresholds: Thresholds, progress: Progress,
            weights: HealthWeights, started: float) -> RebuildReport:
    """The rebuild itself: bulk load into the shadow, catch up with the log, swap."""
    shadow = ProjectedViews(datastore, name=SHADOW)
    with datastore.transaction(commit=True) as curs:
        drop_view(curs, SHADOW)
    shadow.create_table()
    now = utc_now()
    events, accounts, findings = bulk_load(shadow, conninfo, thresholds, weights, now, progress)
    follower = Projector(shadow, thresholds, batch_size=5000, weights=weights)
    while follower.step() == follower.batch_size:
        pass
    swap(datastore, follower)
    return RebuildReport(events, accounts, findings, time.perf_counter() - started)


def bulk_load(shadow: ProjectedViews, conninfo: str, thresholds: Thresholds, weights: HealthWeights,
              now: datetime, progress: Progress) -> tuple[int, int, int]:
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
                views: dict[str, AccountView] = {}
                for account_id, facts in accounts_of(prefetched(cursor, last)):
                    history = history_of(account_id, facts)
                    judged = evaluate(history, now, thresholds)
                    views[account_id], due[account_id] = view_and_due(history, judged, weights, VIEW_REFRESH)
                    pending[account_id] = judged.findings
                    done, accounts, found = done + len(facts), accounts + 1, found + len(judged.findings)
                    if len(pending) >= WRITE_EVERY_ACCOUNTS:
                        writer.put(pending, due, None, views)
                        pending, due, views = {}, {}, {}
                        progress(done, total)
                writer.put(pending, due, last, views)
            progress(done, total)
    return done, accounts, found


def prefetched(cursor: psycopg.ServerCursor[Any], last: int, chunk: int = 10_000) -> Iterator[Any]:
    """The snapshot's rows, fetched by a thread a few chunks ahead of their use.

    If the consumer stops early (an error while judging), the reader is told to stop and
    is waited for, so no thread is left blocked on a full queue.
    """
    chunks: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def hand_over(item: list[Any] | BaseException) -> None:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def fetch() -> None:
        try:
            cursor.execute(SNAPSHOT_SCAN, (last,), binary=True)
            while not stop.is_set() and (rows := cursor.fetchmany(chunk)):
                hand_over(rows)
            hand_over([])
        except BaseException as error:  # handed to the consuming thread, which raises it
            hand_over(error)

    reader = threading.Thread(target=fetch, name="cx360-rebuild-reader", daemon=True)
    reader.start()
    try:
        while (rows := chunks.get()) != []:
            if isinstance(rows, BaseException):
                raise rows
            yield from rows
    finally:
        stop.set()
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

    def __init__(self, shadow: ProjectedViews) -> None:
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

    def put(self, findings: dict[str, list[Finding]], due: dict[str, datetime | None], position: int | None,
            views: dict[str, AccountView]) -> None:
        if self.error is not None:
            raise self.error
        self.batches.put((findings, due, position, views))

    def run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is None:
                try:
                    with self.shadow.datastore.transaction(commit=True) as curs:
                        self.shadow.write(curs, *batch)
                except BaseException as error:  # raised again in the judging thread
                    self.error = error


Batch = tuple[dict[str, list[Finding]], dict[str, datetime | None], int | None, dict[str, AccountView]]


def swap(datastore: PostgresDatastore, shadow_projector: Projector, attempts: int = 5) -> None:
    """Put the shadow in the live view's place, atomically; again if the database broke a deadlock.

    Renaming takes the strongest lock on the live tables; an autovacuum of one of them
    has been seen to deadlock with it (bench/findings.py), and PostgreSQL then cancels
    one side. Nothing of a cancelled swap is kept, so it is simply tried again.
    """
    for attempt in range(1, attempts + 1):
        try:
            swap_once(datastore, shadow_projector)
            return
        except persistence.OperationalError as error:
            if attempt == attempts or not isinstance(error.__cause__, DeadlockDetected | LockNotAvailable):
                raise
            log.warning("rebuild: the swap met a deadlock (%s); trying again", error.__cause__)
            time.sleep(0.2 * attempt)


def swap_once(datastore: PostgresDatastore, shadow_projector: Projector) -> None:
    with datastore.transaction(commit=True) as curs:
        shadow_projector.view.lock(curs)
        while shadow_projector.step_in(curs)[0]:
            pass
        while shadow_projector.step_due_in(curs)[0]:
            pass
        rename_view(curs, LIVE, RETIRED)
        rename_view(curs, SHADOW, LIVE)
        drop_view(curs, RETIRED)
