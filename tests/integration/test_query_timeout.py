"""A read of the API's pool that runs past `CX360_QUERY_TIMEOUT_MS` is cancelled, and the client is told so, by
name; the connection serves the next read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import asyncpg
import httpx
import psycopg
import pytest

from service.read.pool import QueryTimedOut, ReadPool
from service.runtime.health import DatabaseHealth
from service.settings import Settings
from tests.conftest import RunningServer
from tests.support import graphql


async def test_a_read_past_the_timeout_is_cancelled_and_the_pool_reads_on(database_url: str) -> None:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as pool:
        reads = ReadPool(pool, DatabaseHealth(), query_timeout=0.2)
        with pytest.raises(QueryTimedOut, match=r"query timeout \(0.2 s, CX360_QUERY_TIMEOUT_MS\)"):
            await reads.fetchval("SELECT pg_sleep(5)")  # without the timeout it returns, after 5 s
        assert await reads.fetchval("SELECT 1") == 1  # the same (only) connection, usable again
        # the subscriptions' feeds read without one: a replay is resumed, never given up
        assert await reads.without_query_timeout().fetchval("SELECT pg_sleep(0.5)::text") == ""


@pytest.fixture
def quick_to_give_up(settings: Settings) -> Iterator[str]:
    with RunningServer(replace(settings, projector="off", query_timeout_seconds=0.3)) as url:
        yield url


def test_a_read_held_up_past_the_timeout_answers_an_error_naming_it(quick_to_give_up: str, database_url: str) -> None:
    """A read waiting on a lock counts against the timeout as a slow one does."""
    with psycopg.connect(database_url) as locker, httpx.Client(base_url=quick_to_give_up, timeout=30) as client:
        locker.execute("LOCK TABLE cx360_view_findings IN ACCESS EXCLUSIVE MODE")
        try:  # without the timeout the read waits for the lock, held until after it: the client gives up at 30 s
            body = graphql(client, "{ findings(first: 5) { edges { node { id } } } }")
        finally:
            locker.rollback()
        [error] = body["errors"]
        assert "query timeout (0.3 s, CX360_QUERY_TIMEOUT_MS)" in error["message"], error
        assert error["extensions"]["code"] == "QUERY_TIMEOUT"
        assert "errors" not in graphql(client, "{ findings(first: 5) { edges { node { id } } } }")
