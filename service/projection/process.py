"""The projector in a process of its own, so judging accounts never competes with serving requests.

Python runs one thread at a time per process; in the API's process, the projector's
work would hold up requests and requests would hold up the projector. The service
starts this process at start-up, restarts it if it dies (with a growing pause), and
stops it on shutdown. Several API replicas may each run one: every write takes the
view's lock, so they take turns and never count an event twice.

The child ignores SIGINT: Ctrl-C in a terminal reaches the whole process group, and the
child must not die with a traceback, nor be restarted, while the API shuts down; the API
stops it through an event, between two of its transactions. SIGTERM stops it the same
way (multiprocessing sends it to children left at exit). A child whose parent died
(killed) stops by itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import resource_tracker
from multiprocessing.synchronize import Event
from typing import Any

from projections.thresholds import thresholds_from, thresholds_table, with_attribution
from projections.view.health import HealthWeights
from service.observability.logs import configure_logging
from service.projection.follower import Follower, StopSignal
from service.projection.projector import REFOLD_BUDGET, Projector
from service.projection.view_store import open_view_store
from service.settings import Settings, connection_params

log = logging.getLogger(__name__)

HEALTHY_RUN_SECONDS = 60.0
POOL_WAIT = 1.0  # seconds: the projector is its pool's only user; a longer wait would only delay noticing the database back
SPAWN = multiprocessing.get_context("spawn")  # no fork: the parent holds threads and connections


@dataclass(frozen=True)
class ProjectorConfig:
    """What the child needs, in plain picklable values."""

    url: str
    channel: str
    thresholds: dict[str, dict[str, Any]]
    weights: HealthWeights
    batch_size: int
    poll_seconds: float
    view_delay_seconds: float
    log_format: str = "text"
    cache_accounts: int = 10_000
    relearn_seconds: float = 60.0

    @classmethod
    def of(cls, settings: Settings, url: str, channel: str) -> ProjectorConfig:
        return cls(url, channel, thresholds_table(with_attribution(settings.thresholds, settings.attribution)),
                   settings.health_weights,
                   settings.projector_batch_events, settings.projector_poll_seconds, settings.view_delay_seconds,
                   settings.log_format, settings.projector_cache_accounts, settings.attribution_relearn_seconds)


def follower_of(config: ProjectorConfig, stopping: StopSignal | None = None, *, freeze_gc: bool = False,
                on_relisten: Callable[[], None] | None = None) -> Follower:
    """The projector as configured, on a view store of its own, with the follower that wakes it."""
    view = open_view_store(connection_params(config.url), wait=POOL_WAIT)
    projector = Projector(view, thresholds_from(config.thresholds), batch_size=config.batch_size,
                          weights=config.weights, view_delay=timedelta(seconds=config.view_delay_seconds),
                          refold_budget=REFOLD_BUDGET, cache_accounts=config.cache_accounts,
                          relearn_every=timedelta(seconds=config.relearn_seconds))
    return Follower(projector, config.url, config.channel, poll_seconds=config.poll_seconds,
                    stopping=stopping, freeze_gc=freeze_gc, on_relisten=on_relisten)


def run(config: ProjectorConfig, stopping: Event, parent: int) -> None:
    """The child's main: follow the log until told to stop, or until the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent decides when the child stops
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked from birth (see `spawn`)
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    configure_logging(config.log_format)
    follower = follower_of(config, OrParentGone(stopping, parent, terminated), freeze_gc=True)
    try:
        follower.run()
    finally:
        follower.projector.view.datastore.close()


class OrParentGone:
    """The parent's stop event, which also counts as set after SIGTERM and once the parent is gone
    (killed: it cannot set it)."""

    def __init__(self, stopping: Event, parent: int, terminated: threading.Event) -> None:
        self.stopping = stopping
        self.parent = parent
        self.terminated = terminated

    def is_set(self) -> bool:
        return self.stopping.is_set() or self.terminated.is_set() or os.getppid() != self.parent

    def set(self) -> None:
        self.stopping.set()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if left <= 0:
                return False
            self.stopping.wait(left)
        return True


class ProjectorThread:
    """The projector in a thread of the API's process (`CX360_PROJECTOR=thread`)."""

    def __init__(self, config: ProjectorConfig, on_relisten: Callable[[], None] | None = None) -> None:
        self.follower = follower_of(config, on_relisten=on_relisten)
        self.follower.start()

    def stop(self) -> None:
        self.follower.stop()
        self.follower.projector.view.datastore.close()


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread, and so in a child started meanwhile, which inherits the mask.

    A child takes seconds to import its modules before it can ignore SIGINT; a Ctrl-C
    meanwhile would end it with a traceback. Blocked, the signal waits, and is discarded
    when the child ignores it. (multiprocessing's resource tracker unblocks SIGINT in the
    calling thread when it starts, so it is started first.)
    """
    resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


class ProjectorProcess:
    """Starts the projector's process, restarts it when it dies, stops it on shutdown."""

    def __init__(self, config: ProjectorConfig, *, max_pause: float = 30.0) -> None:
        self.config = config
        self.max_pause = max_pause
        self.stopping = SPAWN.Event()
        self.process: Any = None
        self.spawning = threading.Lock()
        self.started = 0.0
        self.watcher = threading.Thread(target=self.watch, name="cx360-projector-watch", daemon=True)

    def start(self) -> None:
        self.spawn()
        self.watcher.start()

    def spawn(self) -> None:
        """Start a child, unless stopping (under a lock, so `stop` never misses a child)."""
        with self.spawning:
            if self.stopping.is_set():
                return
            self.process = SPAWN.Process(target=run, args=(self.config, self.stopping, os.getpid()),
                                         name="cx360-projector", daemon=True)
            with sigint_blocked():
                self.process.start()
            self.started = time.monotonic()

    def watch(self) -> None:
        """Restart the child when it dies: soon after a long healthy run, later after quick failures."""
        pause = 0.5
        while not self.stopping.is_set():
            self.process.join()
            if self.stopping.is_set():
                return
            if time.monotonic() - self.started > HEALTHY_RUN_SECONDS:
                pause = 0.5
            log.error("the projector process exited with code %s; restarting in %.1fs", self.process.exitcode, pause)
            if self.stopping.wait(pause):
                return
            pause = min(pause * 2, self.max_pause)
            self.spawn()

    def stop(self, timeout: float = 10.0) -> None:
        """Tell the child to stop and wait for it; kill it if it does not.

        Only the watcher waits on the child (two threads reaping one process race: the
        loser takes it for alive); it returns once the child has exited.
        """
        with self.spawning:
            self.stopping.set()
        if not self.watcher.is_alive():  # never started, or already done
            return
        self.watcher.join(timeout)
        if self.watcher.is_alive():
            log.warning("the projector process did not stop in %.0fs; killing it", timeout)
            self.process.kill()
            self.watcher.join(timeout)
