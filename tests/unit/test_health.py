"""The database's health: one log line when it goes down, one when it is back; a prober that notices it back."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from graphql import GraphQLError

from service.api.errors import MASKED, ClientErrors, ServiceUnavailable
from service.runtime.database import cause_of
from service.runtime.health import DatabaseHealth, DatabaseUnavailable, Prober
from service.store.event_store import StoreUnavailable


def test_an_outage_is_logged_once_down_and_once_back(caplog: pytest.LogCaptureFixture) -> None:
    health = DatabaseHealth()
    backs: list[str] = []
    health.on_back(lambda: backs.append("back"))
    health.answered()  # up already: nothing said
    for _ in range(50):  # every request of an outage reports it
        health.failed(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(DatabaseUnavailable, match="the database is unavailable; retry later"):
        health.check()
    for _ in range(50):
        health.answered()
    health.check()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2 and backs == ["back"]
    assert "the database is unavailable ([Errno 111] Connection refused)" in lines[0]
    assert lines[1].startswith("the database is back after ")
    assert all(record.exc_info is None for record in caplog.records)


def test_a_libpq_error_is_told_in_one_line() -> None:
    health = DatabaseHealth("projector: ", meanwhile="")
    health.failed(psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly\n"
                                           "\tThis probably means the server terminated abnormally\n"))
    assert health.cause == ("consuming input failed: server closed the connection unexpectedly "
                            "This probably means the server terminated abnormally")


def test_the_prober_marks_the_database_back_once_it_answers() -> None:
    health = DatabaseHealth()
    answers = threading.Event()

    def probe() -> None:
        if not answers.is_set():
            raise ConnectionRefusedError(111, "Connection refused")

    prober = Prober(health, probe, interval=0.01)
    prober.start()
    try:
        health.failed("refused")
        time.sleep(0.1)
        assert not health.up  # still refused
        answers.set()
        deadline = time.monotonic() + 5
        while not health.up and time.monotonic() < deadline:
            time.sleep(0.01)
        assert health.up
    finally:
        prober.stop()


@pytest.mark.parametrize(("message", "cause"), [
    ('connection failed: connection to server at "127.0.0.1", port 5433 failed: Connection refused\n'
     "\tIs the server running on that host and accepting TCP/IP connections?", "Connection refused"),
    ('connection failed: connection to server at "10.0.0.9", port 5432 failed: FATAL:  password authentication '
     'failed for user "cx360"', 'password authentication failed for user "cx360"'),
    ("connection timeout expired", "connection timeout expired"),
    ('connection failed: connection to server on socket "/tmp/x/.s.PGSQL.5432" failed: No such file or directory',
     "No such file or directory"),
])
def test_the_cause_of_a_connection_failure_without_the_address_it_repeats(message: str, cause: str) -> None:
    assert cause_of(psycopg.OperationalError(message)) == cause


def test_a_batch_says_whether_anything_of_it_was_stored() -> None:
    assert str(StoreUnavailable("the event store is unavailable")) == (
        "the event store is unavailable; nothing of this batch was stored; retry later")
    unknown = str(StoreUnavailable("the event store is unavailable", stored=None))
    assert "not stored, or it was stored and a resend will report its events as duplicates" in unknown


def test_an_unavailable_database_reaches_the_client_as_unavailable_and_the_rest_stays_masked() -> None:
    errors = ClientErrors()
    unavailable = GraphQLError("x", path=["account"], original_error=DatabaseUnavailable("the database is unavailable"))
    shown = errors.anonymise_error(unavailable)
    assert shown.formatted["extensions"] == {"code": "UNAVAILABLE"}
    assert shown.message == "the database is unavailable" and shown.path == ["account"]
    store = GraphQLError("nothing stored", original_error=ServiceUnavailable("nothing stored"))
    assert store.extensions == {"code": "UNAVAILABLE"} and not errors.should_mask_error(store)
    bug = GraphQLError("KeyError: 'x'", original_error=KeyError("x"))
    assert errors.should_mask_error(bug) and errors.anonymise_error(bug).message == MASKED
