"""Following the event log (and the finding changes) for subscribers: replay from a position, then live, with no gap at the seam.

The store is the source of truth. A subscriber reads the log by position, in batches,
from its last position; when it has caught up it waits for the next append. Appends
are announced by PostgreSQL NOTIFY (the store's recorder sends one with every append,
through the database, so a subscriber on any replica hears an append through any
other); a notification only wakes readers, which read from their position. If the
listening connection drops, readers poll every `poll_seconds` until it is back.
Because notification ids are given under the store's table lock, in commit order, a
read of "everything after my position" never skips an event that commits later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from uuid import UUID

import asyncpg

from service.reads import EVENTS_TABLE, EventRecord

log = logging.getLogger(__name__)

HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"

STREAM = f"""
SELECT topic, occurred_at, originator_version, notification_id, state FROM {EVENTS_TABLE}
WHERE notification_id > $1 AND notification_id <= $2
  AND ($3::text[] IS NULL OR topic = ANY($3::text[]))
  AND ($4::uuid IS NULL OR originator_id = $4)
ORDER BY notification_id
LIMIT $5
"""
CHANGES_HEAD = "SELECT coalesce(max(position), 0) FROM cx360_finding_changes"

CHANGES = """
SELECT position, change, finding FROM cx360_finding_changes
WHERE position > $1 AND position <= $2 AND ($3::text IS NULL OR account_id = $3)
ORDER BY position
LIMIT $4
"""
SAFETY_WAKE_SECONDS = 30.0  # even when listening, look again this often


class LogNotifier:
    """One LISTEN connection per process; wakes every waiting reader on each append."""

    def __init__(self, dsn: str, channel: str, poll_seconds: float = 1.0) -> None:
        self.dsn = dsn
        self.channel = channel
        self.poll_seconds = poll_seconds
        self.appended = asyncio.Event()
        self.listening = False
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
                connection = await asyncpg.connect(self.dsn)
                try:
                    await connection.add_listener(self.channel, self.notified)
                    self.listening = True
                    while not connection.is_closed():
                        await asyncio.sleep(self.poll_seconds)
                finally:
                    self.listening = False
                    await connection.close()
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("event streams: cannot listen (%s); polling every %.1fs", error, self.poll_seconds)
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


async def follow(
    pool: asyncpg.Pool,
    notifier: LogNotifier,
    after: int,
    *,
    topics: Sequence[str] | None = None,
    stream: UUID | None = None,
    batch: int = 500,
) -> AsyncIterator[EventRecord]:
    """Every event after `after` in log order (filtered), then each new one as it is stored."""
    chosen = list(topics) if topics is not None else None
    async for row in follow_rows(pool, notifier, after, HEAD, STREAM, (chosen, stream), "notification_id", batch):
        yield EventRecord.from_row(row)


async def follow_changes(
    pool: asyncpg.Pool, notifier: LogNotifier, after: int, account_id: str | None, batch: int = 500
) -> AsyncIterator[asyncpg.Record]:
    """Every finding change after `after` (of one account, or all), then each new one."""
    async for row in follow_rows(pool, notifier, after, CHANGES_HEAD, CHANGES, (account_id,), "position", batch):
        yield row


async def follow_rows(
    pool: asyncpg.Pool,
    notifier: LogNotifier,
    after: int,
    head_query: str,
    page_query: str,
    filters: tuple[object, ...],
    position: str,
    batch: int,
) -> AsyncIterator[asyncpg.Record]:
    """Rows after a position, in order, read up to the head as it is at each round.

    Every row up to the head has committed (positions are given in commit order), so
    when fewer than `batch` match, the reader moves to the head and the rows its filters
    leave out are not read again.
    """
    reached = after
    while True:
        signal = notifier.signal()  # before reading, so an append during the read still wakes us
        head = await pool.fetchval(head_query)
        rows = await pool.fetch(page_query, reached, head, *filters, batch)
        for row in rows:
            yield row
            await asyncio.sleep(0)  # a long replay must not keep other subscribers (or requests) waiting
        reached = rows[-1][position] if len(rows) == batch else max(reached, head)
        if len(rows) < batch:
            await notifier.wait(signal)
