"""`Subscription.events` over graphql-transport-ws: replay from a position, then live, no gap, no duplicate."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.integration.test_findings import account_findings, ago, eventually
from tests.support import graphql, record, timeline, unique

STREAM = """
subscription($after: String, $departments: [Department!], $accountId: ID) {
  events(after: $after, departments: $departments, accountId: $accountId) { id type position accountId }
}"""


def outreach(account: str, n: int) -> dict[str, Any]:
    return {"id": f"{account}-{n}", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
            "occurredAt": ago(days=1, seconds=n), "data": {"channel": "email", "intent": "follow_up"}}


async def opened(base_url: str, variables: dict[str, Any], with_data: bool = False) -> ClientConnection:
    socket = await connect(base_url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    query = STREAM.replace("accountId }", "accountId data }") if with_data else STREAM
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
    return socket


async def received(socket: ClientConnection, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(events) < count:
            message = json.loads(await socket.recv())
            if message["type"] == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                assert "errors" not in message["payload"], message
                events.append(message["payload"]["data"]["events"])
            else:
                raise AssertionError(message)
    return events


async def test_replay_then_live_while_a_producer_writes(client: httpx.Client, base_url: str) -> None:
    account = unique()
    record(client, [outreach(account, n) for n in range(20)])
    stored = timeline(client, account)
    after = min(event["position"] for event in stored)
    socket = await opened(base_url, {"after": after, "accountId": account})
    writer = threading.Thread(target=lambda: [record(client, [outreach(account, n)]) for n in range(20, 60)])
    writer.start()
    events = await received(socket, 59)
    writer.join()
    await socket.close()
    positions = [event["position"] for event in events]
    everything = sorted(event["position"] for event in timeline(client, account))
    assert positions == everything[1:]  # every event after `after`, in log order, none twice, none missing


async def test_filters_and_live_only_without_after(client: httpx.Client, base_url: str) -> None:
    account = unique()
    socket = await opened(base_url, {"accountId": account, "departments": ["SUPPORT"]})
    await asyncio.sleep(0.3)  # subscribed before the events are stored
    ticket = {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(days=1), "data": {"ticketId": "T-1", "priority": "low"}}
    await asyncio.to_thread(record, client, [outreach(account, 1), ticket, outreach(account, 2)])
    events = await received(socket, 1)
    await socket.close()
    assert [event["id"] for event in events] == [f"{account}-t"]


async def test_an_after_that_is_not_ours_is_named(base_url: str) -> None:
    socket = await opened(base_url, {"after": "not-a-position"})
    message = json.loads(await socket.recv())
    await socket.close()
    assert message["type"] == "next" and message["payload"]["data"] is None
    assert message["payload"]["errors"][0]["message"].startswith("after: 'not-a-position' is not a position")


async def test_an_event_recorded_through_one_server_reaches_a_subscriber_of_another(
    client: httpx.Client, database_url: str, tmp_path: Any
) -> None:
    """Two `cx360 serve` processes on one database: PostgreSQL's NOTIFY carries the news between them."""
    import os
    import socket as sockets
    import subprocess
    import sys

    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "DATABASE_URL": database_url, "CX360_PORT": str(port), "CX360_PROJECTOR": "off"}
    other = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=environment,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        other_url = f"http://127.0.0.1:{port}"
        async with asyncio.timeout(30):
            while True:
                try:
                    httpx.post(f"{other_url}/graphql", json={"query": "{ __typename }"}, timeout=1)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        account = unique()
        socket = await opened(other_url, {"accountId": account})
        await asyncio.sleep(0.3)
        await asyncio.to_thread(record, client, [outreach(account, 1)])  # through the test's server
        events = await received(socket, 1)
        await socket.close()
        assert [event["id"] for event in events] == [f"{account}-1"]
    finally:
        other.terminate()
        other.wait(30)


CHANGES = """
subscription($accountId: ID, $after: String) {
  findingChanged(accountId: $accountId, after: $after) { id rule change changePosition resolvedAt evidence { id } }
}"""


