"""Following the event log (and the finding changes) for subscribers: replay from a position, then live, with no gap at the seam.

The store is the source of truth. Each process has one `Feed` per log: it reads every
new row once, in order, and hands it to each subscriber it matches, rendered once per
distinct subscription (`key`). Appends are announced by PostgreSQL NOTIFY (the store's
recorder sends one with every append, through the database, so a feed on any replica
hears an append through any other); a notification only wakes the feed, which reads
from its position. If the listening connection drops, feeds poll every `poll_seconds`
until it is back. Because notification ids are given under the store's table lock, in
commit order, a read of "everything after my position" never skips a row that commits
later.

A subscriber with `after` first replays from the database on its own, up to the feed's
position, then joins the feed in the same step of the event loop, so the seam has no gap
and no duplicate. Each subscriber has a bounded buffer; one that leaves more than
`capacity` messages unread is dropped by the feed and told where to resume
(`FellBehind`), so it can neither grow the server's memory nor hold anyone else up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import asyncpg

from service.observability.metrics import Metrics
from service.read.pool import DATABASE_FAILURES, ReadPool
from service.runtime.health import DatabaseUnavailable
from service.stream.logs import Log, Selection
from service.stream.notifier import LogNotifier

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Out = TypeVar("Out")
TRANSIENT = DATABASE_FAILURES


class StreamEnded(Exception):
    """A subscription the server ended; the subscriber resumes after `position`."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(reason)
        self.position = position


class FellBehind(StreamEnded):
    """A subscriber left more messages unread than its buffer (or its connection's budget) holds."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(reason, position)


class Budget:
    """The bytes of messages all the subscriptions of one connection may hold unsent together.

    A subscriber's buffer counts messages; a connection may hold many subscriptions of
    large events, so their sum is bounded in bytes too. A subscriber with nothing unsent
    always takes its next message (counted all the same): it keeps up, so an event larger
    than the budget still reaches it, and the subscriptions cut off are those that hold
    messages while the budget is spent.
    """

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int, *, always: bool = False) -> bool:
        if not always and self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give_back(self, size: int) -> None:
        self.used -= size


class RowFailed(StreamEnded):
    """A row of the log could not be decoded or rendered for this subscriber (logged with its position)."""


class NotIssued(Exception):
    """An `after` beyond the log's head: not a position this service has given out."""

    def __init__(self, position: int) -> None:
        super().__init__(f"{position} is beyond the last position")
        self.position = position


class Subscriber(Generic[Item, Out]):
    """One subscription's bounded buffer, filled by its feed, emptied as it sends."""

    __slots__ = ("arrived", "budget", "capacity", "failure", "floor", "key", "overflowed", "queue", "render",
                 "selection")

    def __init__(self, selection: Selection[Item], key: Hashable, render: Callable[[Item], Awaitable[Out]],
                 capacity: int, floor: int, budget: Budget | None = None) -> None:
        self.selection = selection
        self.key = key  # subscribers with equal keys render a row alike: it is rendered once for all of them
        self.render = render
        self.capacity = capacity
        self.budget = budget
        self.floor = floor  # it has (or replayed) everything up to here
        self.queue: deque[tuple[int, Out, int]] = deque()  # (position, message, its size in the budget)
        self.arrived = asyncio.Event()
        self.overflowed: str | None = None  # why it was cut off
        self.failure: BaseException | None = None

    def offer(self, position: int, message: Out) -> None:
        size = size_of(message)
        if len(self.queue) >= self.capacity:
            self.overflowed = f"more than {self.capacity} messages were waiting unread"
        elif self.budget is not None and not self.budget.take(size, always=not self.queue):
            self.overflowed = (f"the connection's subscriptions held more than {self.budget.limit:,} bytes "
                               "of messages unread")
        else:
            self.queue.append((position, message, size))
        self.arrived.set()

    def took(self, size: int) -> None:
        if self.budget is not None:
            self.budget.give_back(size)

    def release(self) -> None:
        """Give back the budget of messages that will not be sent (the subscription ended early)."""
        while self.queue:
            self.took(self.queue.popleft()[2])

    def fail(self, error: BaseException) -> None:
        self.failure = error
        self.arrived.set()


