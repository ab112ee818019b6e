"""`contradictionsCost` and `cxImpact` through /graphql, on a database of their own (they read every account).

Thirty accounts had sales push them while an urgent ticket was open (a HIGH finding):
ten of them then won 500 USD, fifteen cancelled their 100 USD a month. Thirty others were
treated consistently: twenty won 1,000 USD, three cancelled. Every number below is
computed by hand from that story.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer, administer, with_database
from tests.integration.test_findings import eventually
from tests.support import graphql, record, wait_for_projection

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FROM, TO = (NOW - timedelta(days=60)).isoformat(), (NOW + timedelta(days=1)).isoformat()
RULE = "sales-pressure-during-escalation"

COST = """
query($from: DateTime!, $to: DateTime!) { contradictionsCost(from: $from, to: $to) {
  byRule { rule convertedWhileOpen { amounts { amount currency } events accounts unknownAmounts }
           lostAfterHigh { amounts { amount currency } events accounts unknownAmounts } }
  byDepartmentPair { departments convertedWhileOpen { amounts { amount currency } events }
                     lostAfterHigh { amounts { amount currency } events } }
} }"""
IMPACT = """
query($from: DateTime!, $to: DateTime!) { cxImpact(from: $from, to: $to) {
  scope withAccounts withoutAccounts tooSmall
  comparisons { metric currency withValue withoutValue difference low high withAccounts withoutAccounts
                withTotal withoutTotal tooSmall reading }
} }"""


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def story(account: str, *, pushed: bool, won: str | None, cancelled: bool) -> list[dict[str, Any]]:
    def event(kind: str, days: float, **data: Any) -> dict[str, Any]:
        return {"id": uuid4().hex, "source": "test", "type": kind, "accountId": account, "occurredAt": ago(days),
                "data": data}

    events = [event("billing.subscription.changed", 200, change="start", plan="team", mrr="100", currency="USD")]
    if pushed:
        events += [event("support.ticket.opened", 40, ticketId=f"T-{account}", priority="urgent"),
                   event("sales.outreach.sent", 35, channel="email", intent="renewal")]
    if won is not None:
        events.append(event("sales.opportunity.won", 30, opportunityId=f"O-{account}", amount=won, currency="USD"))
    if cancelled:
        events.append(event("billing.subscription.changed", 20, change="cancel", plan="team", mrr="0", currency="USD"))
    return events


@contextmanager
def story_database(database_url: str, settings: Settings) -> Iterator[tuple[str, httpx.Client]]:
    """A database of its own holding the story, projected: its URL and a client of the service on it."""
    server = with_database(database_url, "postgres")
    name = f"cx360_impact_{uuid4().hex[:12]}"
    url = with_database(database_url, name)
    administer(server, f'CREATE DATABASE "{name}"')
    try:
        with RunningServer(replace(settings, database_url=url)) as base, \
                httpx.Client(base_url=base, timeout=60) as client:
            events = [each for n in range(30)
                      for each in story(f"with-{n}", pushed=True, won="500" if n < 10 else None, cancelled=n < 15)]
            events += [each for n in range(30)
                       for each in story(f"without-{n}", pushed=False, won="1000" if n < 20 else None, cancelled=n < 3)]
            record(client, events)
            wait_for_projection(base)  # every event judged: a finding of another rule may come after the first 30
            found = eventually(lambda: graphql(client, "{ findings(first: 100, rule: \"%s\") { edges { node { id } } } }"
                                               % RULE)["data"]["findings"]["edges"], timeout=60)
            assert len(found) == 30

            def scored() -> bool:  # views follow findings by a moment: health is compared too
                edges = graphql(client, "{ accounts(first: 100) { edges { node { health { score } } } } }")[
                    "data"]["accounts"]["edges"]
                return sum(edge["node"]["health"] is not None for edge in edges) == 60

            assert eventually(scored, timeout=60)
            yield url, client
    finally:
        administer(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def story_client(database_url: str, settings: Settings) -> Iterator[httpx.Client]:
    with story_database(database_url, settings) as (_, client):
        yield client


def comparison(rows: list[dict[str, Any]], scope: str, metric: str, currency: str | None = None) -> dict[str, Any]:
    [row] = [each for each in rows if each["scope"] == scope]
    return next(each for each in row["comparisons"] if each["metric"] == metric and each["currency"] == currency)


def test_the_cost_of_contradictions_by_rule_and_by_department_pair(story_client: httpx.Client) -> None:
    body = graphql(story_client, COST, {"from": FROM, "to": TO})
    assert "errors" not in body, body
    cost = body["data"]["contradictionsCost"]
    [rule] = [each for each in cost["byRule"] if each["rule"] == RULE]
    assert rule["convertedWhileOpen"] == {"amounts": [{"amount": "5000", "currency": "USD"}], "events": 10,
                                          "accounts": 10, "unknownAmounts": 0}
    assert rule["lostAfterHigh"] == {"amounts": [{"amount": "18000", "currency": "USD"}], "events": 15,
                                     "accounts": 15, "unknownAmounts": 0}  # a year of 100 a month, 15 times
    [pair] = [each for each in cost["byDepartmentPair"] if each["departments"] == ["SALES", "SUPPORT"]]
    assert pair["convertedWhileOpen"]["amounts"] == [{"amount": "5000", "currency": "USD"}]
    assert pair["lostAfterHigh"]["events"] == 15


def test_cx_impact_compares_the_accounts_with_a_high_finding_with_the_others(story_client: httpx.Client) -> None:
    body = graphql(story_client, IMPACT, {"from": FROM, "to": TO})
    assert "errors" not in body, body
    rows = body["data"]["cxImpact"]
    assert [(row["scope"], row["withAccounts"], row["withoutAccounts"], row["tooSmall"]) for row in rows][:2] == [
        ("HIGH", 30, 30, False), (RULE, 30, 30, False)]
    won = comparison(rows, "HIGH", "WON_REVENUE", "USD")
    assert (won["withTotal"], won["withoutTotal"]) == ("5000", "20000")
    assert won["withValue"] == pytest.approx(5000 / 30) and won["withoutValue"] == pytest.approx(20000 / 30)
    churn = comparison(rows, "HIGH", "CHURN_RATE")
    assert (churn["withValue"], churn["withoutValue"], churn["withAccounts"]) == (0.5, 0.1, 30)
    assert churn["low"] is not None and 0 < churn["low"] < churn["difference"] < churn["high"]
    assert "an association" in churn["reading"] and "not proof" in churn["reading"]
    retention = comparison(rows, "HIGH", "NET_REVENUE_RETENTION", "USD")
    assert (retention["withValue"], retention["withoutValue"]) == (pytest.approx(0.5), pytest.approx(0.9))
    health = comparison(rows, "HIGH", "AVERAGE_HEALTH")
    assert health["withAccounts"] + health["withoutAccounts"] > 0
    assert comparison(rows, RULE, "CHURN_RATE")["withValue"] == 0.5


@pytest.mark.parametrize(("variables", "message"), [
    ({"from": TO, "to": FROM}, "from: must not be after `to`"),
    ({"from": "2010-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to: the range from `from` may be at most 3650"),
])
def test_a_bad_range_is_named(client: httpx.Client, variables: dict[str, str], message: str) -> None:
    for query in (COST, IMPACT):
        body = graphql(client, query, variables)
        assert body["errors"][0]["message"].startswith(message), body
        assert body["data"] is None
