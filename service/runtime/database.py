"""The database the service runs on: `DATABASE_URL`, or the embedded server, and the store library's pool of it.

A command opens the database before anything else: a `DATABASE_URL` that cannot be
reached, or an embedded server that cannot start, stops it within seconds with one line
naming the address and the cause (`DatabaseUnreachable`, `EmbeddedPostgresError`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg_pool import ConnectionPool

from service.runtime.embedded_postgres import EmbeddedPostgres
from service.settings import Settings, connection_params

Factory = TypeVar("Factory")

CONNECT_TIMEOUT = 2  # seconds to open a connection (libpq's shortest)
RECONNECT_SECONDS = 0.5  # how long a pool keeps trying to replace a connection before it gives up on it
START_TIMEOUT = 8.0  # seconds a command waits for its database at start
STARTING_UP = "57P03"  # the server is starting (or shutting down): worth waiting for at start


class DatabaseUnreachable(Exception):
    """The database at `DATABASE_URL` did not answer; the message names its address and the cause."""

    def __init__(self, where: str, cause: str) -> None:
        super().__init__(f"cannot reach the database at {where}: {cause}")


class DatabaseUnsupported(Exception):
    """The server at `DATABASE_URL` is older than the PostgreSQL cx360 needs."""

    def __init__(self, where: str, version: int) -> None:
        super().__init__(f"the database at {where} runs PostgreSQL {version // 10000}.{version % 10000}; cx360 needs "
                         f"PostgreSQL {OLDEST_SERVER // 10000} or later (its attribution tables use NULLS NOT DISTINCT)")


OLDEST_SERVER = 150000  # server_version_num of PostgreSQL 15


@dataclass(frozen=True)
class Database:
    """The database a process runs on, and the embedded server behind it, if any."""

    url: str
    embedded: EmbeddedPostgres | None = None

    def probe(self) -> None:
        """Raise unless the database answers; an embedded server that died is started again first."""
        if self.embedded is not None and not self.embedded.running():
            self.embedded.restart()
        with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT) as connection:
            connection.execute("SELECT 1")

    def close(self) -> None:
        """Leave the embedded server (it stops when no other process of ours uses it)."""
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings, timeout: float = START_TIMEOUT) -> Database:
    """`DATABASE_URL`, checked to answer within `timeout`; or the embedded server, started (or joined)."""
    if settings.database_url is not None:
        check_reachable(settings.database_url, timeout)
        return Database(settings.database_url)
    embedded = EmbeddedPostgres(settings.data_dir)
    return Database(embedded.start(), embedded)


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database's URL: `DATABASE_URL` (checked), or the embedded server (joined if already running)."""
    opened = open_database(settings)
    try:
        yield opened.url
    finally:
        opened.close()


def check_reachable(url: str, timeout: float = START_TIMEOUT) -> None:
    """Connect once (waiting while the server says it is starting up); raise `DatabaseUnreachable` if it fails,
    `DatabaseUnsupported` if the server is older than PostgreSQL 15."""
    params = connection_params(url)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            with psycopg.connect(url, connect_timeout=max(CONNECT_TIMEOUT, min(4, int(remaining)))) as connection:
                version = connection.info.server_version
            if version < OLDEST_SERVER:
                raise DatabaseUnsupported(f"{params['host']}:{params['port']}", version)
            return
        except psycopg.OperationalError as error:
            if error.sqlstate != STARTING_UP or remaining < 1:
                raise DatabaseUnreachable(f"{params['host']}:{params['port']}", cause_of(error)) from None
        time.sleep(0.5)


def cause_of(error: psycopg.Error) -> str:
    """libpq's reason, without the address it repeats and the hints: `Connection refused`,
    `timeout expired`, `password authentication failed for user "x"`."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    reason = first.rsplit(" failed: ", 1)[-1].strip()
    return reason.removeprefix("FATAL:").strip() or first


def datastore_of(params: dict[str, str | int | None], pool_size: int = 2, wait: float = 5.0) -> PostgresDatastore:
    """A small synchronous pool (psycopg, through the store library) for the projection's writes."""
    datastore = PostgresDatastore(
        dbname=str(params["dbname"]),
        host=str(params["host"]),
        port=str(params["port"]),
        user=str(params["user"] or ""),
        password=str(params["password"] or ""),
        pool_size=pool_size,
    )
    bound(datastore.pool, wait)
    return datastore


def bounded_factory(factory: Factory, wait: float) -> Factory:
    """A store library's infrastructure factory with its PostgreSQL pool bounded by `bound` (before it opens)."""
    datastore = getattr(factory, "datastore", None)  # the PostgreSQL factory's (the in-memory one has none)
    if datastore is not None:
        bound(datastore.pool, wait)
    return factory


def bound(pool: ConnectionPool[Any], wait: float) -> None:
    """Bound a psycopg pool's waits, before it opens.

    A caller waits at most `wait` seconds for a connection, a connection takes at most
    `CONNECT_TIMEOUT` to open, and a request sent on it `wait` seconds to be acknowledged
    (`tcp_user_timeout`: a server that vanished from the network is noticed). And while
    the database is down, no long backoff: psycopg retries a lost connection with pauses
    doubling up to minutes, so the pool would fill again long after the database is back;
    a connection that cannot be opened within `RECONNECT_SECONDS` is given up instead, and
    opened again when a caller asks for one.
    """
    pool.timeout = wait
    pool.reconnect_timeout = RECONNECT_SECONDS
    if isinstance(pool.kwargs, dict):
        pool.kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
        pool.kwargs.setdefault("tcp_user_timeout", max(1, round(wait * 1000)))
