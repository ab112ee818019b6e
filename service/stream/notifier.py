"""One LISTEN connection per process for a log's appends, with polling while it is down.

A notification only wakes readers; they read from their own position, so a lost
notification costs latency, never a row. Failing to listen marks the database down in
the process's health (which logs an outage once), listening again marks it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from service.observability.metrics import Metrics
from service.read.pool import DATABASE_FAILURES
from service.runtime.health import DatabaseHealth

log = logging.getLogger(__name__)

SAFETY_WAKE_SECONDS = 30.0  # even when listening, look again this often


class LogNotifier:
    """One LISTEN connection per process; wakes every waiting reader on each append."""

    def __init__(self, dsn: str, channel: str, poll_seconds: float = 1.0, *, name: str | None = None,
                 metrics: Metrics | None = None, health: DatabaseHealth | None = None,
                 connect_timeout: float = 2.0) -> None:
        self.dsn = dsn
        self.channel = channel
        self.poll_seconds = poll_seconds
        self.name = name or channel  # in metrics' labels
        self.metrics = metrics if metrics is not None else Metrics()
        self.health = health if health is not None else DatabaseHealth()
        self.connect_timeout = connect_timeout
        self.appended = asyncio.Event()
        self.listening = False
        self.up = asyncio.Event()  # set once the first LISTEN is in place
        self.interrupted = False  # a listening connection was lost, or could not be opened, since the last one
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.listen(), name="cx360-log-notifier")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def listen(self) -> None:
        """Keep a listening connection; while it is down, readers poll."""
        while True:
            try:
                connection = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
                try:
                    await connection.add_listener(self.channel, self.notified)
                    self.listening = True
                    self.up.set()
                    self.health.answered()
                    if self.interrupted:
                        self.metrics.reconnected(self.name)
                        self.interrupted = False
                    self.notified()  # an append announced before LISTEN took effect was not heard: read again
                    while not connection.is_closed():
                        await asyncio.sleep(self.poll_seconds)
                finally:
                    self.listening = False
                    await connection.close()
            except DATABASE_FAILURES as error:  # logged once per outage, by the health
                self.health.failed(error)
            except Exception:  # without this task readers only poll: log, go on listening
                log.exception("notifier %s: unexpected error; listening again", self.name)
            self.interrupted = True
            self.notified()  # wake readers: they read what they may have missed
            await asyncio.sleep(self.poll_seconds)

    def notified(self, *_: object) -> None:
        self.appended.set()
        self.appended = asyncio.Event()

    def signal(self) -> asyncio.Event:
        """Take before reading: it is set by the first append announced after this call."""
        return self.appended

    async def wait(self, signal: asyncio.Event) -> None:
        """Until `signal` is set, or the poll interval when not listening."""
        timeout = SAFETY_WAKE_SECONDS if self.listening else self.poll_seconds
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):  # not wait_for: on 3.11 it may swallow a cancellation
                await signal.wait()
