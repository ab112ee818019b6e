"""`Query.attribution` and `Account.attribution` through /graphql, with credits computed by hand.

The story (docs/attribution.md's example): account A is touched by marketing, sales, support
and product 30, 14, 7 and 0 days before a won deal of 1,000.00 USD; account C by one sales
call the day before 100.00 USD; account B wins 300.00 EUR with no touch at all; account D
had a support meeting and has not converted. The range is a random stretch of the past
no other test writes in.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.integration.test_findings import eventually
from tests.support import graphql, record, unique

TOTALS = """query ($model: AttributionModel!, $from: DateTime!, $to: DateTime!, $groupBy: AttributionGroup!) {
  attribution(model: $model, from: $from, to: $to, groupBy: $groupBy) {
    currency group unattributed amount conversions touches } }"""
ACCOUNT = """query ($id: ID!, $model: AttributionModel!, $asOf: DateTime) { account(id: $id, asOf: $asOf) {
  attribution(model: $model) { eventId kind amount currency unattributed credits { department channel campaign actor amount } } } }"""


@pytest.fixture(scope="module")
def story() -> dict[str, Any]:
    won_at = datetime(2003, 1, 1, 12, tzinfo=timezone.utc) + timedelta(days=random.randrange(2000), minutes=random.randrange(1440))
    won_at = won_at.replace(day=min(won_at.day, 27))  # C's win a day later: the same month, learnt from together
    return {"won_at": won_at, "accounts": {name: unique(f"attr-{name}") for name in "ABCD"}}


def events_of(story: dict[str, Any]) -> list[dict[str, Any]]:
    won_at, accounts = story["won_at"], story["accounts"]

    def one(name: str, suffix: str, kind: str, days: float, actor: str | None = None, **data: Any) -> dict[str, Any]:
        event = {"id": f"{accounts[name]}-{suffix}", "source": "crm", "type": kind, "accountId": accounts[name],
                 "occurredAt": (won_at - timedelta(days=days)).isoformat(), "data": data}
        return event | ({"actor": actor} if actor else {})

    return [
        one("A", "campaign", "marketing.campaign.sent", 30, "mkt-1", campaignId="C-1", channel="email", intent="nurture"),
        one("A", "call", "sales.outreach.sent", 14, "rep-1", channel="call", intent="follow_up"),
        one("A", "meeting", "support.contact.made", 7, "csm-1", channel="meeting"),
        one("A", "feature", "product.feature.adopted", 0, feature="sso"),
        one("A", "won", "sales.opportunity.won", 0, opportunityId="O-1", amount="1000.00", currency="USD"),
        one("B", "won", "sales.opportunity.won", 0, opportunityId="O-2", amount="300.00", currency="EUR"),
        one("C", "call", "sales.outreach.sent", -0.5, "rep-1", channel="call", intent="follow_up"),
        one("C", "won", "sales.opportunity.won", -1, opportunityId="O-3", amount="100.00", currency="USD"),
        one("D", "meeting", "support.contact.made", 5, "csm-1", channel="meeting"),
    ]


@pytest.fixture(scope="module")
def recorded(base_url: str, story: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        record(client, events_of(story))
    return story


def totals(client: httpx.Client, story: dict[str, Any], model: str, group_by: str = "DEPARTMENT") -> Any:
    won_at = story["won_at"]
    body = graphql(client, TOTALS, {"model": model, "groupBy": group_by, "from": (won_at - timedelta(days=40)).isoformat(),
                                    "to": (won_at + timedelta(days=2)).isoformat()})
    assert "errors" not in body, body
    return [(row["currency"], row["group"], row["unattributed"], row["amount"], row["conversions"], row["touches"])
            for row in body["data"]["attribution"]]


def settled(client: httpx.Client, story: dict[str, Any], model: str, rows: int, group_by: str = "DEPARTMENT") -> Any:
    """The totals once the projector has taken every event of the story in (the journey of D too)."""
    return eventually(lambda: (found := totals(client, story, model, group_by)) and len(found) == rows and found)


def test_linear_by_department_keeps_currencies_apart_and_reports_unattributed(
    client: httpx.Client, recorded: dict[str, Any]
) -> None:
    assert settled(client, recorded, "LINEAR", 5) == [
        ("EUR", None, True, "300.00", 1, 0),
        ("USD", "sales", False, "350.00", 2, 2),
        ("USD", "marketing", False, "250.00", 1, 1),
        ("USD", "product", False, "250.00", 1, 1),
        ("USD", "support", False, "250.00", 1, 1),
    ]


def test_the_models_differ_by_hand(client: httpx.Client, recorded: dict[str, Any]) -> None:
    settled(client, recorded, "LINEAR", 5)
    assert totals(client, recorded, "FIRST_TOUCH")[1:] == [
        ("USD", "marketing", False, "1000.00", 1, 1), ("USD", "sales", False, "100.00", 2, 2),
        ("USD", "product", False, "0.00", 1, 1), ("USD", "support", False, "0.00", 1, 1)]
    assert totals(client, recorded, "POSITION_BASED")[1:] == [
        ("USD", "product", False, "400.00", 1, 1), ("USD", "marketing", False, "400.00", 1, 1)][::-1] + [
        ("USD", "sales", False, "200.00", 2, 2), ("USD", "support", False, "100.00", 1, 1)] or None
    assert totals(client, recorded, "TIME_DECAY", "ACTOR")[1:] == [
        ("USD", None, False, "555.16", 1, 1), ("USD", "csm-1", False, "277.58", 1, 1),
        ("USD", "rep-1", False, "238.79", 2, 2), ("USD", "mkt-1", False, "28.47", 1, 1)]


def test_data_driven_credits_by_removal_effects(client: httpx.Client, recorded: dict[str, Any]) -> None:
    """Journeys of the wins' month: A (marketing, sales, support, product) and C (sales) converted, B converted with
    no touch, D (support) had not by the month's end. Removal effects: marketing 1/4, sales 1/2, support 1/3, product 1/3; A's 1,000.00 split
    3:6:4:4 is 176.47, 352.94, 235.29+, 235.29 (the cent left goes to support, the earlier of the equal losses).
    Until the month is learnt, its touches share equally: the credits settle once it is."""
    learnt = [
        ("EUR", None, True, "300.00", 1, 0),
        ("USD", "sales", False, "452.94", 2, 2),
        ("USD", "support", False, "235.30", 1, 1),
        ("USD", "product", False, "235.29", 1, 1),
        ("USD", "marketing", False, "176.47", 1, 1),
    ]
    eventually(lambda: totals(client, recorded, "DATA_DRIVEN") == learnt, timeout=30)
    assert totals(client, recorded, "DATA_DRIVEN") == learnt


def test_an_accounts_conversions_with_their_credits(client: httpx.Client, recorded: dict[str, Any]) -> None:
    account = recorded["accounts"]["A"]
    settled(client, recorded, "LINEAR", 5)
    body = graphql(client, ACCOUNT, {"id": account, "model": "TIME_DECAY"})
    assert "errors" not in body, body
    [conversion] = body["data"]["account"]["attribution"]
    assert (conversion["amount"], conversion["currency"], conversion["unattributed"]) == ("1000.00", "USD", "0.00")
    assert [(each["department"], each["channel"], each["campaign"], each["amount"]) for each in conversion["credits"]] == [
        ("marketing", "email", "C-1", "28.47"), ("sales", "call", None, "138.79"),
        ("support", "meeting", None, "277.58"), ("product", "product", None, "555.16")]
    before = graphql(client, ACCOUNT, {"id": account, "model": "LINEAR",
                                       "asOf": (recorded["won_at"] - timedelta(days=1)).isoformat()})
    assert before["data"]["account"]["attribution"] == []
    unattributed = graphql(client, ACCOUNT, {"id": recorded["accounts"]["B"], "model": "DATA_DRIVEN"})
    [alone] = unattributed["data"]["account"]["attribution"]
    assert (alone["unattributed"], alone["credits"]) == ("300.00", [])


@pytest.mark.parametrize(("variables", "argument"), [
    ({"from": "2020-01-02T00:00:00Z", "to": "2020-01-01T00:00:00Z"}, "from: must not be after `to`"),
    ({"from": "2000-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}, "to: the range from `from` may be at most 3650"),
])
def test_a_bad_range_is_refused_naming_the_argument(client: httpx.Client, variables: dict[str, str], argument: str) -> None:
    body = graphql(client, TOTALS, {"model": "LINEAR", "groupBy": "DEPARTMENT", **variables})
    assert body["data"] is None and body["errors"][0]["message"].startswith(argument), body


def test_an_unknown_model_or_grouping_is_refused_by_name(client: httpx.Client) -> None:
    body = graphql(client, TOTALS, {"model": "LAST_CLICK", "groupBy": "DEPARTMENT", "from": "2020-01-01T00:00:00Z",
                                    "to": "2020-02-01T00:00:00Z"})
    assert body["errors"][0]["message"] == ("model: 'LAST_CLICK' is not one of FIRST_TOUCH, LAST_TOUCH, LINEAR, "
                                              "TIME_DECAY, POSITION_BASED, DATA_DRIVEN"), body
    body = graphql(client, TOTALS, {"model": "LINEAR", "groupBy": "REGION", "from": "2020-01-01T00:00:00Z",
                                    "to": "2020-02-01T00:00:00Z"})
    assert body["errors"][0]["message"] == "groupBy: 'REGION' is not one of DEPARTMENT, CHANNEL, CAMPAIGN, ACTOR", body


def test_a_zero_decimal_currency_is_credited_in_whole_units(client: httpx.Client) -> None:
    """100 JPY after three touches: 34, 33, 33 yen (the yen has no minor unit), not 33.34, 33.33, 33.33."""
    account, won_at = unique("attr-jpy"), datetime(2002, 6, 1, 12, tzinfo=timezone.utc)

    def one(suffix: str, kind: str, days: int, **data: Any) -> dict[str, Any]:
        return {"id": f"{account}-{suffix}", "source": "crm", "type": kind, "accountId": account,
                "occurredAt": (won_at - timedelta(days=days)).isoformat(), "data": data}

    record(client, [one("call-1", "sales.outreach.sent", 9, channel="call", intent="follow_up"),
                    one("call-2", "sales.outreach.sent", 6, channel="call", intent="follow_up"),
                    one("call-3", "sales.outreach.sent", 3, channel="call", intent="follow_up"),
                    one("won", "sales.opportunity.won", 0, opportunityId="O-JPY", amount="100", currency="JPY")])

    def credits() -> list[str]:
        body = graphql(client, ACCOUNT, {"id": account, "model": "LINEAR"})
        assert "errors" not in body, body
        found = body["data"]["account"] and body["data"]["account"]["attribution"]
        return [credit["amount"] for credit in found[0]["credits"]] if found else []

    assert eventually(lambda: credits() or None) == ["34", "33", "33"]
