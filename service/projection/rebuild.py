"""Rebuilding the projected views from the event store while the service keeps serving.

1. Into a fresh shadow view: every event up to a snapshot position, read account by
   account (ordered scans of the store's timeline index), judged as of now by worker
   processes, one per range of stream ids, all reading the same exported snapshot
   (`service.projection.bulk_judge`).
2. The shadow view follows the log from that position like any projector, until it is
   close to the head.
3. Under the view's write lock (which pauses the live projector for a moment), the
   shadow takes in the last events and its tables replace the live ones, in one
   transaction. Readers see the old rows until that commit and the new ones after.

Finding ids derive from (account, rule, key), so a rebuild yields the same ids.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.postgres import PostgresDatastore
from psycopg.errors import DeadlockDetected, LockNotAvailable

from projections.thresholds import Thresholds, thresholds_table
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights
from service.projection.attribution_store import drop_rollup_statements, rollup_statements
from service.projection.bulk_judge import Part, judge_part, parts_of
from service.projection.finding_changes import record_changes
from service.projection.process import SPAWN
from service.projection.projector import Projector, utc_now
from service.projection.view_store import (
    LIVE,
    ProjectedViews,
    analyze_view,
    drop_view,
    rename_view,
)
from service.store.tables import EVENTS_TABLE

log = logging.getLogger(__name__)

SHADOW = f"{LIVE}_next"
REBUILD_LOCK = 3_600_361  # session advisory lock held for a whole rebuild
RETIRED = f"{LIVE}_old"

Progress = Callable[[int, int], None]  # (events done, events in the snapshot)



@dataclass(frozen=True)
class RebuildReport:
    events: int
    accounts: int
    findings: int
    seconds: float


def rebuild(datastore: PostgresDatastore, conninfo: str, thresholds: Thresholds,
            progress: Progress = lambda done, total: None, weights: HealthWeights = DEFAULT_WEIGHTS,
            workers: int | None = None) -> RebuildReport:
    """Rebuild the projected views; the live ones keep serving until the final swap.

    `workers` processes judge the accounts in parallel (default: one per CPU, at most 4).
    """
    started = time.perf_counter()
    count = workers or min(os.cpu_count() or 1, 4)
    with only_rebuild(conninfo):
        return rebuilt(datastore, conninfo, thresholds, progress, weights, started, count)


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
            weights: HealthWeights, started: float, workers: int) -> RebuildReport:
    """The rebuild itself: bulk load into the shadow, catch up with the log, swap."""
    shadow = ProjectedViews(datastore, name=SHADOW)
    with datastore.transaction(commit=True) as curs:
        drop_view(curs, SHADOW)
    shadow.create_table()
    with datastore.transaction(commit=True) as curs:
        for statement in drop_rollup_statements(SHADOW):
            curs.execute(statement)
    now = utc_now()
    phases = Phases()
    events, accounts, findings = bulk_load(shadow, conninfo, thresholds, weights, now, progress, workers)
    phases.done("judging and writing")
    with datastore.transaction(commit=True) as curs:  # the daily sums of the bulk load, then kept by the triggers
        for statement in rollup_statements(SHADOW):
            curs.execute(statement)
    phases.done("attribution's daily sums")
    follower = Projector(shadow, thresholds, batch_size=5000, weights=weights)
    while follower.step() >= follower.batch_size:
        pass
    phases.done("catching up with the log")
    follower.relearn(timedelta(0))  # every month: the bulk load credited them all by no effects
    phases.done("data-driven months")
    with datastore.transaction(commit=True) as curs:
        analyze_view(curs, SHADOW)
    phases.done("planner statistics")
    swap(datastore, follower)
    phases.done("swap")
    log.info("rebuild: %d events of %d accounts; %s", events, accounts, phases)
    return RebuildReport(events, accounts, findings, time.perf_counter() - started)


class Phases:
    """How long each phase of a rebuild took, for its closing log line (where a slow rebuild spends its time)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.taken: list[tuple[str, float]] = []

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.taken.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.taken)


def bulk_load(shadow: ProjectedViews, conninfo: str, thresholds: Thresholds, weights: HealthWeights,
              now: datetime, progress: Progress, workers: int) -> tuple[int, int, int]:
    """Judge every account from one consistent snapshot of the store, in parallel parts, and track its position.

    This transaction exports its snapshot and stays open until every worker is done, so
    each worker reads exactly the events up to the same position.
    """
    with psycopg.connect(conninfo) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.transaction():
            row = connection.execute(
                f"SELECT pg_export_snapshot(), max(notification_id), count(*) FROM {EVENTS_TABLE}"
            ).fetchone()
            assert row is not None
            snapshot, last, total = row[0], row[1] or 0, row[2]
            with shadow.datastore.transaction(commit=True) as curs:
                shadow.set_thresholds(curs, thresholds_table(thresholds))
            parts = [Part(conninfo, snapshot, last, low, high, shadow.name, thresholds_table(thresholds), weights, now)
                     for low, high in parts_of(workers)]
            totals = run_parts(parts, total, progress)
    with shadow.datastore.transaction(commit=True) as curs:
        shadow.write(curs, {}, {}, last or None)
    return totals


def run_parts(parts: list[Part], total: int, progress: Progress) -> tuple[int, int, int]:
    """Run one worker process per part; sum their counts, or stop them all and raise the first error."""
    done = SPAWN.Value("q", 0)
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=judge_part, args=(part, done, results), name="cx360-rebuild-part", daemon=True)
                 for part in parts]
    for process in processes:
        process.start()
    sums = [0, 0, 0]
    finished = False
    try:
        for _ in processes:
            kind, outcome = next_result(results, processes, lambda: progress(done.value, total))
            if kind == "error":
                raise RebuildFailed(f"a rebuild worker failed: {outcome}")
            sums = [a + b for a, b in zip(sums, outcome, strict=True)]
        finished = True
    finally:
        for process in processes:
            if not finished and process.is_alive():
                process.terminate()  # nothing of a failed rebuild may keep writing to the shadow
            process.join(30)
    progress(done.value, total)
    return sums[0], sums[1], sums[2]


def next_result(results: Any, processes: list[Any], tick: Callable[[], None]) -> tuple[str, Any]:
    """The next worker's report; a worker gone without one fails the rebuild."""
    while True:
        try:
            report: tuple[str, Any] = results.get(timeout=0.5)
            return report
        except queue.Empty:
            tick()
            if not any(process.is_alive() for process in processes):
                try:  # a report may have arrived just as the last worker ended
                    report = results.get(timeout=1.0)
                    return report
                except queue.Empty:
                    raise RebuildFailed("a rebuild worker died without a word") from None


class RebuildFailed(RuntimeError):
    """A rebuild worker failed; nothing of the shadow view is swapped in."""


def swap(datastore: PostgresDatastore, shadow_projector: Projector, attempts: int = 5) -> None:
    """Put the shadow in the live view's place, atomically; again if the database broke a deadlock.

    Renaming takes the strongest lock on the live tables; an autovacuum of one of them
    can deadlock with it, and PostgreSQL then cancels
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
        rename_view(curs, LIVE, RETIRED)
        rename_view(curs, SHADOW, LIVE)
        record_changes(curs, f"{RETIRED}_findings", f"{LIVE}_findings", None)  # what subscribers must hear of
        drop_view(curs, RETIRED)
