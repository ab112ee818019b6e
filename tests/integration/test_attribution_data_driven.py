"""The data-driven credits the service keeps equal the Python reference: each conversion credited by the removal
effects learnt from its own calendar month's journeys (`service.projection.learning`).

The reference reads the same tables row by row and learns and credits in Python
(`projections.attribution.markov`, `models.data_driven_weights`, `allocation.split`), month by month.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import groupby
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from projections.attribution.allocation import split
from projections.attribution.journeys import Journey
from projections.attribution.markov import removal_effects
from projections.attribution.models import data_driven_weights
from tests.integration.test_attribution_api import TOTALS
from tests.integration.test_findings import eventually
from tests.support import graphql, record, unique

LOOKBACK = timedelta(days=90)  # the default lookback window
JUST_BEFORE = timedelta(microseconds=1)
CREDITS, TOUCHES = "cx360_view_attribution_credits", "cx360_view_attribution_touches"
TOUCH_KINDS = [("marketing.campaign.sent", lambda r: {"campaignId": f"C-{r.randrange(4)}", "channel": r.choice(
                   ["email", "ads", "webinar"]), "intent": "nurture"}),
               ("marketing.engagement.recorded", lambda r: {"campaignId": "C-1", "channel": "email", "action": "open"}),
               ("sales.outreach.sent", lambda r: {"channel": r.choice(["email", "call"]), "intent": "follow_up"}),
               ("support.contact.made", lambda r: {"channel": r.choice(["email", "call", "meeting"])}),
               ("product.feature.adopted", lambda r: {"feature": r.choice(["sso", "api"])})]
AMOUNTS = [("EUR", lambda r: f"{r.randint(100, 9000)}.{r.randint(0, 99):02d}"),
           ("JPY", lambda r: str(r.randint(1000, 90000))),
           ("KWD", lambda r: f"{r.randint(10, 900)}.{r.randint(0, 999):03d}")]


def journeys(now: datetime, accounts: int, seed: int) -> list[dict[str, Any]]:
    """Random touches over 200 days and a few wins per account, some touches at one instant (ties)."""
    rng = random.Random(seed)
    events = []
    for number in range(accounts):
        account = unique("dd")
        for index in range(rng.randint(4, 14)):
            at = now - timedelta(days=rng.randint(1, 200), hours=rng.choice([0, 5]))
            if rng.random() < 0.2:
                currency, amount = rng.choice(AMOUNTS)
                events.append({"id": f"{account}-w{index}", "source": "crm", "type": "sales.opportunity.won",
                               "accountId": account, "occurredAt": at.isoformat(),
                               "data": {"opportunityId": f"O-{index}", "amount": amount(rng), "currency": currency}})
                continue
            kind, data = rng.choice(TOUCH_KINDS)
            events.append({"id": f"{account}-t{index}", "source": rng.choice(["crm", "hub"]), "type": kind,
                           "accountId": account, "occurredAt": at.isoformat(), "data": data(rng)})
        if number % 5 == 0:  # the last win, and a touch at its very instant: the win's, not the open journey's
            at = (now - timedelta(days=3)).isoformat()
            events.append({"id": f"{account}-last", "source": "crm", "type": "sales.opportunity.won",
                           "accountId": account, "occurredAt": at,
                           "data": {"opportunityId": "O-last", "amount": "99.99", "currency": "EUR"}})
            events.append({"id": f"{account}-same", "source": "hub", "type": "support.contact.made",
                           "accountId": account, "occurredAt": at, "data": {"channel": "meeting"}})
        if number % 3 == 0:  # a win with no touch before it in the window
            events.append({"id": f"{account}-lone", "source": "crm", "type": "sales.opportunity.won",
                           "accountId": account, "occurredAt": (now - timedelta(days=250)).isoformat(),
                           "data": {"opportunityId": "O-lone", "amount": "10.00", "currency": "EUR"}})
    return events


def month_of(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=timezone.utc)


def learnt(connection: psycopg.Connection[dict[str, Any]], month: datetime) -> dict[tuple[str, str], Any]:
    """The removal effects of the month's journeys, from the stored rows: its conversions' touches, and every
    account's touches since its last conversion within the lookback window before the month's end."""
    start, until = month, next_month(month) - JUST_BEFORE
    rows = connection.execute(
        f"SELECT * FROM {CREDITS} WHERE occurred_at >= %s AND occurred_at <= %s ORDER BY conversion_position,"
        " touch_at, touch_source COLLATE \"C\", touch_event_id COLLATE \"C\"", (start, until)).fetchall()
    journeys = [Journey(tuple((row["department"], row["channel"]) for row in each if row["touch_position"] is not None),
                        True) for _, each in groupby(rows, key=lambda row: row["conversion_position"])]
    last = {row["account_id"]: row["at"] for row in connection.execute(
        f"SELECT account_id, max(occurred_at) AS at FROM {CREDITS} WHERE occurred_at <= %s GROUP BY 1", (until,))}
    touches = connection.execute(
        f"SELECT * FROM {TOUCHES} WHERE occurred_at > %s AND occurred_at <= %s ORDER BY account_id,"
        " occurred_at, source COLLATE \"C\", event_id COLLATE \"C\"", (until - LOOKBACK, until)).fetchall()
    for account, each in groupby(touches, key=lambda row: row["account_id"]):
        path = tuple((row["department"], row["channel"]) for row in each
                     if account not in last or row["occurred_at"] > last[account])
        if path:
            journeys.append(Journey(path, False))
    return removal_effects(journeys)


def reference_credits(connection: psycopg.Connection[dict[str, Any]], start: datetime,
                      end: datetime) -> list[tuple[list[dict[str, Any]], list[Decimal]]]:
    """The conversions of [start, end) with their rows, each credited in Python by its own month's effects."""
    rows = connection.execute(
        f"SELECT * FROM {CREDITS} WHERE occurred_at >= %s AND occurred_at < %s ORDER BY conversion_position,"
        " touch_at, touch_source COLLATE \"C\", touch_event_id COLLATE \"C\"", (start, end)).fetchall()
    effects: dict[datetime, dict[tuple[str, str], Any]] = {}
    credited = []
    for _, group in groupby(rows, key=lambda row: row["conversion_position"]):
        each = list(group)
        first = each[0]
        if first["touch_position"] is None:
            credited.append((each, [first["amount"]]))
            continue
        month = month_of(first["occurred_at"].astimezone(timezone.utc))
        if month not in effects:
            effects[month] = learnt(connection, month)
        credited.append((each, split(first["amount"], first["currency"], data_driven_weights(
            [(row["department"], row["channel"]) for row in each], effects[month]))))
    return credited


