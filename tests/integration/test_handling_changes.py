"""`findingChanged` carries people's actions (HANDLED) and filters by rule, severity, department and assignee."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.integration.conftest import OWNERS
from tests.integration.test_event_stream import next_changes
from tests.integration.test_findings import ago
from tests.integration.test_handling_api import ACKNOWLEDGE, ASSIGN, COMMENT, act, new_finding

CHANGES = """
subscription($accountId: ID, $after: String, $rule: String, $severity: Severity, $department: Department,
             $assignee: String) {
  findingChanged(accountId: $accountId, after: $after, rule: $rule, severity: $severity, department: $department,
                 assignee: $assignee) {
    id rule change changePosition handling { state assignee version }
  }
}"""


async def subscribe(client: httpx.Client, **variables: Any) -> ClientConnection:
    socket = await connect(str(client.base_url).replace("http", "ws", 1) + "/graphql",
                           subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CHANGES, "variables": variables}}))
    return socket


def pressure(account: str) -> list[dict[str, Any]]:
    """Seven touches from two departments within a day: a contact-pressure finding."""
    return [{"id": f"{account}-touch-{i}", "source": "hubspot", "accountId": account, "occurredAt": ago(0, 600 + i),
             **({"type": "marketing.campaign.sent", "data": {"campaignId": f"c-{i}", "channel": "email", "intent": "nurture"}}
                if i % 2 else {"type": "sales.outreach.sent", "data": {"channel": "email", "intent": "follow_up"}})}
            for i in range(7)]


async def test_actions_come_as_handled_changes_with_the_handling_as_it_now_stands(handled: httpx.Client) -> None:
    finding = await asyncio.to_thread(new_finding, handled)
    socket = await subscribe(handled, accountId=finding["account"], department="SUPPORT")
    await asyncio.sleep(0.3)
    await asyncio.to_thread(act, handled, ACKNOWLEDGE, id=finding["id"])
    [change] = await next_changes(socket, 1)
    await socket.close()
    assert (change["id"], change["change"]) == (finding["id"], "HANDLED")
    assert change["handling"] == {"state": "ACKNOWLEDGED", "assignee": OWNERS["sales"], "version": 1}


async def test_a_replay_filters_by_assignee_and_rule(handled: httpx.Client) -> None:
    finding = await asyncio.to_thread(new_finding, handled)
    account = finding["account"]
    opened = await subscribe(handled, accountId=account, after=None)  # to learn a position before the actions
    await asyncio.sleep(0.3)
    await asyncio.to_thread(act, handled, ASSIGN, id=finding["id"], to="billing-lead")
    [assigned] = await next_changes(opened, 1)
    await opened.close()
    await asyncio.to_thread(act, handled, COMMENT, id=finding["id"], note="called them")
    start = assigned["changePosition"]
    theirs = await subscribe(handled, accountId=account, after=start, assignee="billing-lead")
    [commented] = await next_changes(theirs, 1)
    await theirs.close()
    assert (commented["change"], commented["handling"]["version"]) == ("HANDLED", 2)
    others = await subscribe(handled, accountId=account, after=start, rule="contact-pressure")
    await asyncio.sleep(0.3)
    await asyncio.to_thread(lambda: httpx.post(f"{handled.base_url}/graphql", timeout=30, json={
        "query": "mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }", "variables": {"e": pressure(account)}}))
    [first] = await next_changes(others, 1)  # the sales-pressure comment was left out of the replay
    await others.close()
    assert (first["rule"], first["change"]) == ("contact-pressure", "OPENED")


async def test_an_unknown_rule_is_named(handled: httpx.Client) -> None:
    socket = await subscribe(handled, rule="no-such-rule")
    async with asyncio.timeout(10):
        message = json.loads(await socket.recv())
    await socket.close()
    assert message["payload"]["errors"][0]["message"].startswith("rule: unknown rule 'no-such-rule'")
