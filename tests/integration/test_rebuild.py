"""`cx360 rebuild` while the service serves: same finding ids, thresholds applied, nothing lost."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore

from projections.thresholds import DEFAULT_THRESHOLDS, thresholds_from, thresholds_table
from projections.view.health import DEFAULT_WEIGHTS
from service.projection.projector import judged_from_start
from service.projection.rebuild import REBUILD_LOCK, RebuildRunning, rebuild
from service.projection.view_store import ProjectedViews, drop_view
from service.runtime.database import datastore_of
from service.settings import connection_params
from tests.integration.test_event_stream import changes_of, next_changes
from tests.integration.test_findings import (
    account_findings,
    eventually,
    urgent_ticket_and_renewal,
)
from tests.support import record, unique


@pytest.fixture
def datastore(database_url: str) -> Iterator[PostgresDatastore]:
    store = datastore_of(connection_params(database_url))
    yield store
    store.close()


def high_ticket_and_renewal(account: str) -> list[dict[str, object]]:
    events = urgent_ticket_and_renewal(account)
    events[0]["data"] = {"ticketId": "T-9", "priority": "high"}
    return events


def test_rebuild_keeps_ids_and_the_live_projector_goes_on(
    client: httpx.Client, datastore: PostgresDatastore, database_url: str
) -> None:
    account = unique()
    record(client, urgent_ticket_and_renewal(account))
    before = eventually(lambda: account_findings(client, account))
    report = rebuild(datastore, database_url, DEFAULT_THRESHOLDS)
    assert report.events > 0 and report.findings > 0
    assert account_findings(client, account) == before
    later = unique()
    record(client, urgent_ticket_and_renewal(later))
    assert eventually(lambda: account_findings(client, later))


def test_a_changed_threshold_applies_on_rebuild_and_after_it(
    client: httpx.Client, datastore: PostgresDatastore, database_url: str
) -> None:
    account = unique()
    record(client, high_ticket_and_renewal(account))
    assert eventually(lambda: account_findings(client, account))
    only_urgent = thresholds_from({"sales-pressure-during-escalation": {"serious_priorities": ["urgent"]}})
    try:
        rebuild(datastore, database_url, only_urgent)
        assert account_findings(client, account) == []
        high, urgent = unique(), unique()
        record(client, high_ticket_and_renewal(high) + urgent_ticket_and_renewal(urgent))
        assert eventually(lambda: account_findings(client, urgent))  # the live projector has taken both in
        assert account_findings(client, high) == []  # judged with the rebuilt view's thresholds
    finally:
        rebuild(datastore, database_url, DEFAULT_THRESHOLDS)
    assert eventually(lambda: account_findings(client, account))


async def test_a_finding_a_rebuild_no_longer_finds_is_withdrawn_on_finding_changed(
    client: httpx.Client, datastore: PostgresDatastore, database_url: str, base_url: str
) -> None:
    """As a release whose rules no longer find it would, on deploy: here, a threshold changed."""
    account = unique()
    socket = await changes_of(base_url, {"accountId": account})
    await asyncio.sleep(0.3)
    await asyncio.to_thread(record, client, high_ticket_and_renewal(account))
    opened = await next_changes(socket, 1)
    only_urgent = thresholds_from({"sales-pressure-during-escalation": {"serious_priorities": ["urgent"]}})
    try:
        await asyncio.to_thread(rebuild, datastore, database_url, only_urgent)
        withdrawn = await next_changes(socket, 1)
    finally:
        await asyncio.to_thread(rebuild, datastore, database_url, DEFAULT_THRESHOLDS)
        await socket.close()
    assert [each["change"] for each in opened + withdrawn] == ["OPENED", "WITHDRAWN"]
    assert withdrawn[0]["id"] == opened[0]["id"] and withdrawn[0]["rule"] == "sales-pressure-during-escalation"


def test_the_rebuild_command_reports_progress(database_url: str) -> None:
    environment = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "service.cli", "rebuild"], env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "events" in done.stderr and "rebuilt the findings" in done.stderr


def test_the_rebuild_command_names_a_bad_rules_file(database_url: str, tmp_path: object) -> None:
    rules = os.path.join(str(tmp_path), "rules.toml")
    with open(rules, "w") as file:
        file.write("[contact-pressure]\nmax_touchs = 8\n")
    environment = {**os.environ, "DATABASE_URL": database_url, "CX360_RULES_FILE": rules}
    done = subprocess.run([sys.executable, "-m", "service.cli", "rebuild"], env=environment,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "contact-pressure.max_touchs: unknown threshold" in done.stderr


def test_a_second_rebuild_at_the_same_time_is_refused(datastore: PostgresDatastore, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (REBUILD_LOCK,))  # as a running rebuild holds it
        with pytest.raises(RebuildRunning, match="another `cx360 rebuild` is running"):
            rebuild(datastore, database_url, DEFAULT_THRESHOLDS)


def test_the_rebuild_command_checks_its_workers(database_url: str) -> None:
    environment = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "service.cli", "rebuild", "--workers", "0"], env=environment,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--workers must be between 1 and 64 (got 0)" in done.stderr


def test_a_rebuild_by_one_worker_or_three_gives_the_same_rows(
    client: httpx.Client, datastore: PostgresDatastore, database_url: str
) -> None:
    record(client, urgent_ticket_and_renewal(unique()))
    rows = []
    for workers in (1, 3):
        rebuild(datastore, database_url, DEFAULT_THRESHOLDS, workers=workers)
        with psycopg.connect(database_url) as connection:
            rows.append(connection.execute(
                "SELECT id, account_id, rule, evidence, detected_at, summary FROM cx360_view_findings ORDER BY id"
            ).fetchall())
    assert rows[0] == rows[1] and rows[0]


def test_an_account_a_rebuild_cannot_judge_is_named(
    client: httpx.Client, datastore: PostgresDatastore, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers are processes of their own, so the part is judged here, as a worker would judge it."""
    import service.projection.bulk_judge as bulk

    odd = unique()
    record(client, urgent_ticket_and_renewal(odd))

    def failing(account_id: str, *args: Any, **kwargs: Any) -> Any:
        if account_id == odd:
            raise ValueError("a rule met data it did not expect")
        return judged_from_start(account_id, *args, **kwargs)

    monkeypatch.setattr(bulk, "judged_from_start", failing)
    shadow = ProjectedViews(datastore, name=f"cx360_view_test_{unique().replace('-', '_')}")
    shadow.create_table()
    try:
        with psycopg.connect(database_url) as connection:
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            with connection.transaction():
                row = connection.execute("SELECT pg_export_snapshot(), max(notification_id) FROM cx360_events").fetchone()
                assert row is not None
                part = bulk.Part(database_url, row[0], row[1], None, None, shadow.name,
                                 thresholds_table(DEFAULT_THRESHOLDS), DEFAULT_WEIGHTS, datetime.now(timezone.utc))
                with pytest.raises(bulk.AccountNotJudged, match=f"account '{odd}' could not be judged"
                                                               r" \(ValueError: a rule met data"):
                    bulk.judge(part, shadow, multiprocessing.Value("q", 0))
    finally:
        with datastore.transaction(commit=True) as curs:
            drop_view(curs, shadow.name)
