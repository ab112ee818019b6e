"""The read side's asyncpg pool, bounded in time and plain about outages.

Opening a connection takes at most the pool's connect timeout (`CX360_READ_TIMEOUT_MS`);
waiting for a free one while all are busy, at most `busy_wait` (the service is then
overloaded: slower answers beat errors that clients would retry). A connection the
server ended (a restart, a failover) is replaced and the read tried once more: reads
change nothing, so that is safe. A database that cannot be reached raises
`DatabaseUnavailable`, which the API answers as a retryable error, and is reported to
the process's `DatabaseHealth` (one log line per outage); while it is known to be down,
reads answer at once instead of each trying to connect. A `fetch`, `fetchrow` or `fetchval`
that runs longer than the pool's query timeout (`CX360_QUERY_TIMEOUT_MS`) is cancelled
(asyncpg's own timeout, which asks the server to cancel the statement) and raises
`QueryTimedOut`, which the API shows as is: one heavy question does not hold a connection
for as long as it likes. The process's background readers (the subscriptions' feeds) use a
pool without one: their reads are resumed, never given up.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from service.runtime.health import DatabaseHealth, DatabaseUnavailable

T = TypeVar("T")
if TYPE_CHECKING:  # generic only in the stubs
    from asyncpg.pool import PoolConnectionProxy

    Connection = PoolConnectionProxy[asyncpg.Record]

# The server cannot be reached, or ended the connection: class 08, a shutdown, a start-up in progress. Also
# asyncpg's "cannot switch to state N; another operation (2) is in progress": an idle connection that read the
# server's last message (FATAL, a shutdown) but not yet the close is left in a state no query can start from
# (seen in CI while the server stopped; asyncpg 0.32).
LOST = (OSError, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
        asyncpg.CannotConnectNowError, asyncpg.InternalClientError)
# Whatever a background reader (a feed, the key ring) may meet from the database and outlive by trying again.
DATABASE_FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
# Releasing a connection that broke mid-query fails resetting it (asyncpg then terminates it and frees its slot).
RELEASE_FAILURES = (*LOST, asyncpg.InterfaceError)


BUSY_WAIT = 10.0  # seconds a read waits for a free connection when all are busy


class QueryTimedOut(Exception):
    """A read ran past the pool's query timeout and was cancelled; shown to the client as is."""

    extensions: dict[str, Any] = {"code": "QUERY_TIMEOUT"}  # graphql-core gives an error the extensions of its cause

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the database took longer than the query timeout ({seconds:g} s, CX360_QUERY_TIMEOUT_MS) "
                         "and the read was cancelled; ask for less (a shorter range, fewer accounts or items)")


UNUSABLE_STATE = "cannot switch to state"  # asyncpg's protocol error for a connection left unusable (pinned: 0.32)


def lost(error: BaseException) -> bool:
    """The connection is gone (not a query that ran out of its own time: TimeoutError is an OSError).

    Of asyncpg's `InternalClientError`s only the unusable state is: another (a value it
    cannot decode, say) is a fault of that read, not an outage to answer every read and
    write with.
    """
    if isinstance(error, asyncpg.InternalClientError) and UNUSABLE_STATE not in str(error):
        return False
    return isinstance(error, LOST) and not isinstance(error, TimeoutError)


class ReadPool:
    """`fetch`, `fetchrow`, `fetchval` and `acquire` of an asyncpg pool, with the bounds above."""

    def __init__(self, pool: asyncpg.Pool, health: DatabaseHealth, busy_wait: float = BUSY_WAIT,
                 query_timeout: float | None = None) -> None:
        self.pool = pool
        self.health = health
        self.busy_wait = busy_wait
        self.query_timeout = query_timeout  # seconds a fetch may take (None: as long as it takes)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self.run(lambda connection: connection.fetch(query, *args, timeout=self.query_timeout))

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self.run(lambda connection: connection.fetchrow(query, *args, timeout=self.query_timeout))

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self.run(lambda connection: connection.fetchval(query, *args, timeout=self.query_timeout))

    def without_query_timeout(self) -> ReadPool:
        """The same pool and health for readers whose reads must finish however long they take."""
        return ReadPool(self.pool, self.health, self.busy_wait)

    async def run(self, call: Callable[["Connection"], Awaitable[T]]) -> T:
        """`call` on a connection; once more on a fresh one if the server had ended the first."""
        retried = False
        while True:
            async with self.acquire() as connection:
                try:
                    result = await call(connection)
                except TimeoutError:  # asyncpg's timeout of the statement (the connection's own was in `acquire`)
                    if self.query_timeout is None:
                        raise
                    raise QueryTimedOut(self.query_timeout) from None
                except Exception as error:
                    if not lost(error):
                        raise
                    await self.pool.expire_connections()  # the others are likely gone too: replace them on next use
                    if retried:
                        raise self.unavailable(error) from None
                    retried = True
                    continue
            self.health.answered()
            return result

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator["Connection"]:
        """A connection for several statements; a lost connection inside is `DatabaseUnavailable` too."""
        self.health.check()
        started = time.monotonic()
        try:
            connection = await self.pool.acquire(timeout=self.busy_wait)
        except TimeoutError as error:
            if time.monotonic() - started < self.busy_wait:  # opening a connection timed out: no answer
                raise self.unavailable(error) from None
            raise DatabaseUnavailable(f"no free database connection within {self.busy_wait:g}s; retry later") from None
        except LOST as error:
            raise self.unavailable(error) from None
        try:
            yield connection
        except Exception as error:
            if not lost(error):
                raise
            await self.pool.expire_connections()
            raise self.unavailable(error) from None
        finally:
            with contextlib.suppress(*RELEASE_FAILURES):  # a connection that broke: the pool terminates it
                await self.pool.release(connection)

    def unavailable(self, error: BaseException) -> DatabaseUnavailable:
        self.health.failed(error)
        return DatabaseUnavailable("the database is unavailable; retry later")

    async def close(self) -> None:
        await self.pool.close()
