"""Attribution as one more fold of the projector: credit rows written once, refolds and rebuilds give the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore

from projections.attribution.accounts import attributions
from projections.attribution.rows import STORED_MODELS
from projections.attribution.settings import DEFAULT_ATTRIBUTION
from projections.thresholds import DEFAULT_THRESHOLDS
from service.projection.attribution_store import DAILY_COLUMNS, daily_sums
from service.projection.projector import Projector
from service.projection.rebuild import rebuild
from service.projection.view_store import LIVE, ProjectedViews, histories
from service.runtime.database import datastore_of
from service.settings import connection_params
from tests.integration.test_attribution_api import TOTALS
from tests.integration.test_findings import ago, eventually
from tests.support import graphql, record, unique

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


def assert_daily_sums_match(view: ProjectedViews) -> None:
    """The daily table holds what summing the credit rows gives, day by day (its rows of nothing aside)."""
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT {DAILY_COLUMNS} FROM {view.name}_attribution_daily WHERE conversions <> 0 OR touches <> 0")
        kept = {tuple(row.values()) for row in curs.fetchall()}
        curs.execute(daily_sums(f"{view.name}_attribution_credits"))
        summed = {tuple(row.values()) for row in curs.fetchall()}
    assert kept == summed and summed


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
    assert_daily_sums_match(view)

    record(client, [late_touch(account) for account in accounts])  # joins the win's window: a refold
    run(Projector(view, batch_size=5, clock=lambda: now))
    again, settled = stored_credits(view, accounts)
    assert again == expected_credits(view, accounts, now) != credits
    assert settled == 2 * (1 + 5)
    assert_daily_sums_match(view)  # the refold took rows out and wrote them again


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
    assert_daily_sums_match(live)  # the shadow's daily table, renamed live with its credit rows
    with datastore.transaction(commit=False) as curs:  # the planner knows the rebuilt tables before they are read
        curs.execute("SELECT relname FROM pg_stat_user_tables WHERE relname LIKE 'cx360\\_view\\_%%'"
                     " AND last_analyze IS NULL")
        assert curs.fetchall() == []


SUMS_OF_ROWS = """SELECT currency, {group} AS grp, touch_position IS NULL AS unattributed, sum({model}) AS amount,
  count(DISTINCT conversion_position) AS conversions, count(touch_position) AS touches
FROM cx360_view_attribution_credits WHERE occurred_at >= %s AND occurred_at < %s GROUP BY 1, 2, 3"""


@pytest.mark.parametrize("group", ["DEPARTMENT", "CAMPAIGN"])
def test_totals_from_daily_sums_and_part_days_equal_the_credit_rows_summed(
    client: httpx.Client, view: ProjectedViews, group: str
) -> None:
    accounts = [unique(), unique()]
    record(client, [each for account in accounts for each in journey(account)])
    now = datetime.now(timezone.utc)

    def credited() -> int:
        with view.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT count(*) AS rows FROM cx360_view_attribution_credits WHERE account_id = ANY(%s)",
                         (accounts,))
            row = curs.fetchone()
        return int(row["rows"]) if row else 0

    # per account: the old win alone, the win's 4 touches, the EUR win's 5
    assert eventually(lambda: credited() == 2 * (1 + 4 + 5)), "the projector did not credit the journeys"
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    ranges = [(now - timedelta(days=41), now - timedelta(days=9, hours=12)),  # part days at both ends
              (now - timedelta(days=10, hours=1), now - timedelta(days=9, hours=23)),  # within a day or two
              (now - timedelta(days=10) + timedelta(minutes=1), now + timedelta(days=1)),  # just after a win
              (now - timedelta(days=11), now - timedelta(days=5, minutes=1)),  # just before one
              (midnight - timedelta(days=40), midnight - timedelta(days=4)),  # whole days only
              (midnight - timedelta(days=40), now - timedelta(days=4, hours=3)),
              (now - timedelta(days=400), now + timedelta(days=1))]

    def summed(start: datetime, end: datetime, model: str) -> list[tuple[Any, ...]]:
        with view.datastore.transaction(commit=False) as curs:
            curs.execute(SUMS_OF_ROWS.format(group=group.lower(), model=model), (start, end))
            rows = [(row["currency"], row["grp"], row["unattributed"], str(row["amount"]), row["conversions"],
                     row["touches"]) for row in curs.fetchall()]
        return sorted(rows, key=str)

    def served(start: datetime, end: datetime, model: str) -> list[tuple[Any, ...]]:
        body = graphql(client, TOTALS, {"model": model.upper(), "groupBy": group, "from": start.isoformat(),
                                        "to": end.isoformat()})
        assert "errors" not in body, body
        return sorted(((row["currency"], row["group"], row["unattributed"], row["amount"], row["conversions"],
                        row["touches"]) for row in body["data"]["attribution"]), key=str)

    for start, end in ranges:
        for model in ("linear", "time_decay"):
            assert eventually(lambda: served(start, end, model) == summed(start, end, model)), (start, end, model)


def test_creating_the_tables_again_waits_for_no_write_in_progress(view: ProjectedViews, database_url: str) -> None:
    """Every replica runs the create statements at its start; none may queue behind the projector's writes."""
    with psycopg.connect(database_url) as writer, psycopg.connect(database_url, autocommit=False) as starting:
        writer.execute(f"DELETE FROM {view.name}_attribution_credits WHERE account_id = 'nobody'")  # lock held
        starting.execute("SET lock_timeout = '2s'")
        for statement in ProjectedViews(view.datastore, name=view.name).sql_create_statements:
            starting.execute(statement)
        starting.rollback()
        writer.rollback()


def test_live_rows_are_replaced_when_their_conversion_settles_and_not_touched_otherwise(
    client: httpx.Client, view: ProjectedViews
) -> None:
    """The projector replaces an account's live rows only where it may have written some: after a conversion waits
    (live rows), the touch that settles it takes them out; after that, touches delete nothing (no live rows)."""
    account = unique()
    record(client, journey(account))
    now = datetime.now(timezone.utc)
    projector = Projector(view, batch_size=1000, clock=lambda: now)
    run(projector)
    assert stored_credits(view, [account])[1] == 1 + 4  # the EUR win waits: its row is live

    def touch(suffix: str, days: float) -> dict[str, Any]:
        return {"id": f"{account}-{suffix}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
                "occurredAt": ago(days=days), "data": {"channel": "email", "intent": "check_in"}}

    record(client, [touch("after", 0.5)])
    run(projector)  # the same projector: it remembers writing live rows, and that a touch now settles them
    credits, settled = stored_credits(view, [account])  # a live row left beside its settled one is counted twice
    assert credits == expected_credits(view, [account], now) and settled == 1 + 4 + 5  # and its 5 touches
    record(client, [touch("after-that", 0.25)])
    run(projector)
    assert stored_credits(view, [account]) == (credits, settled)
    assert_daily_sums_match(view)
