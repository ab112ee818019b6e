"""The embedded server: starts as root, keeps data across restarts, survives a client killed with SIGKILL."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

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


@pytest.mark.skipif(os.geteuid() != 0, reason="only root creates the server's system user (as CI runs)")
def test_processes_starting_their_first_server_at_once_create_its_user_once(tmp_path: Path) -> None:
    """The suite's workers on a new machine: each starts an embedded server, and as root the wheel would have each
    run `useradd` for its system user unless one of them has created it already."""
    name = f"cx360t{uuid4().hex[:8]}"  # a user of this test's own: the real one serves the running servers
    script = ("import sys; from service.runtime.embedded_postgres import ensure_server_user; "
              "ensure_server_user(sys.argv[1])")
    try:
        started = [subprocess.Popen([sys.executable, "-c", script, name], stderr=subprocess.PIPE, text=True)
                   for _ in range(10)]
        outcomes = [(each.communicate(timeout=60)[1], each.returncode) for each in started]
        assert all(code == 0 for _, code in outcomes), outcomes
        pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True)
