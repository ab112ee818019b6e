"""The store outlives its connections: after a database restart or a failover, the next batches are stored.

PostgreSQL restarting ends every connection the store's pool holds. After the first
attempt that finds its connection lost, the store drains its pool (new connections are
opened in the background), so the retry draws a live one (before, each of the 3 attempts could draw another dead
connection, and the first batches after a restart failed with "no connection after 3
attempts").
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from uuid import uuid4

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from domain.validation import validate_batch
from service.settings import connection_params
from service.store.event_store import EventStore, lost_connection, store_env
from service.store.recorder import CommitUncertain


def batch(n: int) -> list[tuple[int, object]]:
    valid, rejected = validate_batch([{
        "id": f"reconnect-{uuid4().hex}", "source": "crm", "type": "sales.outreach.sent", "accountId": f"a-{n % 5}",
        "occurredAt": datetime.now(timezone.utc).isoformat(), "data": {"channel": "email", "intent": "upsell"}}])
    assert not rejected
    return valid  # type: ignore[return-value]


def test_batches_after_the_servers_connections_ended_are_stored(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"cx360-reconnect-{uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # libpq names the store's connections, so only they are ended
    store = EventStore(env={**store_env(connection_params(database_url)), "POSTGRES_POOL_SIZE": "5"})
    try:
        with ThreadPoolExecutor(5) as workers:  # every connection of the pool in use once
            assert sum(outcome.accepted for outcome in workers.map(lambda n: store.record(batch(n)), range(20))) == 20
        with psycopg.connect(database_url, autocommit=True, application_name="cx360-test-admin") as admin:
            ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                  " WHERE application_name = %s", (name,)).fetchone()
        assert ended is not None and ended[0] >= 4  # as a restart would
        assert [store.record(batch(n)).accepted for n in range(10)] == [1] * 10
    finally:
        store.close()


def test_only_a_lost_connection_drains_the_pool() -> None:
    assert lost_connection(psycopg.errors.AdminShutdown("terminating connection"))
    assert lost_connection(psycopg.errors.ConnectionFailure("connection failure"))
    assert lost_connection(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert lost_connection(CommitUncertain("server closed the connection unexpectedly"))
    assert not lost_connection(psycopg.errors.LockNotAvailable("lock timeout"))
    assert not lost_connection(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert not lost_connection(psycopg.errors.QueryCanceled("statement timeout"))
    assert not lost_connection(PoolTimeout("couldn't get a connection after 5.00 sec"))
