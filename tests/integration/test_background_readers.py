"""The process's background readers (feeds, notifiers) outlive what the database throws at them.

CI once saw a feed die: after the server restarted, a read met asyncpg's "cannot switch to
state 12; another operation (2) is in progress" (an idle connection that had read the
server's last message but not yet the close), an error nobody caught, so every live
subscription went silent. These tests put that error, and one nobody foresaw, in the way
of a real pool on the real database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from service.read.accounts import EventRecord
from service.read.pool import ReadPool
from service.runtime.health import DatabaseHealth
from service.stream.feed import Feed
from service.stream.logs import EVENT_LOG, event_selection
from service.stream.notifier import LogNotifier
from tests.integration.test_event_stream import outreach
from tests.integration.test_feed import HandNotifier, itself
from tests.support import record, unique

UNUSABLE = asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as opened:
        yield opened


class FailingOnce:
    """The real pool, except that the next `fetch` raises `error` instead of reading."""

    def __init__(self, pool: asyncpg.Pool, error: Exception) -> None:
        self.pool = pool
        self.error: Exception | None = error

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self.pool.fetchval(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return list(await self.pool.fetch(query, *args))


async def test_a_read_on_a_connection_left_unusable_is_tried_again_on_a_fresh_one(pool: asyncpg.Pool) -> None:
    health = DatabaseHealth()
    reads = ReadPool(pool, health)
    tries: list[int] = []

    async def select_one(connection: Any) -> int:
        tries.append(1)
        if len(tries) == 1:
            raise UNUSABLE
        return int(await connection.fetchval("SELECT 1"))

    assert await reads.run(select_one) == 1
    assert len(tries) == 2
    health.check()  # a retried read is not an outage


async def test_another_internal_error_fails_its_read_alone_and_is_no_outage(pool: asyncpg.Pool) -> None:
    """asyncpg raised this one for an array inside an anonymous record on a new connection: the read's own fault.
    Taken for a lost connection, it made the whole process answer UNAVAILABLE, writes included."""
    health = DatabaseHealth()
    reads = ReadPool(pool, health)
    tries: list[int] = []

    async def undecodable(connection: Any) -> int:
        tries.append(1)
        raise asyncpg.InternalClientError("no decoder for composite type element in position 5 of type OID 1016")

    with pytest.raises(asyncpg.InternalClientError, match="no decoder"):
        await reads.run(undecodable)
    assert len(tries) == 1  # not tried again as if its connection had gone
    health.check()  # and the database is not taken for down
    assert await reads.fetchval("SELECT 1") == 1


@pytest.mark.parametrize("error", [UNUSABLE, RuntimeError("nobody foresaw this")], ids=["unusable", "unforeseen"])
async def test_the_feed_outlives_a_failed_read_and_hands_out_every_row(
    client: httpx.Client, pool: asyncpg.Pool, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = HandNotifier()
    failing = FailingOnce(pool, error)
    feed: Feed[EventRecord] = Feed(failing, notifier, EVENT_LOG)  # type: ignore[arg-type]
    await feed.start()
    account = unique()
    received: list[str] = []

    async def subscribe() -> None:
        async for _, event in feed.follow(None, event_selection(None, account), itself, 100):
            received.append(event.id)

    subscriber = asyncio.create_task(subscribe())
    try:
        while not feed.subscribed:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(record, client, [outreach(account, n) for n in range(2)])
        notifier.notified()  # the first read fails ...
        async with asyncio.timeout(5):
            while failing.error is not None:
                await asyncio.sleep(0.01)
        notifier.notified()  # ... and the feed is still there to read again
        async with asyncio.timeout(5):
            while len(received) < 2:
                await asyncio.sleep(0.02)
        assert received == [f"{account}-0", f"{account}-1"]
        assert feed.task is not None and not feed.task.done()
        assert [record for record in caplog.records
                if record.name == "service.stream.feed" and record.levelno >= logging.WARNING], "the failure was not logged"
    finally:
        subscriber.cancel()
        await feed.stop()


async def test_a_notifier_wakes_its_readers_once_it_listens(database_url: str) -> None:
    """An append announced before LISTEN took effect was never heard: readers must look again then."""
    notifier = LogNotifier(database_url, f"cx360_wake_{unique()}".replace("-", "_")[:60], poll_seconds=0.1)
    signal = notifier.signal()  # a reader that read before the listener was up
    await notifier.start()
    try:
        async with asyncio.timeout(10):
            await signal.wait()
        assert notifier.listening
    finally:
        await notifier.stop()
