"""The embedded server: starts as root, keeps data across restarts, survives a client killed with SIGKILL."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psycopg

from service.runtime.embedded_postgres import HANDLE_PIDS_FILE, EmbeddedPostgres


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_data_survives_a_restart_and_stale_clients_are_pruned(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path) as server, psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute("CREATE TABLE kept (value text)")
        connection.execute("INSERT INTO kept VALUES ('still here')")
    pids_file = tmp_path / "pgdata" / HANDLE_PIDS_FILE
    pids_file.write_text(json.dumps([dead_pid()]))  # as if a client had been killed with SIGKILL
    with EmbeddedPostgres(tmp_path) as server, psycopg.connect(server.url) as connection:
        assert connection.execute("SELECT value FROM kept").fetchall() == [("still here",)]
        assert json.loads(pids_file.read_text()) == [os.getpid()]
    assert not list((tmp_path / "pgdata").glob("postmaster.pid")), "the server stops when its last client leaves"
