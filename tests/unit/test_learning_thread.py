"""The follower's learning thread: an outage is logged once, and its end once (`Follower.learn`)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest

from service.projection.follower import Follower


class Failing:
    """A projector whose learning fails for its first calls, as through a database outage, then works."""

    relearn_every = timedelta(0)

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.done = threading.Event()

    def relearn(self, **_: Any) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("connection refused")
        if self.calls >= self.failures + 2:
            self.done.set()
        return 0


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    projector = Failing(failures=3)
    follower = Follower(projector, "postgresql://unused", "unused", poll_seconds=0.01)  # type: ignore[arg-type]
    follower.learn_seconds = 0.01
    caplog.set_level(logging.INFO, logger="service.projection.follower")
    thread = threading.Thread(target=follower.learn)
    thread.start()
    assert projector.done.wait(10)
    follower.stopping.set()
    thread.join(5)
    messages = [record.getMessage() for record in caplog.records]
    assert [each for each in messages if "failed" in each] == [
        "projector: learning the data-driven months failed, trying again: connection refused"]
    assert messages.count("projector: learning the data-driven months again") == 1
