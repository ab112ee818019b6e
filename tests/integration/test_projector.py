"""The projector against real PostgreSQL: restarts skip nothing and count nothing twice; time alone moves findings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from uuid import uuid4

import httpx
import pytest
from eventsourcing.postgres import PostgresDatastore

from projections.evaluation import evaluate
from projections.history import history_of
from service.findings_view import FindingsView, histories
from service.projector import Projector
from service.settings import connection_params
from tests.integration.test_findings import account_findings, ago, eventually
from tests.support import record, unique


@pytest.fixture
def view(database_url: str) -> Iterator[FindingsView]:
    """A findings view of its own (fresh tables), beside the running service's."""
    params = connection_params(database_url)
    datastore = PostgresDatastore(
        str(params["dbname"]), str(params["host"]), str(params["port"]), str(params["user"] or ""), "", pool_size=2
    )
    findings_view = FindingsView(datastore, name=f"test_findings_{uuid4().hex[:8]}")
    findings_view.create_table()
    yield findings_view
    datastore.close()


def rows_of(view: FindingsView) -> dict[str, tuple[object, ...]]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT id, account_id, rule, evidence, detected_at, resolved_at, summary FROM {view.name}")
        return {str(row["id"]): tuple(row.values()) for row in curs.fetchall()}


def test_a_projector_restarted_mid_stream_ends_as_one_run_straight_through(
    client: httpx.Client, view: FindingsView
) -> None:
    accounts = [unique() for _ in range(3)]
    events = [
        {"id": f"{account}-{n}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
         "occurredAt": ago(days=1, seconds=n * 60), "data": {"channel": "email", "intent": "renewal"}}
        for account in accounts for n in range(8)
    ] + [
        {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
         "occurredAt": ago(days=2), "data": {"ticketId": "T-1", "priority": "urgent"}}
        for account in accounts
    ]
    record(client, events)
    now = datetime.now(timezone.utc)
    first = Projector(view, batch_size=7, clock=lambda: now)
    for _ in range(3):
        first.step()

    def crash() -> datetime:
        raise KeyboardInterrupt("killed while judging a batch")

    crashing = Projector(view, batch_size=7, clock=crash)
    with pytest.raises(KeyboardInterrupt):
        crashing.step()  # its transaction rolls back: no rows, no tracking
    second = Projector(view, batch_size=7, clock=lambda: now)  # a new process: no cache, only the tracked position
    while second.step():
        pass
    with view.datastore.transaction(commit=False) as curs:
        position = view.position(curs)
        curs.execute("SELECT max(notification_id) AS last FROM cx360_events")
        row = curs.fetchone()
        assert row is not None and position == row["last"]
        stored = histories(curs, accounts, position)
    straight = Projector(view, batch_size=10_000, clock=lambda: now)
    expected = {
        each.id: each
        for account in accounts
        for each in evaluate(history_of(account, stored[account]), now).findings
    }
    got = {key: row for key, row in rows_of(view).items() if row[1] in accounts}
    assert set(got) == set(expected) and len(expected) == 3
    for finding_id, row in got.items():  # every push exactly once: none skipped, none doubled
        assert list(row[3]) == [fact.position for fact in expected[finding_id].evidence]
        assert len(row[3]) == 9
    assert straight.step() == 0  # nothing left over


def test_a_deadline_passing_opens_a_finding_with_no_new_event(client: httpx.Client) -> None:
    account = unique()
    detractor = {"id": f"{account}-nps", "source": "delighted", "type": "marketing.nps.responded",
                 "accountId": account, "occurredAt": ago(days=7, seconds=-2), "data": {"score": 2}}
    record(client, [detractor])
    assert account_findings(client, account) == []  # the 7 days are not over yet
    found = eventually(lambda: account_findings(client, account), timeout=15)
    assert [each["rule"] for each in found] == ["ignored-detractor"]