async def changes_of(base_url: str, variables: dict[str, Any]) -> ClientConnection:
    socket = await connect(base_url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CHANGES, "variables": variables}}))
    return socket


async def next_changes(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    async with asyncio.timeout(15):
        while len(changes) < count:
            message = json.loads(await socket.recv())
            if message["type"] == "ping":
                await socket.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next" and "errors" not in message["payload"], message
            changes.append(message["payload"]["data"]["findingChanged"])
    return changes


async def test_finding_changes_open_gain_evidence_close_and_resume(client: httpx.Client, base_url: str) -> None:
    account = unique()
    socket = await changes_of(base_url, {"accountId": account})
    await asyncio.sleep(0.3)
    ticket = {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(days=3), "data": {"ticketId": "T-1", "priority": "urgent"}}
    push = {"id": f"{account}-p", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
            "occurredAt": ago(days=2), "data": {"channel": "email", "intent": "renewal"}}
    await asyncio.to_thread(record, client, [ticket, push])
    opened = await next_changes(socket, 1)
    await asyncio.to_thread(record, client, [{**push, "id": f"{account}-p2", "occurredAt": ago(days=1)}])
    grown = await next_changes(socket, 1)
    resolved = {"id": f"{account}-r", "source": "zendesk", "type": "support.ticket.resolved", "accountId": account,
                "occurredAt": ago(seconds=60), "data": {"ticketId": "T-1"}}
    await asyncio.to_thread(record, client, [resolved])
    closed = await next_changes(socket, 1)
    await socket.close()
    assert [each["change"] for each in opened + grown + closed] == ["OPENED", "EVIDENCE_ADDED", "RESOLVED"]
    assert len({each["id"] for each in opened + grown + closed}) == 1
    assert len(grown[0]["evidence"]) == 3 and closed[0]["resolvedAt"] is not None
    replay = await changes_of(base_url, {"accountId": account, "after": opened[0]["changePosition"]})
    assert [each["change"] for each in await next_changes(replay, 2)] == ["EVIDENCE_ADDED", "RESOLVED"]
    await replay.close()


async def test_a_subscriber_with_a_long_backlog_does_not_hold_up_another(client: httpx.Client, base_url: str) -> None:
    filler = unique()
    bulky = [{**outreach(filler, n), "data": {"channel": "email", "intent": "follow_up", "note": "x" * 8000}}
             for n in range(600)]
    for start in range(0, len(bulky), 300):
        await asyncio.to_thread(record, client, bulky[start : start + 300])
    after = min(event["position"] for event in timeline(client, filler))
    slow = await opened(base_url, {"after": after, "accountId": filler}, with_data=True)  # and it does not read
    account = unique()
    fast = await opened(base_url, {"accountId": account})
    await asyncio.sleep(0.3)
    await asyncio.to_thread(record, client, [outreach(account, 1)])
    assert [event["id"] for event in await received(fast, 1)] == [f"{account}-1"]
    await fast.close()
    slow.transport.abort()  # a close handshake would wait behind the megabytes it never read


async def test_a_change_position_read_before_the_findings_misses_no_change_made_after_it(
    client: httpx.Client, base_url: str
) -> None:
    """Read the position, then (some time later) subscribe after it: what changed in between is replayed."""
    account = unique()
    body = graphql(client, "{ findingChangePosition }")
    assert "errors" not in body, body
    position = body["data"]["findingChangePosition"]
    assert position.isdigit()
    ticket = {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(days=3), "data": {"ticketId": "T-1", "priority": "urgent"}}
    push = {"id": f"{account}-p", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
            "occurredAt": ago(days=2), "data": {"channel": "email", "intent": "renewal"}}
    await asyncio.to_thread(record, client, [ticket, push])  # the finding opens before anyone subscribes
    assert eventually(lambda: account_findings(client, account), timeout=15)
    socket = await changes_of(base_url, {"accountId": account, "after": position})
    [opened] = await next_changes(socket, 1)
    await socket.close()
    assert opened["change"] == "OPENED" and opened["changePosition"] > position
    later = graphql(client, "{ findingChangePosition }")["data"]["findingChangePosition"]
    assert later >= opened["changePosition"]
