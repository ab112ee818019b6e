"""Findings end to end: events in through `recordEvents`, findings out through `/graphql`."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from uuid import uuid4

import httpx

from tests.support import graphql, record, unique

FINDING_FIELDS = "id rule severity departments summary detectedAt resolvedAt evidence { id type position }"

ACCOUNT_FINDINGS = f"""
query($id: ID!, $asOf: DateTime, $state: FindingState) {{
  account(id: $id, asOf: $asOf) {{ findings(state: $state) {{ {FINDING_FIELDS} }} }}
}}"""

FINDINGS = f"""
query($first: Int, $after: String, $rule: String, $department: Department, $state: FindingState) {{
  findings(first: $first, after: $after, rule: $rule, department: $department, state: $state) {{
    edges {{ cursor node {{ {FINDING_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

MATRIX = """
query($from: DateTime, $to: DateTime) {
  departmentMatrix(from: $from, to: $to) { departments findings openFindings accountsAffected }
}"""


def ago(days: float = 0, seconds: float = 0) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days, seconds=seconds)).isoformat()


def urgent_ticket_and_renewal(account: str) -> list[dict[str, Any]]:
    """Event ids are `<account>-1`, `<account>-2`: (source, id) is unique across the store."""
    return [
        {"id": f"{account}-1", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
         "occurredAt": ago(10), "data": {"ticketId": "T-4411", "priority": "urgent"}},
        {"id": f"{account}-2", "source": "salesforce", "type": "sales.outreach.sent", "accountId": account,
         "occurredAt": ago(5), "data": {"channel": "email", "intent": "renewal"}},
    ]


def account_findings(client: httpx.Client, account: str, **variables: Any) -> list[dict[str, Any]]:
    body = graphql(client, ACCOUNT_FINDINGS, {"id": account, **variables})
    assert "errors" not in body, body
    findings: list[dict[str, Any]] = body["data"]["account"]["findings"]
    return findings


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """The first truthy result of `check`, polled until the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_a_contradiction_recorded_becomes_a_finding_with_its_evidence(client: httpx.Client) -> None:
    account = unique()
    events = urgent_ticket_and_renewal(account)
    record(client, events)
    found = eventually(lambda: account_findings(client, account))
    assert [each["rule"] for each in found] == ["sales-pressure-during-escalation"]
    finding = found[0]
    assert finding["severity"] == "HIGH" and finding["departments"] == ["SALES", "SUPPORT"]
    assert finding["resolvedAt"] is None
    assert [each["id"] for each in finding["evidence"]] == [f"{account}-1", f"{account}-2"]
    assert "T-4411" in finding["summary"]


def test_a_late_event_with_an_older_date_judges_the_account_again(client: httpx.Client) -> None:
    account = unique()
    record(client, urgent_ticket_and_renewal(account))
    assert eventually(lambda: account_findings(client, account))
    resolved_before_the_push = {"id": f"{account}-3", "source": "zendesk", "type": "support.ticket.resolved",
                                "accountId": account, "occurredAt": ago(7), "data": {"ticketId": "T-4411"}}
    record(client, [resolved_before_the_push])
    assert eventually(lambda: account_findings(client, account, state="ALL") == [])


def test_resolution_closes_the_finding_and_state_filters(client: httpx.Client) -> None:
    account = unique()
    resolved = {"id": f"{account}-3", "source": "zendesk", "type": "support.ticket.resolved", "accountId": account,
                "occurredAt": ago(1), "data": {"ticketId": "T-4411"}}
    record(client, [*urgent_ticket_and_renewal(account), resolved])
    closed = eventually(lambda: account_findings(client, account, state="RESOLVED"))
    assert len(closed) == 1 and closed[0]["resolvedAt"] is not None
    assert account_findings(client, account) == []  # OPEN is the default
    assert len(account_findings(client, account, state="ALL")) == 1


def test_as_of_gives_the_findings_true_then(client: httpx.Client) -> None:
    account = unique()
    record(client, urgent_ticket_and_renewal(account))
    live = eventually(lambda: account_findings(client, account))
    assert account_findings(client, account, asOf=ago(7)) == []
    assert account_findings(client, account, asOf=ago(4)) == live


def test_query_findings_filters_by_rule_and_department_and_pages(client: httpx.Client) -> None:
    account = unique()
    record(client, urgent_ticket_and_renewal(account))
    finding_id = eventually(lambda: account_findings(client, account))[0]["id"]

    def ids(**variables: Any) -> list[str]:
        body = graphql(client, FINDINGS, {"first": 100, **variables})
        assert "errors" not in body, body
        return [edge["node"]["id"] for edge in body["data"]["findings"]["edges"]]

    assert finding_id in ids(rule="sales-pressure-during-escalation", department="SUPPORT")
    assert finding_id not in ids(rule="contact-pressure")
    assert finding_id not in ids(department="MARKETING")
    assert finding_id not in ids(state="RESOLVED")
    first = graphql(client, FINDINGS, {"first": 1})["data"]["findings"]
    if first["pageInfo"]["hasNextPage"]:
        rest = ids(after=first["pageInfo"]["endCursor"])
        assert first["edges"][0]["node"]["id"] not in rest


def test_department_matrix_counts_pairs(client: httpx.Client) -> None:
    account = unique()
    record(client, urgent_ticket_and_renewal(account))
    eventually(lambda: account_findings(client, account))
    body = graphql(client, MATRIX, {"from": ago(6), "to": ago(4)})
    assert "errors" not in body, body
    pairs = {tuple(row["departments"]): row for row in body["data"]["departmentMatrix"]}
    assert pairs[("SALES", "SUPPORT")]["findings"] >= 1
    assert pairs[("SALES", "SUPPORT")]["accountsAffected"] >= 1


def error_of(client: httpx.Client, query: str, variables: dict[str, Any]) -> str:
    body = graphql(client, query, variables)
    assert body.get("data") is None or "errors" in body, body
    message: str = body["errors"][0]["message"]
    return message


def test_bad_findings_arguments_are_named(client: httpx.Client) -> None:
    assert error_of(client, FINDINGS, {"rule": "no-such-rule"}).startswith("rule: unknown rule 'no-such-rule'")
    assert error_of(client, FINDINGS, {"first": -1}).startswith("first: must not be negative")
    assert error_of(client, FINDINGS, {"first": 100_000}).startswith("first: must be at most")
    assert error_of(client, FINDINGS, {"after": "not-ours"}).startswith("after: 'not-ours' is not a cursor")
    far_out = base64.urlsafe_b64encode(f"finding:{10**30}:{uuid4()}".encode()).decode()
    assert error_of(client, FINDINGS, {"after": far_out}).startswith("after: ")
    assert "asOf" in error_of(client, ACCOUNT_FINDINGS, {"id": "x", "asOf": "yesterday"})
    assert error_of(client, MATRIX, {"from": ago(1), "to": ago(2)}).startswith("from: must not be after `to`")
