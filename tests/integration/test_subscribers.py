"""Subscribers as the server sees them: shared rendering, slow readers cut off, garbage, pings, shutdown, resume."""

from __future__ import annotations

import asyncio
import json
import socket as sockets
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from service.api import fanout
from service.settings import Settings
from tests.conftest import RunningServer
from tests.integration.test_event_stream import (
    changes_of,
    next_changes,
    opened,
    outreach,
    received,
)
from tests.integration.test_findings import ago
from tests.support import record, timeline, unique

BUFFER = 20


@pytest.fixture(scope="module")
def small_server(settings: Settings) -> Iterator[str]:
    """A second replica on the same database: tiny subscriber buffers, fast pings, no projector of its own."""
    with RunningServer(replace(settings, subscriber_buffer=BUFFER, subscriber_ping_seconds=0.3,
                               projector="off")) as url:
        yield url


async def messages_until(socket: ClientConnection, kind: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Every message up to and including the first of `kind` (answering pings on the way)."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await socket.recv())
            seen.append(message)
            if message["type"] == kind:
                return seen
            if message["type"] == "ping":
                await socket.send(json.dumps({"type": "pong"}))


async def test_subscribers_of_the_same_subscription_share_each_rendered_message(
    client: httpx.Client, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[object] = []
    render = fanout.Renderer.__call__

    async def counted(self: fanout.Renderer, value: object) -> str:
        renders.append(value)
        return await render(self, value)

    monkeypatch.setattr(fanout.Renderer, "__call__", counted)
    account = unique()
    first, second = await opened(base_url, {"accountId": account}), await opened(base_url, {"accountId": account})
    everything = await opened(base_url, {"departments": ["SALES"]})  # other arguments, the same selection
    other = await opened(base_url, {"accountId": account}, with_data=True)  # another selection: rendered apart
    await asyncio.sleep(0.3)
    await asyncio.to_thread(record, client, [outreach(account, n) for n in range(5)])
    got = [await received(socket, 5) for socket in (first, second, everything, other)]
    for socket in (first, second, everything, other):
        await socket.close()
    assert got[0] == got[1] == got[2] and [event["id"] for event in got[3]] == [event["id"] for event in got[0]]
    assert "data" in got[3][0] and "data" not in got[0][0]
    assert len(renders) == 10  # 5 events x 2 distinct selections, not x 4 subscribers


def note(account: str, n: int) -> dict[str, Any]:
    event = outreach(account, n)
    event["data"]["note"] = "x" * 4000  # big messages fill the socket buffers sooner
    return event


async def slow_reader(base_url: str, variables: dict[str, Any]) -> ClientConnection:
    """A subscriber whose socket takes almost nothing in, and whose client reads nothing until asked."""
    address = urlsplit(base_url)
    raw = sockets.socket()
    raw.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
    raw.connect((address.hostname, address.port))
    raw.setblocking(False)
    socket = await connect(base_url.replace("http", "ws", 1) + "/graphql", sock=raw, max_queue=1, compression=None,
                           subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]  # (deflate shrinks the notes to nothing)
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "slow", "type": "subscribe", "payload": {
        "query": "subscription($accountId: ID, $after: String) { events(accountId: $accountId, after: $after) "
                 "{ id position data } }", "variables": variables}}))
    return socket


