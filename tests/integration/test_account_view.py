"""The account experience view through /graphql: departments, health, lifecycle, satisfaction, agent context, lists."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from service.access.keys import ACTIVE
from service.api.schema import build_schema
from service.bootstrap import open_context
from service.read.findings import AS_OF
from service.settings import Settings
from service.stream.logs import CHANGE_LOG, EVENT_LOG
from tests.integration.test_findings import ago, eventually
from tests.support import graphql, record, unique

VIEW = """
query($id: ID!, $asOf: DateTime) {
  account(id: $id, asOf: $asOf) {
    name viewedAt
    departments { department lastTouchAt lastTouchType events { last7Days last30Days last90Days }
                  outboundTouches { last7Days } openItems { kind id summary priority amount currency daysOverdue } }
    health { score components { name value weight explanation } trend { at score } }
    lifecycle { stage since reason }
    satisfaction { nps responses detractors detractorsNotFollowedUp latestNps { contactId score } }
    agentContext { billingStanding donts { text reason } openSeriousTickets { id } thisWeek { department type }
                   openFindings { rule } }
  }
}"""

LIST = """
query($first: Int, $after: String, $filter: AccountFilterInput, $orderBy: AccountOrder) {
  accounts(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { cursor node { id name health { score } lifecycle { stage } findings { rule } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def story(account: str) -> list[dict[str, Any]]:
    """A customer of a year with an urgent ticket, an opted-out contact, an overdue invoice and a detractor."""
    def at(n: int, kind: str, days: float, data: dict[str, Any], contact: str | None = None) -> dict[str, Any]:
        event = {"id": f"{account}-{n}", "source": "test", "type": kind, "accountId": account,
                 "occurredAt": ago(days=days), "data": data}
        return {**event, "contactId": contact} if contact else event
    return [
        at(1, "sales.account.updated", 400, {"name": "Acme Rockets"}),
        at(2, "billing.subscription.changed", 390, {"change": "start", "plan": "pro", "mrr": "900", "currency": "EUR"}),
        at(3, "support.ticket.opened", 3, {"ticketId": "T-4411", "priority": "urgent"}, "c-1"),
        at(4, "marketing.consent.changed", 20, {"channel": "email", "granted": False}, "c-17"),
        at(5, "billing.invoice.issued", 60, {"invoiceId": "I-88", "amount": "1200.00", "currency": "EUR",
                                             "dueAt": ago(days=45)}),
        at(6, "marketing.nps.responded", 10, {"score": 3}, "c-1"),
        at(7, "product.usage.recorded", 2, {"activeUsers": 40, "seats": 100}),
    ]


def view_of(client: httpx.Client, account: str, **variables: Any) -> dict[str, Any] | None:
    body = graphql(client, VIEW, {"id": account, **variables})
    assert "errors" not in body, body
    found: dict[str, Any] | None = body["data"]["account"]
    return found


def test_the_view_shows_every_department_and_what_not_to_say(client: httpx.Client) -> None:
    account = unique()
    record(client, story(account))
    view = eventually(lambda: (found := view_of(client, account)) and found["viewedAt"] and found)
    departments = {each["department"]: each for each in view["departments"]}
    assert set(departments) == {"MARKETING", "SALES", "PRODUCT", "SUPPORT", "BILLING"}
    assert [item["id"] for item in departments["SUPPORT"]["openItems"]] == ["T-4411"]
    invoice = departments["BILLING"]["openItems"][0]
    assert (invoice["id"], invoice["amount"], invoice["daysOverdue"]) == ("I-88", "1200.00", 45)
    assert view["lifecycle"]["stage"] == "AT_RISK"
    assert view["satisfaction"]["nps"] == -100 and view["satisfaction"]["detractorsNotFollowedUp"] == 1
    assert len(view["health"]["components"]) == 6 and len(view["health"]["trend"]) == 12
    donts = [warning["text"] for warning in view["agentContext"]["donts"]]
    assert any(text.startswith("Don't pitch an upgrade") and "T-4411" in text for text in donts), donts
    assert any(text.startswith("Don't email c-17") for text in donts), donts
    assert [ticket["id"] for ticket in view["agentContext"]["openSeriousTickets"]] == ["T-4411"]
    assert "I-88" in view["agentContext"]["billingStanding"]


def test_as_of_shows_the_view_then(client: httpx.Client) -> None:
    account = unique()
    record(client, story(account))
    eventually(lambda: (found := view_of(client, account)) and found["viewedAt"])
    before_the_ticket = view_of(client, account, asOf=ago(days=5))
    assert before_the_ticket is not None
    assert "SUPPORT" not in {each["department"] for each in before_the_ticket["departments"]}
    assert before_the_ticket["agentContext"]["openSeriousTickets"] == []
    assert before_the_ticket["viewedAt"] is not None


def test_one_instant_asked_with_two_offsets_gives_one_answer_in_utc(client: httpx.Client) -> None:
    account = unique()
    record(client, story(account))
    eventually(lambda: (found := view_of(client, account)) and found["viewedAt"])
    instant = (datetime.now(timezone.utc) - timedelta(days=2)).replace(microsecond=0)
    query = """query($id: ID!, $z: DateTime, $plus2: DateTime) { z: account(id: $id, asOf: $z) { viewedAt }
                                                               plus2: account(id: $id, asOf: $plus2) { viewedAt } }"""
    asked = {"z": instant.isoformat().replace("+00:00", "Z"),
             "plus2": instant.astimezone(timezone(timedelta(hours=2))).isoformat()}
    body = graphql(client, query, {"id": account, **asked})
    assert "errors" not in body, body
    assert body["data"]["z"]["viewedAt"] == body["data"]["plus2"]["viewedAt"] == instant.isoformat()
    alone = graphql(client, "query($id: ID!, $at: DateTime) { account(id: $id, asOf: $at) { viewedAt } }",
                    {"id": account, "at": asked["plus2"]})
    assert alone["data"]["account"]["viewedAt"] == instant.isoformat(), alone  # in UTC, asked alone too


def page(client: httpx.Client, **variables: Any) -> dict[str, Any]:
    body = graphql(client, LIST, {"first": 50, **variables})
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["accounts"]
    return connection


def test_lists_filter_order_and_page(client: httpx.Client) -> None:
    prefix = unique("list")
    quiet, troubled = f"{prefix}-quiet", f"{prefix}-troubled"
    record(client, story(troubled) + [{"id": f"{quiet}-1", "source": "test", "type": "sales.account.updated",
                                       "accountId": quiet, "occurredAt": ago(days=1), "data": {"name": "Quiet Co"}}])
    mine = {"search": prefix}
    # the list filters and orders by the views, which follow the findings by the view delay
    eventually(lambda: [e["node"]["id"] for e in page(client, filter={**mine, "hasOpenFindings": True})["edges"]])
    by_findings = [edge["node"]["id"] for edge in page(client, filter=mine, orderBy="OPEN_FINDINGS_DESC")["edges"]]
    assert by_findings == [troubled, quiet]
    assert [e["node"]["id"] for e in page(client, filter={**mine, "hasOpenFindings": True})["edges"]] == [troubled]
    assert [e["node"]["id"] for e in page(client, filter={**mine, "stage": "PROSPECT"})["edges"]] == [quiet]
    assert [e["node"]["id"] for e in page(client, filter={**mine, "minSeverity": "MEDIUM"})["edges"]] == [troubled]
    assert page(client, filter={**mine, "minSeverity": "HIGH"})["edges"] == []  # ignored-detractor is MEDIUM
    first = page(client, filter=mine, orderBy="SEVERITY_DESC", first=1)
    rest = page(client, filter=mine, orderBy="SEVERITY_DESC", after=first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in first["edges"] + rest["edges"]] == [troubled, quiet]


def test_bad_list_arguments_are_named(client: httpx.Client) -> None:
    def error(**variables: Any) -> str:
        body = graphql(client, LIST, variables)
        message: str = body["errors"][0]["message"]
        return message

    assert error(filter={"minHealth": 101}).startswith("filter.minHealth: must be between 0 and 100")
    assert error(filter={"minHealth": 60, "maxHealth": 50}).startswith("filter.minHealth: must not be above maxHealth")
    assert error(filter={"search": ""}).startswith("filter.search: must be 1 to 200 characters")
    cursor = page(client, first=1)["pageInfo"]["endCursor"]
    assert error(after=cursor, orderBy="NAME").startswith("after: is a cursor of the ID ordering, not NAME")
    assert "orderBy" in error(orderBy="SIDEWAYS")


# The background readers' own: the subscriptions' feeds and the key ring (which reads when its listener is up).
FEEDS = {log.head for log in (EVENT_LOG, CHANGE_LOG)} | {log.after for log in (EVENT_LOG, CHANGE_LOG)} | {ACTIVE}


async def test_a_list_with_views_and_findings_costs_the_same_queries_for_5_or_50_accounts(
    client: httpx.Client, settings: Settings
) -> None:
    prefix = unique("many")
    record(client, [event for n in range(50) for event in story(f"{prefix}-{n:02d}")])
    eventually(lambda: len([e for e in page(client, filter={"search": prefix})["edges"] if e["node"]["health"]]) == 50,
               timeout=60)
    query = """
    query($first: Int, $filter: AccountFilterInput) {
      accounts(first: $first, filter: $filter) { edges { node {
        id departments { department openItems { id } } health { score } findings { rule evidence { id } }
        agentContext { donts { text } openFindings { rule } }
      } } }
    }"""
    queries: list[str] = []
    schema = build_schema()
    async with open_context(replace(settings, projector="off"), on_query=lambda logged: queries.append(logged.query)) as context:
        counts = []
        for first in (5, 50):
            queries.clear()
            result = await schema.execute(query, {"first": first, "filter": {"search": prefix}}, context_value=context.for_request())
            assert result.errors is None, result.errors
            assert len(result.data["accounts"]["edges"]) == first  # type: ignore[index]
            counts.append(len([each for each in queries if "cx360_" in each and each not in FEEDS]))  # not the pool's own
    assert counts[0] == counts[1] == 4, counts  # accounts, views, findings, evidence events


async def test_an_as_of_query_reads_and_judges_the_account_once(client: httpx.Client, settings: Settings) -> None:
    account = unique()
    record(client, story(account))
    eventually(lambda: (found := view_of(client, account)) and found["viewedAt"])
    query = """
    query($id: ID!, $asOf: DateTime) { account(id: $id, asOf: $asOf) {
      health { score } findings(state: ALL) { rule } agentContext { openFindings { rule } }
    } }"""
    queries: list[str] = []
    async with open_context(replace(settings, projector="off"), on_query=lambda logged: queries.append(logged.query)) as context:
        result = await build_schema().execute(query, {"id": account, "asOf": ago(days=1)}, context_value=context.for_request())
    assert result.errors is None, result.errors
    assert result.data["account"]["findings"] and result.data["account"]["health"]  # type: ignore[index]
    assert queries.count(AS_OF) == 1, queries  # not once for the view and once per findings field


def test_a_repeated_account_query_is_fresh_after_an_event_or_a_new_judgement(client: httpx.Client) -> None:
    """The side-panel query is answered from a cache keyed by the account's version and judgement."""
    account = unique()
    record(client, story(account))
    query = "query($id: ID!) { account(id: $id) { viewedAt timeline(first: 100) { edges { node { id } } } } }"

    def ask() -> dict[str, Any]:
        body = graphql(client, query, {"id": account})
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["account"]
        return found

    first = eventually(lambda: (answer := ask())["viewedAt"] and answer)
    assert ask() == first
    record(client, [{"id": f"{account}-late", "source": "test", "type": "product.feature.adopted", "accountId": account,
                     "occurredAt": ago(days=1), "data": {"feature": "sso"}}])
    assert len(ask()["timeline"]["edges"]) == len(first["timeline"]["edges"]) + 1  # a new event: a new version
    assert eventually(lambda: ask()["viewedAt"] != first["viewedAt"])  # and the view judged again


def test_search_takes_wildcards_literally(client: httpx.Client) -> None:
    prefix = unique("lit")
    named = {f"{prefix}_x": "50% off", f"{prefix}yx": "Fifty percent"}
    record(client, [{"id": f"{account}-n", "source": "test", "type": "sales.account.updated", "accountId": account,
                     "occurredAt": ago(days=1), "data": {"name": name}} for account, name in named.items()])

    def found(search: str) -> list[str]:
        return sorted(edge["node"]["id"] for edge in page(client, filter={"search": search})["edges"])

    assert found(f"{prefix}_") == [f"{prefix}_x"]  # `_` is not "any character"
    assert found("50% off") == [f"{prefix}_x"]
    assert found(f"{prefix}%") == []  # `%` is not "anything"
