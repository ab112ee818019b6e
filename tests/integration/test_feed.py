"""The feed's seams against the real store, with a notifier we wake by hand."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from service.read.accounts import EventRecord
from service.stream.feed import Budget, Feed, FellBehind, NotIssued, Subscriber
from service.stream.logs import EVENT_LOG, event_selection
from tests.integration.test_event_stream import outreach
from tests.support import record, unique


class HandNotifier:
    """Appends are announced only when the test says so; the feed otherwise waits (30 s)."""

    poll_seconds = 0.1

    def __init__(self) -> None:
        self.appended = asyncio.Event()

    def signal(self) -> asyncio.Event:
        return self.appended

    async def wait(self, signal: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await signal.wait()

    def notified(self) -> None:
        self.appended.set()
        self.appended = asyncio.Event()


class GatedPool:
    """The real pool, except that one armed `fetchval` waits for the gate."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.armed = False
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()

    async def fetchval(self, query: str, *args: Any) -> Any:
        value = await self.pool.fetchval(query, *args)
        if self.armed:
            self.armed = False
            self.reached.set()
            await self.gate.wait()
        return value

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(query, *args))


@pytest.fixture
async def pool(client: httpx.Client, database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the database the running service (the `client` fixture's) has made its tables in."""
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as opened:
        yield opened


async def itself(record: EventRecord) -> EventRecord:
    return record


async def test_a_subscriber_joining_while_the_idle_feed_reads_the_head_gets_the_rows_at_once(
    client: httpx.Client, base_url: str, pool: asyncpg.Pool
) -> None:
    gated, notifier = GatedPool(pool), HandNotifier()
    feed: Feed[EventRecord] = Feed(gated, notifier, EVENT_LOG)  # type: ignore[arg-type]
    await feed.start()
    try:
        start = feed.position
        account = unique()
        await asyncio.to_thread(record, client, [outreach(account, n) for n in range(3)])
        gated.armed = True
        notifier.notified()  # the idle feed reads the head ...
        await gated.reached.wait()
        received: list[str] = []

        async def subscribe() -> None:
            async for _, event in feed.follow(start, event_selection(None, account), itself, 100):
                received.append(event.id)

        subscriber = asyncio.create_task(subscribe())  # ... while a subscriber joins at its old position
        while not feed.subscribed:
            await asyncio.sleep(0.01)
        gated.gate.set()
        async with asyncio.timeout(3):  # not the 30 s until the next wake
            while len(received) < 3:
                await asyncio.sleep(0.02)
        subscriber.cancel()
        assert received == [f"{account}-{n}" for n in range(3)]
    finally:
        await feed.stop()


async def test_an_after_beyond_the_head_is_refused(pool: asyncpg.Pool) -> None:
    feed: Feed[EventRecord] = Feed(pool, HandNotifier(), EVENT_LOG)  # type: ignore[arg-type]
    await feed.start()
    try:
        with pytest.raises(NotIssued):
            async for _ in feed.follow(feed.position + 1_000_000, event_selection(None, None), itself, 100):
                pass
    finally:
        await feed.stop()


async def test_the_subscriptions_of_a_connection_share_a_byte_budget(client: httpx.Client, pool: asyncpg.Pool) -> None:
    """Two subscriptions of 1 KB messages under a 10 KB budget: together they hold about 10 messages,
    each then ends with what it holds and where to resume, and the budget is whole again."""
    notifier = HandNotifier()
    feed: Feed[EventRecord] = Feed(pool, notifier, EVENT_LOG)  # type: ignore[arg-type]
    await feed.start()
    try:
        account = unique()
        budget = Budget(10_000)

        async def kilobyte(record: EventRecord) -> str:
            return record.id.ljust(1000, ".")

        streams = [feed.follow(None, event_selection(None, account), kilobyte, 1000, budget=budget) for _ in range(2)]
        firsts = [asyncio.create_task(anext(stream)) for stream in streams]  # both attach, then wait for rows
        while len(feed.followers(account)) < 2:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(record, client, [outreach(account, n) for n in range(30)])
        notifier.notified()
        received: list[list[str]] = [[], []]
        for index, stream in enumerate(streams):
            position, message = await firsts[index]
            received[index].append(message)
            with pytest.raises(FellBehind, match="held more than 10,000 bytes") as ended:
                async with asyncio.timeout(10):  # without the budget it would wait for more rows
                    async for position, message in stream:
                        received[index].append(message)
            assert ended.value.position == position  # resume after the last message it got
        assert 9 <= sum(len(each) for each in received) <= 11 and all(received)
        assert [message.rstrip(".") for message in received[0]] == [f"{account}-{n}" for n in range(len(received[0]))]
        assert budget.used == 0
    finally:
        await feed.stop()


def test_a_subscriber_with_nothing_unsent_takes_its_message_even_when_the_budget_is_spent() -> None:
    """The budget cuts off the subscriptions that hold messages, not one that keeps up."""
    budget = Budget(3000)
    holding, keeping_up = (Subscriber(event_selection(None, None), key, itself, 100, 0, budget) for key in "ab")
    for position in range(3):
        holding.offer(position, "h" * 1000)
    assert budget.used == 3000 and not holding.overflowed
    keeping_up.offer(3, "k" * 1000)  # its queue is empty: admitted, and counted
    assert not keeping_up.overflowed and budget.used == 4000
    holding.offer(4, "h" * 1000)
    assert holding.overflowed and "3,000 bytes" in holding.overflowed
    keeping_up.offer(5, "k" * 1000)  # now it holds one: over the budget
    assert keeping_up.overflowed
    keeping_up.release()
    holding.release()
    assert budget.used == 0
