"""Crash safety, the small version of `bench/crash.py`: three SIGKILLs of the API and its projector under load.

Every acknowledged event is stored exactly once, and the findings and views equal a
clean rebuild (the bench's docstring says how each is compared).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import with_database

ROOT = Path(__file__).resolve().parents[2]


def test_sigkills_under_load_lose_nothing_double_nothing_and_the_projections_equal_a_rebuild(database_url: str) -> None:
    server = with_database(database_url, "postgres")  # the bench makes a database of its own there
    done = subprocess.run(
        [sys.executable, "bench/crash.py", "--kills", "3", "--producers", "2", "--batch", "20", "--accounts", "60",
         "--gap", "0.3", "2"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": server}, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stored exactly once: yes" in done.stdout and "equal to a clean rebuild: yes" in done.stdout, done.stdout
