"""Whether the database answers, as this process last found it, shared by every path that uses it.

A database outage is one event, not one per request: the first path that cannot reach
the database marks it down, which is logged once with the cause; while it is down,
reads and writes answer at once that it is unavailable instead of each waiting for a
connection; a prober tries it a few times a second and marks it back (logged once, with
how long it was away), and whoever holds connections is told to replace them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

PROBE_INTERVAL = 0.25  # seconds between tries while the database is down


class DatabaseUnavailable(Exception):
    """The database cannot be reached now; the caller may retry. The message says so without internals."""


class DatabaseHealth:
    """Up or down, with one log line per change; safe to share between threads."""

    def __init__(self, who: str = "", logger: logging.Logger = log,
                 meanwhile: str = "; answering UNAVAILABLE until it is back") -> None:
        self.who = who  # a prefix for the log lines of a process other than the API's ("projector: ")
        self.meanwhile = meanwhile
        self.log = logger
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.cause = ""
        self.changed = threading.Condition(self.lock)
        self.back_callbacks: list[Callable[[], None]] = []

    @property
    def up(self) -> bool:
        return self.down_since is None

    def check(self) -> None:
        """Raise `DatabaseUnavailable` while the database is known to be down."""
        if self.down_since is not None:
            raise DatabaseUnavailable("the database is unavailable; retry later")

    def failed(self, cause: BaseException | str) -> None:
        """A path could not reach the database: mark it down (logged only if it was up)."""
        with self.lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
            self.cause = describe(cause)
            self.changed.notify_all()
        self.log.warning("%sthe database is unavailable (%s)%s", self.who, self.cause, self.meanwhile)

    def answered(self) -> None:
        """A path reached the database: mark it back (logged only if it was down), and tell the listeners."""
        if self.down_since is None:  # the common case, without the lock
            return
        with self.lock:
            if self.down_since is None:
                return
            away = time.monotonic() - self.down_since
            self.down_since = None
            self.changed.notify_all()
        self.log.warning("%sthe database is back after %.1fs", self.who, away)
        for callback in self.back_callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001  # one listener's failure must not keep the others from knowing
                self.log.exception("%safter the database came back", self.who)

    def on_back(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the thread that noticed) each time the database comes back."""
        self.back_callbacks.append(callback)

    def wait_down(self, timeout: float) -> bool:
        """Until the database is marked down (True) or `timeout` passes (False)."""
        with self.lock:
            return self.changed.wait_for(lambda: self.down_since is not None, timeout)


def describe(cause: BaseException | str) -> str:
    """One line of an error, for a log: libpq's messages span lines and repeat the address."""
    if isinstance(cause, str):
        return cause
    text = " ".join(str(cause).split()) or type(cause).__name__
    return text[:300]


class Prober:
    """While the database is down, try it every `interval` seconds and mark it back when it answers.

    `probe` raises when the database does not answer; it may also repair what it can first
    (start an embedded server that died).
    """

    def __init__(self, health: DatabaseHealth, probe: Callable[[], None], interval: float = PROBE_INTERVAL) -> None:
        self.health = health
        self.probe = probe
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="cx360-database-prober", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        with self.health.lock:
            self.health.changed.notify_all()
        self.thread.join(5)

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.health.up and not self.health.wait_down(1.0):
                continue
            if self.stopping.wait(self.interval):
                return
            try:
                self.probe()
            except Exception as error:  # noqa: BLE001  # whatever it is, the database is not answering yet
                log.debug("database probe failed: %s", describe(error))
                continue
            self.health.answered()
