"""Acting on findings through /graphql: the six mutations, the handling they show, bad input, two at once, rebuild."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import httpx
import pytest

from projections.thresholds import DEFAULT_THRESHOLDS
from service.projection.rebuild import rebuild
from service.runtime.database import datastore_of
from service.settings import connection_params
from tests.integration.conftest import OWNERS
from tests.integration.test_findings import ago, eventually, urgent_ticket_and_renewal
from tests.support import graphql, record, unique

HANDLING = ("handling { state assignee snoozedUntil version acknowledgeBy acknowledgedAt closedAt overdue "
            "reopenedByEvidence actions { kind by at note to until } }")
ACCOUNT = f"query($id: ID!) {{ account(id: $id) {{ findings(state: ALL) {{ id rule severity detectedAt {HANDLING} }} }} }}"


def mutation(name: str, **declared: str) -> str:
    """A mutation taking `id`, `expectedVersion` and the declared variables, returning the finding's handling."""
    variables = {"id": "ID!", **declared, "expectedVersion": "Int"}
    declarations = ", ".join(f"${key}: {kind}" for key, kind in variables.items())
    arguments = ", ".join(f"{key}: ${key}" for key in variables)
    return f"mutation({declarations}) {{ {name}({arguments}) {{ id {HANDLING} }} }}"


ACKNOWLEDGE = mutation("acknowledgeFinding", note="String")
ASSIGN = mutation("assignFinding", to="String!", note="String")
SNOOZE = mutation("snoozeFinding", until="DateTime!", note="String")
COMMENT = mutation("commentOnFinding", note="String!")
CLOSE = mutation("closeFinding", note="String!")
REOPEN = mutation("reopenFinding", note="String!")


def finding_of(client: httpx.Client, account: str) -> dict[str, Any]:
    def found() -> list[dict[str, Any]]:
        body = graphql(client, ACCOUNT, {"id": account})
        assert "errors" not in body, body
        findings: list[dict[str, Any]] = body["data"]["account"]["findings"] if body["data"]["account"] else []
        return findings
    findings = eventually(found)
    assert len(findings) == 1, findings
    return findings[0]


def new_finding(client: httpx.Client) -> dict[str, Any]:
    account = unique()
    record(client, urgent_ticket_and_renewal(account))
    finding = finding_of(client, account)
    finding["account"] = account
    return finding


def act(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, query, variables)
    assert "errors" not in body, body
    handling: dict[str, Any] = next(iter(body["data"].values()))["handling"]
    return handling


def refused(client: httpx.Client, query: str, argument: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, query, variables)
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["message"].startswith(f"{argument}: "), error
    return error  # type: ignore[no-any-return]


def handling_now(client: httpx.Client, account: str) -> dict[str, Any]:
    handling: dict[str, Any] = finding_of(client, account)["handling"]
    return handling


