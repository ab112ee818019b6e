"""Runs the projector in a thread: woken by PostgreSQL NOTIFY, with polling as the fallback.

The event store's recorder sends a NOTIFY on its channel with every append. The
follower LISTENs on its own connection; a notification only wakes it, and it then reads
the log from its tracked position, so a lost notification costs latency, never an
event. When the listening connection drops, it polls every `poll_seconds` and tries to
listen again. It also wakes when the next account comes due.

While the database is down it says so once (its `DatabaseHealth`), tries again every
`poll_seconds`, and once the database is back says from which position it resumes.
"""

from __future__ import annotations

import gc
import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Protocol

import psycopg
from eventsourcing import persistence
from psycopg import sql
from psycopg_pool import PoolTimeout

from service.projection.projector import Projector
from service.runtime.database import CONNECT_TIMEOUT
from service.runtime.health import DatabaseHealth

log = logging.getLogger(__name__)

DUE_PER_STEP = 100  # at most this many accounts judged again per transaction when their time comes
DUE_BUDGET = 0.02  # seconds of judging due accounts per turn, between two looks at new events (one
# account's view may run past it: no account is begun after it)
DUE_SHARE = 0.01  # seconds of it that due accounts keep when new events are waiting: after that they yield

# The store library re-raises the driver's errors as its own classes; a pool may time out.
TRANSIENT = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
    PoolTimeout,
)


