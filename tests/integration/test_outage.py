"""A database outage while serving: UNAVAILABLE at once, one log line each way, and everything resumes.

Each test has a PostgreSQL server of its own (the embedded one, in a temporary folder),
stopped or killed under a running service; the session's server is not touched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from service.runtime.embedded_postgres import EmbeddedPostgres
from service.settings import Settings
from tests.conftest import UNLIMITED, RunningServer
from tests.integration.test_event_stream import opened, received
from tests.support import RECORD, event, graphql, unique

ACCOUNT = '{ account(id: "%s") { name health { score } } }'
ERROR_BOUND = 1.5  # seconds: UNAVAILABLE within 1 s, with room for a loaded machine
RESUME_BOUND = 2.0  # seconds after the database is back


@pytest.fixture
def dedicated(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path)
    server.start()
    yield server
    server.stop()


def postmaster(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0]))


def stop(process: psutil.Process, how: signal.Signals) -> None:
    """SIGINT: PostgreSQL's fast shutdown; SIGKILL: a crash."""
    os.kill(process.pid, how)
    process.wait(30)


def timed(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    body = graphql(client, query, variables)
    return time.monotonic() - started, body


def code_of(body: dict[str, Any]) -> str | None:
    return body["errors"][0].get("extensions", {}).get("code") if "errors" in body else None


def health_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "service.runtime.health" and text in record.getMessage()]


def until_stored(client: httpx.Client, account: str, timeout: float) -> float:
    """Seconds until a write is stored again."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        body = graphql(client, RECORD, {"events": [event(account_id=account)]})
        if "errors" not in body:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"no write stored within {timeout}s")


async def test_an_outage_answers_unavailable_at_once_and_everything_resumes_when_the_database_is_back(
    dedicated: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=dedicated.url, projector_poll_seconds=0.2, view_delay_seconds=0.1,
                        rate_limit_reads=UNLIMITED, rate_limit_writes=UNLIMITED)
    account = unique()
    with RunningServer(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        socket = await opened(base, {"accountId": account})
        await asyncio.sleep(0.3)  # subscribed before the event is stored
        assert "errors" not in graphql(client, RECORD, {"events": [event(account_id=account)]})
        assert len(await received(socket, 1)) == 1
        stop(postmaster(dedicated.data_dir), signal.SIGINT)
        answers = []
        for _ in range(5):
            answers.append(timed(client, RECORD, {"events": [event(account_id=account)]}))
            answers.append(timed(client, ACCOUNT % account))
        assert [code_of(body) for _, body in answers] == ["UNAVAILABLE"] * 10, answers[:2]
        assert max(seconds for seconds, _ in answers) < ERROR_BOUND, [round(seconds, 3) for seconds, _ in answers]
        assert "nothing of this batch was stored" in answers[0][1]["errors"][0]["message"]
        dedicated.restart()
        assert until_stored(client, account, timeout=10) < RESUME_BOUND
        assert "errors" not in graphql(client, ACCOUNT % account)
        [live] = await received(socket, 1)  # the feed went on from its position
        assert live["accountId"] == account
        await socket.close()
        deadline = time.monotonic() + 15
        while graphql(client, ACCOUNT % account)["data"]["account"]["health"] is None:  # the projector resumed too
            assert time.monotonic() < deadline, "the projector did not judge the account after the outage"
            time.sleep(0.2)
    assert len(health_lines(caplog, "the database is unavailable")) == 1
    assert len(health_lines(caplog, "the database is back")) == 1
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"


def test_an_embedded_server_that_died_is_started_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(database_url=None, data_dir=tmp_path, projector="off", rate_limit_reads=UNLIMITED,
                        rate_limit_writes=UNLIMITED)
    account = unique()
    with RunningServer(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert "errors" not in graphql(client, RECORD, {"events": [event(account_id=account)]})
        stop(postmaster(tmp_path), signal.SIGKILL)
        body = graphql(client, RECORD, {"events": [event(account_id=account)]})
        assert code_of(body) == "UNAVAILABLE", body
        until_stored(client, account, timeout=60)
        assert graphql(client, ACCOUNT % account)["data"]["account"]["name"] is None
    restarted = [record for record in caplog.records if "is not running; starting it again" in record.getMessage()]
    assert len(restarted) == 1