def test_a_new_finding_is_new_assigned_to_its_first_departments_owner_and_overdue(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    handling = finding["handling"]
    assert (finding["rule"], finding["severity"]) == ("sales-pressure-during-escalation", "HIGH")
    assert (handling["state"], handling["assignee"], handling["version"], handling["actions"]) == ("NEW", OWNERS["sales"], 0, [])
    detected = datetime.fromisoformat(finding["detectedAt"])
    assert datetime.fromisoformat(handling["acknowledgeBy"]) == detected + timedelta(days=1)  # HIGH: a day
    assert handling["overdue"] is True  # detected five days ago


def test_acknowledge_assign_comment_close_and_reopen(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    shown = act(handled, ACKNOWLEDGE, id=finding["id"], expectedVersion=0)
    assert (shown["state"], shown["version"], shown["overdue"]) == ("ACKNOWLEDGED", 1, False)
    assert [(each["kind"], each["by"]) for each in shown["actions"]] == [("ACKNOWLEDGE", "local")]
    shown = act(handled, ASSIGN, id=finding["id"], to="billing-lead", note="refund under way", expectedVersion=1)
    assert (shown["state"], shown["assignee"], shown["version"]) == ("ASSIGNED", "billing-lead", 2)
    shown = act(handled, COMMENT, id=finding["id"], note="customer called")
    shown = act(handled, CLOSE, id=finding["id"], note="refund sent")
    assert shown["state"] == "CLOSED" and shown["closedAt"] is not None and shown["version"] == 4
    refused(handled, CLOSE, "id", id=finding["id"], note="again")
    shown = act(handled, REOPEN, id=finding["id"], note="no refund arrived")
    assert (shown["state"], shown["assignee"], shown["version"]) == ("ASSIGNED", "billing-lead", 5)
    assert [each["kind"] for each in shown["actions"]] == ["ACKNOWLEDGE", "ASSIGN", "COMMENT", "CLOSE", "REOPEN"]
    assert handling_now(handled, finding["account"]) == shown


def test_bad_input_names_the_argument_and_records_nothing(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    assert "no finding has the id" in refused(handled, ACKNOWLEDGE, "id", id=str(uuid4()))["message"]
    assert "is not a finding id" in refused(handled, ACKNOWLEDGE, "id", id="F-1")["message"]
    refused(handled, COMMENT, "note", id=finding["id"], note="   ")
    refused(handled, CLOSE, "note", id=finding["id"], note="")
    refused(handled, ACKNOWLEDGE, "note", id=finding["id"], note=" ")
    assert "NUL" in refused(handled, COMMENT, "note", id=finding["id"], note="a\u0000b")["message"]
    assert "NUL" in refused(handled, ASSIGN, "to", id=finding["id"], to="a\u0000b")["message"]
    assert "not a known key holder" in refused(handled, ASSIGN, "to", id=finding["id"], to="rep-999")["message"]
    in_a_year = datetime.now(timezone.utc) + timedelta(days=366)
    assert "at most a year" in refused(handled, SNOOZE, "until", id=finding["id"], until=in_a_year.isoformat())["message"]
    refused(handled, SNOOZE, "until", id=finding["id"], until=ago(1))
    refused(handled, REOPEN, "id", id=finding["id"], note="it is not closed")
    refused(handled, ACKNOWLEDGE, "expectedVersion", id=finding["id"], expectedVersion=-1)
    assert handling_now(handled, finding["account"])["version"] == 0


def test_a_stale_expected_version_names_the_current_one(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    act(handled, ACKNOWLEDGE, id=finding["id"])
    error = refused(handled, COMMENT, "expectedVersion", id=finding["id"], note="late", expectedVersion=0)
    assert error["extensions"] == {"code": "VERSION_CONFLICT", "currentVersion": 1}
    assert "at version 1, not 0" in error["message"]
    assert handling_now(handled, finding["account"])["version"] == 1


def test_two_people_acting_at_once_one_wins_the_other_gets_the_version_error(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    expected = 0

    def comment(note: str) -> dict[str, Any]:
        variables = {"id": finding["id"], "note": note, "expectedVersion": expected}
        body: dict[str, Any] = handled.post("/graphql", json={"query": COMMENT, "variables": variables}).json()
        return body

    for _ in range(3):  # each round: both expect the current version, one more action is recorded
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(comment, ["I call them", "no, I do"]))
        won = [each for each in answers if "errors" not in each]
        lost = [each for each in answers if "errors" in each]
        assert len(won) == 1 and len(lost) == 1, answers
        expected = won[0]["data"]["commentOnFinding"]["handling"]["version"]
        assert lost[0]["errors"][0].get("extensions") == {"code": "VERSION_CONFLICT", "currentVersion": expected}, lost
    assert handling_now(handled, finding["account"])["version"] == 3


def test_a_snooze_shows_until_when(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    until = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0)
    shown = act(handled, SNOOZE, id=finding["id"], until=until.isoformat(), note="waiting for the customer")
    assert shown["state"] == "SNOOZED" and datetime.fromisoformat(shown["snoozedUntil"]) == until
    assert shown["overdue"] is False and shown["acknowledgedAt"] is not None


def test_new_evidence_reopens_a_finding_people_closed_while_the_rules_hold_it(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    act(handled, CLOSE, id=finding["id"], note="sales told to stop")
    record(handled, [{"id": f"{finding['account']}-3", "source": "salesforce", "type": "sales.outreach.sent",
                      "accountId": finding["account"], "occurredAt": ago(1),
                      "data": {"channel": "call", "intent": "upsell"}}])
    shown = eventually(lambda: (h := handling_now(handled, finding["account"]))["reopenedByEvidence"] and h)
    assert shown["state"] == "ACKNOWLEDGED" and shown["closedAt"] is None and shown["version"] == 1
    assert finding["id"] in filtered(handled, state="ACKNOWLEDGED", assignee=OWNERS["sales"])  # the filters agree
    assert finding["id"] not in filtered(handled, state="CLOSED", assignee=OWNERS["sales"])


def test_handling_survives_a_rebuild_unchanged(handled: httpx.Client, database_url: str) -> None:
    finding = new_finding(handled)
    act(handled, ASSIGN, id=finding["id"], to="support-lead", note="on it")
    before = finding_of(handled, finding["account"])
    datastore = datastore_of(connection_params(database_url))
    try:
        rebuild(datastore, database_url, DEFAULT_THRESHOLDS)
    finally:
        datastore.close()
    assert finding_of(handled, finding["account"]) == before


FILTERED = f"""
query($state: HandlingState, $assignee: String, $overdue: Boolean) {{
  findings(first: 100, state: ALL, handlingState: $state, assignee: $assignee, overdue: $overdue) {{
    edges {{ node {{ id {HANDLING} }} }}
  }}
}}"""

REPORT = """
query($from: DateTime, $to: DateTime) {
  handling(from: $from, to: $to) {
    departments findings open acknowledged overdue medianSecondsToAcknowledge p90SecondsToAcknowledge
    medianSecondsToClose p90SecondsToClose assignees { assignee open overdue }
  }
}"""


def filtered(client: httpx.Client, **variables: Any) -> dict[str, dict[str, Any]]:
    body = graphql(client, FILTERED, variables)
    assert "errors" not in body, body
    return {edge["node"]["id"]: edge["node"]["handling"] for edge in body["data"]["findings"]["edges"]}


def test_findings_filter_by_handling_state_assignee_and_overdue_as_their_handling_shows(handled: httpx.Client) -> None:
    untouched, acknowledged = new_finding(handled), new_finding(handled)
    act(handled, ACKNOWLEDGE, id=acknowledged["id"])
    owner = OWNERS["sales"]
    mine = filtered(handled, assignee=owner)
    assert {untouched["id"], acknowledged["id"]} <= mine.keys()
    assert {each["assignee"] for each in mine.values()} == {owner}
    late = filtered(handled, assignee=owner, overdue=True)
    assert untouched["id"] in late and acknowledged["id"] not in late and all(each["overdue"] for each in late.values())
    on_time = filtered(handled, assignee=owner, overdue=False)
    assert acknowledged["id"] in on_time and not any(each["overdue"] for each in on_time.values())
    taken = filtered(handled, state="ACKNOWLEDGED", assignee=owner)
    assert acknowledged["id"] in taken and untouched["id"] not in taken
    assert {each["state"] for each in taken.values()} == {"ACKNOWLEDGED"}
    assert filtered(handled, assignee="nobody-has-this-name") == {}


def test_the_orchestration_view_counts_and_times_per_department_and_pair(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    instant = {"from": finding["detectedAt"], "to": finding["detectedAt"]}  # this finding alone

    def report() -> dict[tuple[str, ...], dict[str, Any]]:
        body = graphql(handled, REPORT, instant)
        assert "errors" not in body, body
        return {tuple(row.pop("departments")): row for row in body["data"]["handling"]}

    before = report()
    assert list(before) == [("SALES",), ("SUPPORT",), ("SALES", "SUPPORT")]
    assert before[("SALES", "SUPPORT")] == {
        "findings": 1, "open": 1, "acknowledged": 0, "overdue": 1, "medianSecondsToAcknowledge": None,
        "p90SecondsToAcknowledge": None, "medianSecondsToClose": None, "p90SecondsToClose": None,
        "assignees": [{"assignee": OWNERS["sales"], "open": 1, "overdue": 1}]}  # nobody assigned it: the owner
    acknowledged = act(handled, ACKNOWLEDGE, id=finding["id"])
    act(handled, ASSIGN, id=finding["id"], to="billing-lead")
    assert [row["assignees"] for row in report().values()] == [[{"assignee": "billing-lead", "open": 1, "overdue": 0}]] * 3
    closed = act(handled, CLOSE, id=finding["id"], note="done")
    detected = datetime.fromisoformat(finding["detectedAt"])
    to_acknowledge = (datetime.fromisoformat(acknowledged["acknowledgedAt"]) - detected).total_seconds()
    to_close = (datetime.fromisoformat(closed["closedAt"]) - detected).total_seconds()
    after = report()
    for row in after.values():
        assert (row["findings"], row["open"], row["acknowledged"], row["overdue"], row["assignees"]) == (1, 0, 1, 0, [])
        assert row["medianSecondsToAcknowledge"] == pytest.approx(to_acknowledge) == row["p90SecondsToAcknowledge"]
        assert row["medianSecondsToClose"] == pytest.approx(to_close) == row["p90SecondsToClose"]
    body = graphql(handled, REPORT, {"from": ago(0), "to": ago(1)})
    assert body["errors"][0]["message"].startswith("from: must not be after `to`")


AGENT = "query($id: ID!) { account(id: $id) { agentContext { onIt { findingId rule state text } } } }"


def test_the_agent_context_says_who_is_on_each_open_finding_with_the_latest_note(handled: httpx.Client) -> None:
    finding = new_finding(handled)
    act(handled, ASSIGN, id=finding["id"], to="billing-lead", note="refund under way")

    def lines() -> list[dict[str, Any]]:
        body = graphql(handled, AGENT, {"id": finding["account"]})
        assert "errors" not in body, body
        context = body["data"]["account"]["agentContext"]
        return context["onIt"] if context else []  # type: ignore[no-any-return]

    [line] = eventually(lines)
    today = datetime.now(timezone.utc)
    assert line == {"findingId": finding["id"], "rule": "sales-pressure-during-escalation", "state": "ASSIGNED",
                    "text": f"Billing (billing-lead) is on it since {today.day} {today:%b %Y}: refund under way"}


def test_an_account_asked_again_after_an_action_shows_it(handled: httpx.Client) -> None:
    """The side panel's account query is answered from a cache while the account is unchanged; not its handling."""
    finding = new_finding(handled)
    query = f"query($id: ID!) {{ account(id: $id) {{ agentContext {{ onIt {{ text }} }} findings {{ {HANDLING} }} }} }}"
    eventually(lambda: graphql(handled, query, {"id": finding["account"]})["data"]["account"]["agentContext"])
    before = [graphql(handled, query, {"id": finding["account"]}) for _ in range(2)]
    assert before[0] == before[1] and before[0]["data"]["account"]["findings"][0]["handling"]["version"] == 0
    act(handled, COMMENT, id=finding["id"], note="called them")
    after = graphql(handled, query, {"id": finding["account"]})["data"]["account"]
    assert after["findings"][0]["handling"]["version"] == 1
    assert after["agentContext"]["onIt"][0]["text"].endswith(": called them")