async def test_a_slow_subscriber_is_cut_off_with_where_to_resume_while_a_fast_one_keeps_going(
    client: httpx.Client, small_server: str
) -> None:
    account, total = unique(), 1500
    slow = await slow_reader(small_server, {"accountId": account})
    fast = await opened(small_server, {"accountId": account})
    await asyncio.sleep(0.3)
    for start in range(0, total, 250):
        await asyncio.to_thread(record, client, [note(account, n) for n in range(start, start + 250)])
    assert len(await received(fast, total, timeout=60)) == total  # the fast one got everything meanwhile
    await fast.close()
    messages = await messages_until(slow, "error")
    delivered = [m["payload"]["data"]["events"]["position"] for m in messages if m["type"] == "next"]
    error = messages[-1]["payload"][0]
    assert error["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
    assert "more than 20 messages were waiting unread" in error["message"]
    assert error["extensions"]["resumeAfter"] == delivered[-1]
    assert 0 < len(delivered) < total
    assert delivered == sorted(set(delivered))  # in log order, none twice
    # the connection stays usable: resume after the last message received, on the same socket
    await slow.send(json.dumps({"id": "again", "type": "subscribe", "payload": {
        "query": "subscription($accountId: ID, $after: String) { events(accountId: $accountId, after: $after) "
                 "{ id position } }", "variables": {"accountId": account, "after": delivered[-1]}}}))
    rest: list[str] = []
    async with asyncio.timeout(60):
        while len(delivered) + len(rest) < total:
            message = json.loads(await slow.recv())
            if message["type"] == "next":
                rest.append(message["payload"]["data"]["events"]["position"])
    await slow.close()
    assert delivered + rest == sorted(set(delivered + rest)) and len(delivered + rest) == total  # none lost


async def test_garbage_frames_close_that_connection_with_4400_and_no_other(client: httpx.Client, base_url: str) -> None:
    account = unique()
    bystander = await opened(base_url, {"accountId": account})
    garbage_frames = ["not json", json.dumps({"type": "no-such-type"}), json.dumps([1, 2]), json.dumps({"type": 7}),
                      json.dumps({"type": "subscribe", "id": "1", "payload": "query"}),
                      json.dumps({"type": "subscribe", "id": 1, "payload": {"query": "subscription { events { id } }"}}),
                      json.dumps({"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }", "variables": [1]}}),
                      "[" * 100_000,  # nested too deeply to parse
                      json.dumps({"type": "é" * 200})]  # its name in the close reason would not fit
    for garbage in garbage_frames:
        socket = await connect(base_url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(garbage)
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(10):
                await socket.recv()
        assert socket.close_code == 4400, garbage
    binary = await connect(base_url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await binary.send(b"\x00\x01")
    with pytest.raises(ConnectionClosed):
        await binary.recv()
    assert binary.close_code == 4400
    await asyncio.to_thread(record, client, [outreach(account, 1)])
    assert [event["id"] for event in await received(bystander, 1)] == [f"{account}-1"]
    await bystander.close()


async def test_a_subscriber_resumes_after_a_disconnect_with_nothing_lost_or_doubled(
    client: httpx.Client, base_url: str
) -> None:
    account = unique()
    socket = await opened(base_url, {"accountId": account})
    await asyncio.sleep(0.3)
    await asyncio.to_thread(record, client, [outreach(account, n) for n in range(5)])
    first = await received(socket, 3)
    await socket.close()  # two messages never read
    await asyncio.to_thread(record, client, [outreach(account, n) for n in range(5, 10)])
    again = await opened(base_url, {"accountId": account, "after": first[-1]["position"]})
    rest = await received(again, 7)
    await again.close()
    stored = sorted(event["position"] for event in timeline(client, account))
    assert [event["position"] for event in first + rest] == stored


async def test_pings_then_going_away_when_the_server_stops(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with RunningServer(replace(settings, subscriber_ping_seconds=0.2, projector="off")) as url:
        socket = await opened(url, {"accountId": unique()})
        async with asyncio.timeout(10):
            assert json.loads(await socket.recv())["type"] == "ping"
        await socket.send(json.dumps({"type": "pong"}))
        caplog.clear()
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            while True:
                await socket.recv()
    assert socket.close_code == 1001
    assert socket.close_reason is not None and "after" in socket.close_reason
    assert [record.message for record in caplog.records if record.levelname == "ERROR"] == []  # an expected end


async def test_a_passing_deadline_opens_a_finding_with_no_new_event(client: httpx.Client, base_url: str) -> None:
    account = unique()
    socket = await changes_of(base_url, {"accountId": account})
    await asyncio.sleep(0.3)
    response = {"id": f"{account}-nps", "source": "delighted", "type": "marketing.nps.responded",
                "accountId": account, "contactId": "c-1", "occurredAt": ago(days=7, seconds=-3),
                "data": {"score": 2, "surveyId": "s-1"}}  # a detractor whose 7 days run out in 3 seconds
    await asyncio.to_thread(record, client, [response])
    [change] = await next_changes(socket, 1)
    await socket.close()
    assert change["rule"] == "ignored-detractor" and change["change"] == "OPENED"


async def test_a_message_that_cannot_be_rendered_ends_only_its_own_subscriptions(
    client: httpx.Client, base_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    render = fanout.Renderer.__call__

    async def broken_with_data(self: fanout.Renderer, value: object) -> str:
        if "data" in self.plan.key[0]:
            raise ValueError("cannot render this")
        return await render(self, value)

    monkeypatch.setattr(fanout.Renderer, "__call__", broken_with_data)
    account = unique()
    broken, fine = await opened(base_url, {"accountId": account}, with_data=True), await opened(base_url, {"accountId": account})
    await asyncio.sleep(0.3)
    await asyncio.to_thread(record, client, [outreach(account, n) for n in range(3)])
    assert len(await received(fine, 3)) == 3
    [error] = (await messages_until(broken, "error"))[-1]["payload"]
    await broken.close()
    await fine.close()
    assert error["extensions"]["code"] == "MESSAGE_FAILED" and "it has been logged" in error["message"]
    assert "cannot render the row" in caplog.text


async def test_an_after_beyond_the_last_position_is_named(base_url: str) -> None:
    socket = await opened(base_url, {"after": "9" * 19})
    message = json.loads(await socket.recv())
    await socket.close()
    assert message["payload"]["errors"][0]["message"] == f"after: '{'9' * 19}' is not a position issued by this service"


async def test_variables_the_subscription_does_not_use_do_not_matter(client: httpx.Client, base_url: str) -> None:
    account = unique()
    socket = await opened(base_url, {"accountId": account, "unused": 10**30, "deep": [[[[[[[[1]]]]]]]]})
    await asyncio.sleep(0.3)
    await asyncio.to_thread(record, client, [outreach(account, 1)])
    assert [event["id"] for event in await received(socket, 1)] == [f"{account}-1"]
    await socket.close()


async def test_the_older_graphql_ws_protocol_is_refused(base_url: str) -> None:
    socket = await connect(base_url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-ws"])  # type: ignore[list-item]
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            await socket.recv()
    assert socket.close_code == 4406


async def test_an_unknown_department_is_named_and_the_connection_serves_the_next_subscription(
    client: httpx.Client, base_url: str
) -> None:
    account = unique()
    socket = await opened(base_url, {"accountId": account, "departments": ["SALES", "LEGAL"]})
    refused = json.loads(await socket.recv())
    assert refused["type"] == "error" and refused["id"] == "1"
    assert "departments" in refused["payload"][0]["message"] and "LEGAL" in refused["payload"][0]["message"]
    await socket.send(json.dumps({"id": "2", "type": "subscribe", "payload": {
        "query": "subscription($a: ID) { events(accountId: $a) { id } }", "variables": {"a": account}}}))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(record, client, [outreach(account, 1)])
    message = await messages_until(socket, "next")
    await socket.close()
    assert message[-1]["id"] == "2" and message[-1]["payload"]["data"]["events"]["id"] == f"{account}-1"
