"""`cx360 serve` as an operator runs it: Ctrl-C and SIGTERM stop it cleanly, a database it cannot reach stops it at once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import RECORD, event, unique

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(database_url: str, port: int) -> subprocess.Popen[str]:
    """`cx360 serve` in a process group of its own, as a terminal runs it (Ctrl-C reaches the whole group)."""
    environment = {**os.environ, "DATABASE_URL": database_url, "CX360_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=environment, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, timeout=1)
            return process
        except httpx.TransportError:
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
    process.kill()
    raise AssertionError("cx360 serve did not answer within 60s")


def send_batch(port: int, events: list[dict[str, Any]], answers: list[Any]) -> None:
    try:
        answers.append(httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=30,
                                  json={"query": RECORD, "variables": {"events": events}}).json())
    except httpx.TransportError as refused:  # the signal came first: it no longer accepted the request
        answers.append(refused)


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM"])
async def test_a_signal_stops_the_server_cleanly(database_url: str, how: str) -> None:
    port = free_port()
    process = serve(database_url, port)
    try:
        subscriber = await connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"])
        await subscriber.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await subscriber.recv())["type"] == "connection_ack"
        await subscriber.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { id } }"}}))
        answers: list[Any] = []
        account = unique()
        batch = threading.Thread(target=send_batch, args=(port, [event(account_id=account) for _ in range(1000)], answers))
        batch.start()
        await asyncio.sleep(0.05)  # the batch on its way
        if how == "Ctrl-C":
            os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the API and its projector process
        else:
            process.send_signal(signal.SIGTERM)  # as a service manager or `docker stop` does
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(20):
                while True:
                    await subscriber.recv()
        assert subscriber.close_code == 1001
        _, stderr = await asyncio.to_thread(process.communicate, timeout=30)
        batch.join()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "exited with code" not in stderr and "restarting" not in stderr, stderr
    assert isinstance(answers[0], httpx.TransportError) or answers[0]["data"]["recordEvents"]["accepted"] == 1000


def closed_port() -> int:
    return free_port()  # nothing listens on it once the probe is closed


@pytest.mark.parametrize("command", [["serve"], ["rebuild"]])
def test_a_database_it_cannot_reach_stops_a_command_at_once_naming_it(command: list[str]) -> None:
    port = closed_port()
    environment = {**os.environ, "DATABASE_URL": f"postgresql://cx360@127.0.0.1:{port}/cx360"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "service.cli", *command], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 10
    assert done.returncode == 3
    assert done.stderr == f"cx360: cannot reach the database at 127.0.0.1:{port}: Connection refused\n"


def test_an_embedded_server_that_cannot_start_stops_the_command_naming_why(tmp_path: Path) -> None:
    (tmp_path / "pgdata").write_text("a file where the server's folder should be")
    environment = {**os.environ, "CX360_DATA_DIR": str(tmp_path)}
    environment.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "service.cli", "serve"], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stderr.startswith(f"cx360: could not start the embedded PostgreSQL server in {tmp_path / 'pgdata'}: ")
    assert done.stderr.count("\n") == 1, done.stderr


def test_a_server_older_than_cx360_needs_is_refused_naming_its_version(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cli import database_failures
    from service.runtime import database

    database.check_reachable(database_url)  # this server is new enough
    monkeypatch.setattr(database, "OLDEST_SERVER", 990000)  # as if PostgreSQL 99 were needed
    with pytest.raises(database.DatabaseUnsupported) as raised:
        database.check_reachable(database_url)
    assert "runs PostgreSQL 1" in str(raised.value) and "cx360 needs PostgreSQL 99 or later" in str(raised.value)
    assert isinstance(raised.value, database_failures())  # a start stopped with exit code 3, its message alone
