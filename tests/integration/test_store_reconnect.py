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
from service.store.event_store import EventStore, StoreUnavailable, lost_connection, store_env
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


def commit_killer(database_url: str, source: str, *, always: bool) -> str:
    """A trigger that ends its own connection at COMMIT (a deferred trigger runs then) for events of `source`:
    the client loses the answer to its commit, and the transaction is not committed. Returns its name."""
    name = f"cx360_test_{uuid4().hex[:8]}"
    when = "TRUE" if always else f"nextval('{name}') = 1"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f"CREATE SEQUENCE {name}")
        admin.execute(f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF {when} THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NULL; END $$""")
        admin.execute(f"""CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON cx360_events DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW WHEN (NEW.source = '{source}') EXECUTE FUNCTION {name}()""")
    return name


def drop_commit_killer(database_url: str, name: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f"DROP TRIGGER {name} ON cx360_events")
        admin.execute(f"DROP FUNCTION {name}()")
        admin.execute(f"DROP SEQUENCE {name}")


def from_source(source: str, count: int) -> list[tuple[int, object]]:
    valid, rejected = validate_batch([{
        "id": f"commit-{uuid4().hex}", "source": source, "type": "sales.outreach.sent", "accountId": f"a-{source}",
        "occurredAt": datetime.now(timezone.utc).isoformat(), "data": {"channel": "email", "intent": "upsell"}}
        for _ in range(count)])
    assert not rejected
    return valid  # type: ignore[return-value]


def stored_from(database_url: str, source: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM cx360_events WHERE source = %s", (source,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_commit_whose_answer_was_lost_is_tried_again_and_stored_once(database_url: str) -> None:
    source = f"commit-once-{uuid4().hex[:8]}"
    killer = commit_killer(database_url, source, always=False)
    store = EventStore(env=store_env(connection_params(database_url)))
    try:
        outcome = store.record(from_source(source, 3))
        assert (outcome.accepted, outcome.duplicates) == (3, 0)  # the lost commit had not committed: stored now, once
        assert stored_from(database_url, source) == 3
        with psycopg.connect(database_url) as connection:  # the first commit was ended, the second took 3 rows
            assert connection.execute(f"SELECT last_value FROM {killer}").fetchone() == (4,)
    finally:
        store.close()
        drop_commit_killer(database_url, killer)


def test_when_no_try_can_tell_whether_the_batch_was_stored_the_client_is_told_so(database_url: str) -> None:
    source = f"commit-never-{uuid4().hex[:8]}"
    killer = commit_killer(database_url, source, always=True)
    store = EventStore(env=store_env(connection_params(database_url)))
    try:
        with pytest.raises(StoreUnavailable) as failure:
            store.record(from_source(source, 2))
        assert failure.value.stored is None
        assert "not stored, or it was stored and a resend will report its events as duplicates" in str(failure.value)
        assert stored_from(database_url, source) == 0  # (here: not stored; a resend stores it)
    finally:
        store.close()
        drop_commit_killer(database_url, killer)