class StopSignal(Protocol):
    """A threading or multiprocessing event."""

    def is_set(self) -> bool: ...
    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Follower:
    def __init__(
        self,
        projector: Projector,
        conninfo: str,
        channel: str,
        *,
        poll_seconds: float = 1.0,
        stopping: StopSignal | None = None,
        freeze_gc: bool = False,
        on_relisten: Callable[[], None] | None = None,
        health: DatabaseHealth | None = None,
    ) -> None:
        self.freeze_gc = freeze_gc
        self.learn_seconds = 1.0  # a look at the stale data-driven months a second (`learn`): a month over waits no
        # longer; the running one waits its turn (`Projector.relearn_every`)
        self.on_relisten = on_relisten  # told when listening again after a lost or refused connection
        self.interrupted = False
        self.projector = projector
        self.conninfo = conninfo
        self.channel = channel
        self.poll_seconds = poll_seconds
        self.stopping: StopSignal = stopping if stopping is not None else threading.Event()
        self.listener: psycopg.Connection[tuple[object, ...]] | None = None
        self.health = health if health is not None else DatabaseHealth("projector: ", meanwhile="")
        self.thread = threading.Thread(target=self.run, name="cx360-projector", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def run(self) -> None:
        learner = threading.Thread(target=self.learn, name="cx360-learning", daemon=True)
        learner.start()
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.catch_up()
                    wait = 0.0 if busy else self.timeout()
                except TRANSIENT as error:  # logged once per outage, by the health
                    self.health.failed(error)
                    self.stopping.wait(self.poll_seconds)
                    continue
                self.health.answered()
                if wait:
                    self.wait(wait)
        finally:
            self.close_listener()
            learner.join(10)

    def learn(self) -> None:
        """Learn the data-driven months due again, beside the projector's turns (`Projector.relearn`): the reading
        runs with no lock, so new events keep being taken meanwhile."""
        failing = False  # logged once until it works again: an outage would log every second
        while not self.stopping.wait(self.learn_seconds):
            try:
                self.projector.relearn()
            except Exception as error:  # noqa: BLE001  # a database outage: the projector's turns report it too
                if not failing:
                    log.warning("projector: learning the data-driven months failed, trying again: %s", error)
                failing = True
                self.stopping.wait(self.poll_seconds)
                continue
            if failing:
                log.info("projector: learning the data-driven months again")
            failing = False

    def catch_up(self) -> bool:
        """Take in what there is; True if a full batch suggests there is more."""
        self.take_notifications()  # the step reads every event there is: they are told of
        taken = self.projector.step()
        _, more = self.judge_due()
        if self.freeze_gc:
            # In the projector's own process: the history cache holds millions of objects
            # that live long and form no cycles; a full collection scanning them all would pause
            # the projector for a good part of a second every few seconds.
            # Frozen objects are still freed when no longer referenced; the collector only
            # stops scanning them for cycles.
            gc.freeze()
        return taken >= self.projector.batch_size or more

    def judge_due(self) -> tuple[int, bool]:
        """Judge the accounts that have come due, for at most about `DUE_BUDGET`: how many, and whether more may be.

        New events come first: their findings are what a producer waits for, while a view
        is judged `view_delay` after its events anyway. Once new events are waiting (a
        notification has come), due accounts yield after `DUE_SHARE`, which they keep so
        that views are not starved under a steady load: they fall behind then, each
        account's view judged once for all its events since, rather than the findings.
        One transaction takes as many accounts as the budget allows (up to
        `DUE_PER_STEP`): a step's reads and writes cost much the same for one as for many.
        """
        started = time.monotonic()
        until, share = started + DUE_BUDGET, started + DUE_SHARE

        def enough() -> bool:
            now = time.monotonic()
            return now > until or (now > share and self.events_waiting())

        judged = 0
        while True:  # one account at least: views are never starved
            due = self.projector.step_due(DUE_PER_STEP, enough)
            judged += due
            if due < DUE_PER_STEP or enough():  # so new events never wait long
                return judged, due == DUE_PER_STEP

    def events_waiting(self) -> bool:
        """Whether a notification of new events has come since the last step began (left for it to take)."""
        listener = self.listener
        if listener is None or listener.closed:
            return False
        try:
            poll = select.poll()
            poll.register(listener.fileno(), select.POLLIN)
            return bool(poll.poll(0))
        except (OSError, ValueError, psycopg.Error):  # a connection closing meanwhile: `wait` finds out
            return False

    def take_notifications(self) -> None:
        """Take the notifications that have come, without waiting: a step is about to read what they tell of.

        While accounts are due the loop does not wait, and so does not take them: one left
        there would make every turn of due accounts yield as if new events were waiting.
        """
        listener = self.listener
        if listener is None or listener.closed:
            return
        try:
            for _ in listener.notifies(timeout=0):
                pass
        except TRANSIENT as error:  # polling meanwhile, as in `wait`
            self.lost_listener(error)

    def lost_listener(self, error: Exception) -> None:
        log.debug("projector: lost the listening connection (%s); polling meanwhile", error)
        self.close_listener()
        self.interrupted = True

    def timeout(self) -> float:
        due = self.projector.next_due()
        if due is None:
            return self.poll_seconds
        seconds = (due - self.projector.clock()).total_seconds()
        return max(0.0, min(self.poll_seconds, seconds))

    def wait(self, timeout: float) -> None:
        """Until a notification, the timeout, or a stop (checked at least every second)."""
        listener = self.listening()
        if listener is None:
            self.stopping.wait(min(timeout, 1.0))
            return
        try:
            for _ in listener.notifies(timeout=min(timeout, 1.0), stop_after=1):
                pass
        except TRANSIENT as error:  # polling meanwhile; the database's state shows in catching up
            self.lost_listener(error)

    def listening(self) -> psycopg.Connection[tuple[object, ...]] | None:
        if self.listener is not None and not self.listener.closed:
            return self.listener
        try:
            self.listener = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            self.listener.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(self.channel)))
        except TRANSIENT as error:  # polling meanwhile; the database's state shows in catching up
            log.debug("projector: cannot listen (%s); polling every %.1fs", error, self.poll_seconds)
            self.close_listener()
            self.interrupted = True
            return None
        if self.interrupted and self.on_relisten is not None:
            self.on_relisten()
        self.interrupted = False
        return self.listener

    def close_listener(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
