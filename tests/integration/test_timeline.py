"""Reading accounts and timelines through /graphql."""

from __future__ import annotations

import httpx

from tests.support import TIMELINE, event, graphql, record, timeline, unique


def test_a_timeline_of_events_that_arrived_out_of_order_is_in_occurred_at_order(client: httpx.Client) -> None:
    account = unique()
    times = ["2026-03-05T10:00:00Z", "2026-03-01T10:00:00Z", "2026-03-03T12:00:00+02:00", "2026-03-03T09:00:00Z"]
    sent = [event(account_id=account, occurred_at=at) for at in times]
    record(client, sent[:2])
    record(client, sent[2:])
    assert [node["id"] for node in timeline(client, account)] == [sent[i]["id"] for i in (1, 3, 2, 0)]


def test_ties_in_occurred_at_are_broken_by_arrival(client: httpx.Client) -> None:
    account = unique()
    same_instant = ["2026-03-03T10:00:00Z", "2026-03-03T12:00:00+02:00", "2026-03-03T10:00:00Z"]
    sent = [event(account_id=account, occurred_at=at) for at in same_instant]
    record(client, [sent[2]])
    record(client, [sent[0], sent[1]])
    assert [node["id"] for node in timeline(client, account)] == [sent[2]["id"], sent[0]["id"], sent[1]["id"]]


def test_the_timeline_pages_with_cursors(client: httpx.Client) -> None:
    account = unique()
    sent = [event(account_id=account, occurred_at=f"2026-03-{day:02d}T00:00:00Z") for day in range(1, 8)]
    record(client, sent)
    seen: list[str] = []
    after = None
    while True:
        page = graphql(client, TIMELINE, {"id": account, "first": 3, "after": after})["data"]["account"]["timeline"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [e["id"] for e in sent]


def test_the_timeline_filters_by_department(client: httpx.Client) -> None:
    account = unique()
    sent = [event("support.ticket.opened", account_id=account), event("billing.service.suspended", account_id=account, data={}),
            event("sales.account.updated", account_id=account, data={"name": "Acme"})]
    record(client, sent)
    nodes = timeline(client, account, departments=["BILLING", "SALES"])
    assert sorted(node["department"] for node in nodes) == ["BILLING", "SALES"]
    assert timeline(client, account, departments=[]) == []


def test_an_event_reads_back_with_its_envelope(client: httpx.Client) -> None:
    account = unique()
    sent = event("billing.invoice.issued", account_id=account, contactId="c-17", actor="billing-bot",
                 occurred_at="2026-03-02T09:14:00+01:00",
                 data={"invoiceId": "I-88", "amount": "1250.50", "currency": "EUR", "dueAt": "2026-04-01", "extra": {"k": [1, "v"]}})
    record(client, [sent])
    (node,) = timeline(client, account)
    assert node["occurredAt"] == "2026-03-02T08:14:00+00:00"
    assert {k: node[k] for k in ("id", "source", "type", "department", "accountId", "contactId", "actor")} == {
        "id": sent["id"], "source": "test", "type": "billing.invoice.issued", "department": "BILLING",
        "accountId": account, "contactId": "c-17", "actor": "billing-bot"}
    assert node["data"] == sent["data"]
    assert len(node["position"]) == 19 and node["recordedAt"].endswith("+00:00")


def test_the_account_name_is_the_latest_by_occurred_at(client: httpx.Client) -> None:
    account = unique()
    record(client, [event("sales.account.updated", account_id=account, data={"name": "New Name"}, occurred_at="2026-05-01T00:00:00Z")])
    record(client, [event("sales.account.updated", account_id=account, data={"name": "Old Name"}, occurred_at="2026-01-01T00:00:00Z"),
                    event("sales.account.updated", account_id=account, data={"tier": "gold"}, occurred_at="2026-06-01T00:00:00Z")])
    query = "query($id: ID!, $asOf: DateTime) { account(id: $id, asOf: $asOf) { name } }"
    assert graphql(client, query, {"id": account})["data"]["account"]["name"] == "New Name"
    assert graphql(client, query, {"id": account, "asOf": "2026-02-01T00:00:00Z"})["data"]["account"]["name"] == "Old Name"
    assert graphql(client, query, {"id": account, "asOf": "2025-12-01T00:00:00Z"})["data"]["account"]["name"] is None


def test_as_of_limits_the_timeline_to_events_that_had_occurred(client: httpx.Client) -> None:
    account = unique()
    sent = [event(account_id=account, occurred_at=f"2026-03-{day:02d}T00:00:00Z") for day in (1, 2, 3)]
    record(client, sent)
    nodes = timeline(client, account, asOf="2026-03-02T00:00:00Z")
    assert [node["id"] for node in nodes] == [sent[0]["id"], sent[1]["id"]]


def test_an_unknown_account_is_null(client: httpx.Client) -> None:
    body = graphql(client, "{ account(id: \"never-seen\") { id } }")
    assert body == {"data": {"account": None}}


def test_accounts_are_listed_in_pages(client: httpx.Client) -> None:
    prefix = unique("list")
    ids = [f"{prefix}-{i}" for i in range(5)]
    record(client, [event(account_id=account) for account in ids])
    query = "query($first: Int, $after: String) { accounts(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
    listed: list[str] = []
    after = None
    while True:
        page = graphql(client, query, {"first": 40, "after": after})["data"]["accounts"]
        listed += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [account for account in listed if account.startswith(prefix)] == ids
    assert listed == sorted(listed)
