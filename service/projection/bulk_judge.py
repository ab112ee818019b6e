"""Judging a part of the store's accounts into a rebuild's shadow view, in a process of its own.

A rebuild splits the accounts by stream id into parts, one per worker process; each
worker reads its part from the same exported snapshot (so all see exactly the events up
to the rebuild's position), judges every account, and writes finding and view rows.
Within a worker, reading, judging and writing overlap: a reader thread fetches the next
rows and a writer thread sends finished rows while the main thread judges.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from projections.account_state import Final
from projections.facts import Fact, fact_from_stored
from projections.findings import Finding
from projections.thresholds import thresholds_from
from projections.view.health import HealthWeights
from projections.view.model import AccountView
from service.projection.attribution_store import AttributionWrites
from service.projection.projector import judged_from_start
from service.projection.view_store import Checkpoint, ProjectedViews, TrendPoint
from service.runtime.database import datastore_of
from service.settings import connection_params
from service.store.tables import EVENTS_TABLE

WRITE_EVERY_ACCOUNTS = 500

SCAN = (
    f"SELECT notification_id, topic, state, occurred_at FROM {EVENTS_TABLE}"
    " WHERE notification_id <= %s AND (%s::uuid IS NULL OR originator_id >= %s::uuid)"
    " AND (%s::uuid IS NULL OR originator_id < %s::uuid)"
    " ORDER BY originator_id, occurred_at, originator_version"
)


@dataclass(frozen=True)
class Part:
    """One worker's share of a rebuild, in plain values (it crosses to a spawned process)."""

    conninfo: str
    snapshot: str  # pg_export_snapshot() of the coordinator's transaction
    last: int  # the rebuild's position: events up to it
    low: UUID | None  # stream ids from (inclusive)
    high: UUID | None  # up to (exclusive)
    shadow: str
    thresholds: dict[str, dict[str, Any]]
    weights: HealthWeights
    now: datetime


class AccountNotJudged(Exception):
    """Judging one account raised: the rebuild stops (the live views stay as they were), naming it.

    The live projector logs such an account and goes on; a rebuild does not, since
    swapping in a view without the account's findings would lose them, and a fault that
    hits every account would swap in an empty view.
    """

    def __init__(self, account_id: str, error: Exception) -> None:
        super().__init__(f"account {account_id!r} could not be judged ({type(error).__name__}: {error}); "
                         "the live views are as they were")
        self.account_id = account_id


def parts_of(count: int) -> list[tuple[UUID | None, UUID | None]]:
    """`count` ranges of stream ids that together cover them all."""
    bounds = [UUID(int=(k << 128) // count) for k in range(1, count)]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


def judge_part(part: Part, done: Any, results: Any) -> None:
    """A worker's main: judge every account of the part; report (events, accounts, findings) or the error."""
    try:
        datastore = datastore_of(connection_params(part.conninfo))
        try:
            totals = judge(part, ProjectedViews(datastore, name=part.shadow), done)
        finally:
            datastore.close()
        results.put(("done", totals))
    except BaseException as error:  # reported to the coordinator, which fails the rebuild with it
        results.put(("error", f"{type(error).__name__}: {error}"))
        raise


def judge(part: Part, shadow: ProjectedViews, done: Any) -> tuple[int, int, int]:
    """Judge the part's accounts from the shared snapshot; `done` counts events judged, for progress."""
    thresholds = thresholds_from(part.thresholds, lenient=True)
    events = accounts = found = reported = 0
    with psycopg.connect(part.conninfo) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.transaction():
            connection.execute(sql.SQL("SET TRANSACTION SNAPSHOT {0}").format(sql.Literal(part.snapshot)))
            with connection.cursor(name="cx360_rebuild") as cursor, Writer(shadow) as writer:
                batch = Batch()
                for account_id, facts in accounts_of(prefetched(cursor, part)):
                    try:
                        judged = judged_from_start(account_id, facts, part.now, thresholds, part.weights)
                    except Exception as error:
                        raise AccountNotJudged(account_id, error) from error
                    batch.findings[account_id] = judged.findings
                    if judged.final:
                        batch.final[account_id] = judged.final
                    batch.views[account_id], batch.due[account_id] = judged.view, judged.due
                    batch.checkpoints.extend(judged.checkpoints)
                    batch.trend.extend(judged.trend)
                    batch.attribution[account_id] = judged.attribution
                    events, accounts, found = events + len(facts), accounts + 1, found + len(judged.findings) + len(judged.final)
                    if len(batch.findings) >= WRITE_EVERY_ACCOUNTS:
                        writer.put(batch)
                        batch = Batch()
                        with done.get_lock():
                            done.value += events - reported
                        reported = events
                writer.put(batch)
    with done.get_lock():
        done.value += events - reported
    return events, accounts, found


def prefetched(cursor: psycopg.ServerCursor[Any], part: Part, chunk: int = 10_000) -> Iterator[Any]:
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
            cursor.execute(SCAN, (part.last, part.low, part.low, part.high, part.high), binary=True)
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

    def put(self, batch: Batch) -> None:
        if self.error is not None:
            raise self.error
        self.batches.put(batch)

    def run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is None:
                try:
                    with self.shadow.datastore.transaction(commit=True) as curs:
                        self.shadow.write_checkpoints(curs, {}, batch.checkpoints, batch.trend)
                        self.shadow.write(curs, batch.findings, batch.due, None, batch.views, final=batch.final,
                                          attribution=batch.attribution)
                except BaseException as error:  # raised again in the judging thread
                    self.error = error


@dataclass
class Batch:
    """Accounts judged, written to the shadow in one transaction."""

    findings: dict[str, list[Finding]] = field(default_factory=dict)
    final: dict[str, list[Final]] = field(default_factory=dict)
    due: dict[str, datetime | None] = field(default_factory=dict)
    views: dict[str, AccountView] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)
    attribution: dict[str, AttributionWrites] = field(default_factory=dict)
