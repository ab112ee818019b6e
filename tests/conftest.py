"""Shared fixtures: one real PostgreSQL database per test session, and the running service.

With `DATABASE_URL` set, a fresh database is created on that server (and dropped at the
end); otherwise the embedded server is started in a temporary folder. Tests that share
the database use unique account ids instead of cleaning up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import httpx
import psycopg
import pytest
import uvicorn
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from service.bootstrap import build_app
from service.runtime.embedded_postgres import EmbeddedPostgres
from service.runtime.server import Server
from service.settings import Settings

TEST_MAX_BATCH = 1000
UNLIMITED = "1000000/second"

# No property test is timed: speed is the benchmarks' business, and the suite's two workers share two cores, so
# an example's time says more about the other worker than about the code (a slow example would fail as Flaky).
hypothesis_settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("suite")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def administer(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import os

    server_url = os.environ.get("DATABASE_URL")
    embedded = None
    if not server_url:
        embedded = EmbeddedPostgres(tmp_path_factory.mktemp("embedded"))
        server_url = embedded.start()
    name = f"cx360_test_{uuid4().hex[:12]}"
    administer(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        administer(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if embedded is not None:
            embedded.stop()


@pytest.fixture(scope="session")
def keys_database_url(database_url: str) -> Iterator[str]:
    """A database of its own for the tests that create API keys: a key makes keys required for every
    client of its database, and the other tests are loopback clients without one."""
    server = with_database(database_url, "postgres")
    name = f"cx360_keys_{uuid4().hex[:12]}"
    administer(server, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(database_url, name)
    finally:
        administer(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        max_batch_events=TEST_MAX_BATCH,
        max_body_bytes=4 * 1024 * 1024,
        projector_poll_seconds=0.2,
        view_delay_seconds=0.1,
        attribution_relearn_seconds=5,  # the running month learnt soon, not every second over the suite's growing data
        # the suite is one loopback client doing the work of many: it is not what the rate limits are for
        # (tests/integration/test_rate_limits.py runs servers of its own with low ones)
        rate_limit_reads=UNLIMITED,
        rate_limit_writes=UNLIMITED,
    )


class RunningServer:
    """The real application under uvicorn on a free port, in a thread of its own."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        app = build_app(settings, **options)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = Server(config, app.state.close_subscribers)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def base_url(settings: Settings) -> Iterator[str]:
    with RunningServer(settings) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http