def reference(connection: psycopg.Connection[dict[str, Any]], start: datetime, end: datetime,
              group: str) -> list[tuple[Any, ...]]:
    """Totals of [start, end) by the Python reference over the stored rows."""
    sums: dict[tuple[str, str | None, bool], list[Any]] = {}
    for each, credits in reference_credits(connection, start, end):
        first = each[0]
        if first["touch_position"] is None:
            entry = sums.setdefault((first["currency"], None, True), [Decimal(0), 0, 0])
            entry[0] += first["amount"]
            entry[1] += 1
            continue
        seen = set()
        for row, credit in zip(each, credits, strict=True):
            entry = sums.setdefault((first["currency"], row[group], False), [Decimal(0), 0, 0])
            entry[0] += credit
            entry[2] += 1
            if row[group] not in seen:
                seen.add(row[group])
                entry[1] += 1
    return sorted(((currency, name, unattributed, str(amount), conversions, touches)
                   for (currency, name, unattributed), (amount, conversions, touches) in sums.items()), key=str)


@pytest.fixture
def connection(database_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as connected:
        yield connected


@pytest.mark.parametrize("group", ["DEPARTMENT", "CHANNEL"])
def test_data_driven_totals_equal_the_python_reference_month_by_month(
    client: httpx.Client, connection: psycopg.Connection[dict[str, Any]], group: str
) -> None:
    now = datetime.now(timezone.utc)
    events = journeys(now, accounts=40, seed=7 if group == "DEPARTMENT" else 8)
    record(client, events)
    ids = [event["id"] for event in events if event["type"] == "sales.opportunity.won"]

    def credited() -> bool:
        row = connection.execute(f"SELECT count(DISTINCT conversion_event_id) AS n FROM {CREDITS}"
                                 " WHERE conversion_event_id = ANY(%s)", (ids,)).fetchone()
        return row is not None and row["n"] == len(ids)

    assert eventually(credited, timeout=30), "the projector did not credit the wins"
    rng = random.Random(3)
    ranges = [(now - timedelta(days=400), now + timedelta(days=1))]
    for _ in range(6):
        start = now - timedelta(days=rng.uniform(1, 260))
        ranges.append((start, start + timedelta(days=rng.uniform(0.5, 200))))

    def served(start: datetime, end: datetime) -> list[tuple[Any, ...]]:
        body = graphql(client, TOTALS, {"model": "DATA_DRIVEN", "groupBy": group, "from": start.isoformat(),
                                        "to": end.isoformat()})
        assert "errors" not in body, body
        return sorted(((row["currency"], row["group"], row["unattributed"], row["amount"], row["conversions"],
                        row["touches"]) for row in body["data"]["attribution"]), key=str)

    compared = 0
    for start, end in ranges:
        assert eventually(lambda: served(start, end) == reference(connection, start, end, group.lower())), \
            (start, end, served(start, end), reference(connection, start, end, group.lower()))
        compared += len(served(start, end))
    assert compared > 20  # the ranges hold conversions in several currencies and groups


ACCOUNT_CREDITS = """query ($id: ID!) { account(id: $id) { attribution(model: DATA_DRIVEN) {
  eventId amount credits { amount } } } }"""


def test_a_late_touch_in_a_month_over_credits_that_month_again(
    client: httpx.Client, connection: psycopg.Connection[dict[str, Any]]
) -> None:
    """A touch dated in a month already learnt changes that month's journeys: its conversions are credited again by
    the effects learnt anew, the account's credits as the totals, and months still tile."""
    now = datetime.now(timezone.utc)
    events = journeys(now, accounts=30, seed=21)
    record(client, events)
    month = month_of(now - timedelta(days=62))  # over, with conversions in it
    end = next_month(month)
    wins = [event for event in events if event["type"] == "sales.opportunity.won"
            and month <= datetime.fromisoformat(event["occurredAt"]) < end]
    assert wins, "the generated story has wins in the month"

    def served(start: datetime, stop: datetime) -> list[tuple[Any, ...]]:
        body = graphql(client, TOTALS, {"model": "DATA_DRIVEN", "groupBy": "DEPARTMENT",
                                        "from": start.isoformat(), "to": stop.isoformat()})
        assert "errors" not in body, body
        return sorted(((row["currency"], row["group"], row["unattributed"], row["amount"], row["conversions"],
                        row["touches"]) for row in body["data"]["attribution"]), key=str)

    assert eventually(lambda: served(month, end) == reference(connection, month, end, "department"), timeout=30)
    before = served(month, end)
    win = wins[0]
    late = {"id": f"{win['accountId']}-late", "source": "hub", "type": "product.feature.adopted",
            "accountId": win["accountId"], "data": {"feature": "late-feature"},
            "occurredAt": (datetime.fromisoformat(win["occurredAt"]) - timedelta(hours=1)).isoformat()}
    record(client, [late])
    assert eventually(lambda: served(month, end) != before
                      and served(month, end) == reference(connection, month, end, "department"), timeout=30), \
        (before, served(month, end), reference(connection, month, end, "department"))

    body = graphql(client, ACCOUNT_CREDITS, {"id": win["accountId"]})
    assert "errors" not in body, body
    account = {each["eventId"]: [credit["amount"] for credit in each["credits"]] or [each["amount"]]
               for each in body["data"]["account"]["attribution"]}
    expected = {rows[0]["conversion_event_id"]: [str(credit) for credit in credits]
                for rows, credits in reference_credits(connection, now - timedelta(days=400), now + timedelta(days=1))
                if rows[0]["account_id"] == win["accountId"]}
    assert account == expected

    middle = month + timedelta(days=13, hours=5)
    halves = [served(month, middle), served(middle, end)]
    summed: dict[tuple[str, str | None, bool], Decimal] = {}
    for half in halves:
        for currency, group, unattributed, amount, _, _ in half:
            summed[currency, group, unattributed] = summed.get((currency, group, unattributed), Decimal(0)) \
                + Decimal(amount)
    assert summed == {(currency, group, unattributed): Decimal(amount)
                      for currency, group, unattributed, amount, _, _ in served(month, end)}
