"""Attribution as one more fold of the projector: credit rows written once, refolds and rebuilds give the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest
from eventsourcing.postgres import PostgresDatastore

from projections.attribution.accounts import attributions
from projections.attribution.rows import STORED_MODELS
from projections.attribution.settings import DEFAULT_ATTRIBUTION
from projections.thresholds import DEFAULT_THRESHOLDS
from service.projection.projector import Projector
from service.projection.rebuild import rebuild
from service.projection.view_store import LIVE, ProjectedViews, histories
from service.runtime.database import datastore_of
from service.settings import connection_params
from tests.integration.test_findings import ago
from tests.support import record, unique

Credits = dict[str, dict[tuple[int, int | None], Decimal]]  # model -> (conversion, touch or None) -> credit


@pytest.fixture
def view(database_url: str) -> Iterator[ProjectedViews]:
    datastore = datastore_of(connection_params(database_url))
    views = ProjectedViews(datastore, name=f"test_view_{uuid4().hex[:8]}")
    views.create_table()
    yield views
    datastore.close()


def journey(account: str) -> list[dict[str, Any]]:
    """Four touches before a won deal, a deal in EUR with one touch, an old deal with none, and a later event."""
    def one(suffix: str, kind: str, days: float, **data: Any) -> dict[str, Any]:
        return {"id": f"{account}-{suffix}", "source": "crm", "type": kind, "accountId": account,
                "occurredAt": ago(days=days), "data": data, "actor": "rep-1"}

    return [
        one("old-win", "sales.opportunity.won", 300, opportunityId="O-0", amount="50.00", currency="USD"),
        one("campaign", "marketing.campaign.sent", 40, campaignId="C-1", channel="email", intent="nurture"),
        one("call", "sales.outreach.sent", 24, channel="call", intent="follow_up"),
        one("meeting", "support.contact.made", 17, channel="meeting"),
        one("feature", "product.feature.adopted", 11, feature="sso"),
        one("win", "sales.opportunity.won", 10, opportunityId="O-1", amount="1000.00", currency="USD"),
        one("eur-call", "sales.outreach.sent", 8, channel="email", intent="follow_up"),
        one("eur-win", "sales.opportunity.won", 5, opportunityId="O-2", amount="100.00", currency="EUR"),
        one("later", "support.ticket.opened", 1, ticketId="T-1", priority="low"),
    ]


def late_touch(account: str) -> dict[str, Any]:
    return {"id": f"{account}-late", "source": "crm", "type": "marketing.engagement.recorded", "accountId": account,
            "occurredAt": ago(days=12), "data": {"campaignId": "C-2", "channel": "webinar", "action": "attend"}}


def stored_credits(view: ProjectedViews, accounts: list[str]) -> tuple[Credits, int]:
    """The view's credits of the accounts by model, and how many of its rows are settled."""
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT * FROM {view.name}_attribution_credits WHERE account_id = ANY(%s)", (accounts,))
        rows = curs.fetchall()
    found: Credits = {model: {} for model in STORED_MODELS}
    for row in rows:
        for model in STORED_MODELS:
            key = (row["conversion_position"], row["touch_position"])
            assert key not in found[model], f"row {key} written twice"
            found[model][key] = row[model]
    return found, sum(1 for row in rows if row["settled_at"] is not None)


def expected_credits(view: ProjectedViews, accounts: list[str], now: datetime) -> Credits:
    """The reference (`projections.attribution.accounts`) over the accounts' stored events."""
    with view.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT max(notification_id) AS last FROM cx360_events")
        row = curs.fetchone()
        assert row is not None
        stored = histories(curs, accounts, row["last"])
    facts = [sorted(stored[account], key=lambda fact: fact.order) for account in accounts]
    found: Credits = {}
    for model in STORED_MODELS:
        found[model] = {}
        for each in attributions(facts, model, DEFAULT_ATTRIBUTION, now):
            position = each.conversion.fact.position
            for credit in each.credits:
                found[model][(position, credit.touch.fact.position)] = credit.amount
            if not each.credits:
                found[model][(position, None)] = each.unattributed
    return found


def run(projector: Projector) -> None:
    while projector.step():
        pass


def test_credits_are_written_once_through_a_crash_and_a_late_touch(client: httpx.Client, view: ProjectedViews) -> None:
    accounts = [unique(), unique()]
    record(client, [each for account in accounts for each in journey(account)])
    now = datetime.now(timezone.utc)
    first = Projector(view, batch_size=5, clock=lambda: now)
    first.step()

    def crash() -> datetime:
        raise KeyboardInterrupt("killed while judging a batch")

    with pytest.raises(KeyboardInterrupt):
        Projector(view, batch_size=5, clock=crash).step()
    run(Projector(view, batch_size=5, clock=lambda: now))  # a new process: only the tracked position
    credits, settled = stored_credits(view, accounts)
    assert credits == expected_credits(view, accounts, now)
    # per account: the old win (unattributed) and the win's 4 touches; the EUR win, the latest conversion, is live
    assert settled == 2 * (1 + 4)
    assert credits["linear"][next(key for key in credits["linear"] if key[1] is None)] == Decimal("50.00")

    record(client, [late_touch(account) for account in accounts])  # joins the win's window: a refold
    run(Projector(view, batch_size=5, clock=lambda: now))
    again, settled = stored_credits(view, accounts)
    assert again == expected_credits(view, accounts, now) != credits
    assert settled == 2 * (1 + 5)


def test_a_rebuild_writes_the_same_rows_as_the_projector(
    client: httpx.Client, view: ProjectedViews, database_url: str
) -> None:
    accounts = [unique(), unique()]
    record(client, [each for account in accounts for each in journey(account)])
    record(client, [late_touch(accounts[0])])
    now = datetime.now(timezone.utc)
    run(Projector(view, batch_size=50, clock=lambda: now))
    followed, _ = stored_credits(view, accounts)
    datastore: PostgresDatastore = view.datastore
    rebuild(datastore, database_url, DEFAULT_THRESHOLDS, workers=2)
    live = ProjectedViews(datastore, name=LIVE)
    rebuilt, _ = stored_credits(live, accounts)
    assert rebuilt == followed == expected_credits(view, accounts, now)