def size_of(message: object) -> int:
    """Bytes of a message as sent (UTF-8); a str knows at no cost whether it is all ASCII."""
    if isinstance(message, str):
        return len(message) if message.isascii() else len(message.encode())
    return len(message) if isinstance(message, bytes) else 0


class Feed(Generic[Item]):
    """Reads one log once for the whole process and hands each row to the subscribers it matches."""

    def __init__(self, pool: ReadPool, notifier: LogNotifier, source: Log[Item], batch: int = 500,
                 burst: int = 250, metrics: Metrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else Metrics()
        self.pool = pool
        self.notifier = notifier
        self.log = source
        self.batch = batch
        self.burst = max(1, burst)  # rows handed out before subscribers get to send (less than a buffer holds)
        self.position = 0
        self.everywhere: set[Subscriber[Item, Any]] = set()  # subscribers of every account
        self.by_account: dict[str, set[Subscriber[Item, Any]]] = {}
        self.replaying = 0  # subscribers replaying from `after` on their own, not attached yet
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.position = await self.pool.fetchval(self.log.head)
        self.task = asyncio.create_task(self.run(), name=f"cx360-feed-{self.log.position}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            except Exception:  # run() outlives every failure; one that got through must not fail the shutdown
                log.exception("subscription feed %s: ended with an error", self.log.name)

    @property
    def subscribed(self) -> bool:
        return bool(self.everywhere or self.by_account)

    @property
    def subscriptions(self) -> int:
        """Subscriptions following this feed now, replaying or live (read when metrics are scraped)."""
        return self.replaying + len(self.everywhere) + sum(map(len, self.by_account.values()))

    async def follow(
        self,
        after: int | None,
        selection: Selection[Item],
        render: Callable[[Item], Awaitable[Out]],
        capacity: int,
        key: Hashable | None = None,
        budget: Budget | None = None,
    ) -> AsyncGenerator[tuple[int, Out], None]:
        """(position, message) for every matching row after `after` (or from now), replayed then live.

        Raises `NotIssued` for an `after` beyond the head. Ends with `FellBehind` once the
        subscriber has received every message it was handed before its buffer overflowed,
        or `RowFailed` when a row it wants cannot be rendered; both carry the position to
        resume after.
        """
        head = await self.pool.fetchval(self.log.head)
        if after is not None and after > head:
            raise NotIssued(after)
        reached = head if after is None else after  # without `after`: what is stored from now on
        self.replaying += 1
        try:
            while reached < self.position:  # replay on our own, up to where the feed is
                target = self.position
                rows = await self.replay(reached, target, selection)
                for row in rows:
                    position = row[self.log.position]
                    try:
                        message = await render(self.log.decode(row))
                    except Exception as error:
                        log.exception("subscription: cannot hand out the row at position %d", position)
                        raise RowFailed("a message could not be rendered; it has been logged", reached) from error
                    yield position, message
                    reached = position
                    await asyncio.sleep(0)  # a long replay must not keep other subscribers (or requests) waiting
                reached = rows[-1][self.log.position] if len(rows) == self.batch else target
        finally:
            self.replaying -= 1
        # No await since the loop's test: the feed has handed out nothing after `reached` yet.
        subscriber: Subscriber[Item, Out] = Subscriber(selection, key if key is not None else object(), render,
                                                       capacity, reached, budget)
        self.attach(subscriber)
        try:
            while True:
                await subscriber.arrived.wait()
                subscriber.arrived.clear()
                while subscriber.queue:
                    reached, message, size = subscriber.queue.popleft()
                    subscriber.took(size)
                    yield reached, message
                if subscriber.failure is not None:
                    raise RowFailed("a message could not be rendered; it has been logged", reached)
                if subscriber.overflowed:
                    raise FellBehind(reached, subscriber.overflowed)
        finally:
            self.detach(subscriber)
            subscriber.release()

    async def replay(self, after: int, upto: int, selection: Selection[Item]) -> list[asyncpg.Record]:
        """One page of a subscriber's replay; a lost connection is retried, not the subscriber's problem."""
        while True:
            try:
                return await self.pool.fetch(self.log.matching, after, upto, *selection.parameters, self.batch)
            except DatabaseUnavailable:  # an outage, logged once by the database's health
                await asyncio.sleep(self.notifier.poll_seconds)
            except TRANSIENT as error:
                log.warning("subscription: cannot read the log (%s); trying again", error)
                await asyncio.sleep(self.notifier.poll_seconds)

    def attach(self, subscriber: Subscriber[Item, Any]) -> None:
        account = subscriber.selection.account
        if account is None:
            self.everywhere.add(subscriber)
        else:
            self.by_account.setdefault(account, set()).add(subscriber)

    def detach(self, subscriber: Subscriber[Item, Any]) -> None:
        account = subscriber.selection.account
        if account is None:
            self.everywhere.discard(subscriber)
        elif (followers := self.by_account.get(account)) is not None:
            followers.discard(subscriber)
            if not followers:
                del self.by_account[account]

    async def run(self) -> None:
        while True:
            signal = self.notifier.signal()  # before reading, so an append during the read still wakes us
            more = False
            try:
                if not self.subscribed:  # nobody to hand rows to: only keep up with the head
                    head = await self.pool.fetchval(self.log.head)
                    if self.subscribed:  # one joined at the old position meanwhile: read for it now
                        more = True
                    else:
                        self.position = max(self.position, head)
                else:
                    rows = await self.pool.fetch(self.log.after, self.position, self.batch)
                    await self.deliver(rows)
                    more = len(rows) == self.batch
            except DatabaseUnavailable:  # an outage, logged once by the database's health; resume from the position
                await asyncio.sleep(self.notifier.poll_seconds)
                continue
            except TRANSIENT as error:
                log.warning("subscription feed: cannot read the log (%s); trying again", error)
                await asyncio.sleep(self.notifier.poll_seconds)
                continue
            except Exception:  # a feed that died would end every live subscription without a word: log, go on
                log.exception("subscription feed %s: unexpected error at position %d; trying again",
                              self.log.name, self.position)
                await asyncio.sleep(self.notifier.poll_seconds)
                continue
            if not more:
                await self.notifier.wait(signal)

    def followers(self, account: str) -> list[Subscriber[Item, Any]]:
        return [*self.everywhere, *self.by_account.get(account, ())]

    async def deliver(self, rows: Sequence[asyncpg.Record]) -> None:
        """Hand each row to its subscribers, rendered once per key; a row that fails ends only theirs."""
        for count, row in enumerate(rows, 1):
            position = row[self.log.position]
            try:
                item = self.log.decode(row)
                account = self.log.account_of(item)
            except Exception as error:  # every subscriber might have wanted it: none can go on without it
                log.exception("subscription feed: cannot decode the row at position %d", position)
                self.fail([*self.everywhere, *(s for each in self.by_account.values() for s in each)], error)
                self.position = position
                continue
            messages: dict[Hashable, Any] = {}
            failures: dict[Hashable, Exception] = {}
            while True:  # subscribers may join while a render waits: look again after each
                targets = [subscriber for subscriber in self.followers(account)
                           if subscriber.floor < position and subscriber.selection.wants(item)]
                missing = next((s for s in targets if s.key not in messages and s.key not in failures), None)
                if missing is None:
                    break
                try:
                    messages[missing.key] = await missing.render(item)
                except Exception as error:
                    log.exception("subscription feed: cannot render the row at position %d", position)
                    failures[missing.key] = error
            for subscriber in targets:
                if subscriber.key in failures:  # only the subscribers of that rendering end
                    self.fail([subscriber], failures[subscriber.key])
                    continue
                subscriber.offer(position, messages[subscriber.key])
                if subscriber.overflowed:
                    self.detach(subscriber)
                    cause = "buffer" if len(subscriber.queue) >= subscriber.capacity else "connection_budget"
                    self.metrics.cut_off(self.log.name, cause)
            self.position = position
            if count % self.burst == 0:  # let subscribers send: a burst longer than a buffer is not a slow reader
                await asyncio.sleep(0)

    def fail(self, subscribers: list[Subscriber[Item, Any]], error: Exception) -> None:
        for subscriber in subscribers:
            subscriber.fail(error)
            self.detach(subscriber)
