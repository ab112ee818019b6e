"""API keys through the real endpoint: the CLI, scopes, hostile keys and frames, revocation on open connections.

These tests run on a database of their own (`keys_database_url`): once a key exists there,
every client of that database needs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from service.settings import Settings
from tests.conftest import RunningServer
from tests.integration.test_findings import eventually
from tests.support import RECORD, create_key, event, keys_cli, unique

QUERY = "{ accounts(first: 1) { edges { node { id } } } }"
SUBSCRIBE = "subscription($accountId: ID) { events(accountId: $accountId) { id } }"
CHANGES = "subscription { findingChanged { id } }"


@pytest.fixture(scope="module")
def keyed(settings: Settings, keys_database_url: str) -> Iterator[str]:
    """A server on the keys database, with at least one key there."""
    create_key(keys_database_url, "admin", name="keeps keys required")
    with RunningServer(replace(settings, database_url=keys_database_url, projector="off")) as url:
        yield url


def post(url: str, body: object, headers: dict[str, str] | None = None, **options: Any) -> httpx.Response:
    return httpx.post(url + "/graphql", json=body, headers=headers, timeout=30, **options)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def clean(text: str) -> bool:
    """Nothing internal in an answer: no stack trace, no SQL, no path."""
    return not any(each in text for each in ("Traceback", 'File "', "SELECT", "cx360_api_keys", "/work", ".py"))


def unauthenticated(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="cx360"')
    assert clean(response.text), response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    message: str = error["message"]
    return message


def forbidden(body: dict[str, Any], scope: str) -> None:
    assert [error["extensions"] for error in body["errors"]] == [{"code": "FORBIDDEN", "scope": scope}], body
    assert body["errors"][0]["message"] == f"this key lacks the scope {scope}"


# --- the command --------------------------------------------------------------------------------


def test_create_prints_the_token_alone_on_its_last_line_and_list_never_shows_it(keys_database_url: str) -> None:
    name = unique("holder")
    done = keys_cli(keys_database_url, "create", "--name", name, "--scope", "views:read,streams:read")
    assert done.returncode == 0, done.stderr
    *_, token = done.stdout.strip().splitlines()
    assert token.startswith("cx360_") and len(token) == 62 and " " not in token
    listed = keys_cli(keys_database_url, "list")
    assert listed.returncode == 0 and token not in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    line = next(line for line in listed.stdout.splitlines() if name in line)
    assert token.split("_")[1] in line and "views:read,streams:read" in line and line.rstrip().endswith("-")


def test_only_a_hash_of_the_secret_is_stored(keys_database_url: str) -> None:
    key_id, token = create_key(keys_database_url, "views:read")
    with psycopg.connect(keys_database_url) as connection:
        row = connection.execute("SELECT * FROM cx360_api_keys WHERE id = %s", (key_id,)).fetchone()
    assert row is not None and token.split("_", 2)[2] not in str(row) and token not in str(row)


def test_revoke_keeps_the_row_and_says_when_a_key_was_already_revoked(keys_database_url: str) -> None:
    key_id, _ = create_key(keys_database_url, "views:read")
    first, second = keys_cli(keys_database_url, "revoke", key_id), keys_cli(keys_database_url, "revoke", key_id)
    assert first.returncode == 0 and "revoked key" in first.stdout
    assert second.returncode == 0 and "already revoked" in second.stdout
    line = next(line for line in keys_cli(keys_database_url, "list").stdout.splitlines() if key_id in line)
    assert not line.rstrip().endswith("-")  # its revocation time


@pytest.mark.parametrize(("arguments", "code", "says"), [
    (["revoke", "000000000000"], 1, "no key has the id '000000000000'"),
    (["revoke", "x'; DROP TABLE cx360_api_keys; --"], 1, "no key has the id"),
    (["create", "--name", "n", "--scope", "events:read"], 2, "scope: unknown 'events:read'; the scopes are"),
    (["create", "--name", "n", "--scope", ","], 2, "scope: give at least one of"),
    (["create", "--name", " ", "--scope", "admin"], 2, "name: must be 1 to 100 printable characters"),
    (["create", "--name", "x" * 101, "--scope", "admin"], 2, "name: must be 1 to 100 printable characters"),
    (["create", "--name", "n"], 2, "the following arguments are required: --scope"),
])
def test_a_bad_command_says_what_is_wrong(keys_database_url: str, arguments: list[str], code: int, says: str) -> None:
    done = keys_cli(keys_database_url, *arguments)
    assert done.returncode == code and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# --- HTTP ---------------------------------------------------------------------------------------


def test_without_a_key_a_request_is_401_saying_how_to_send_one(keyed: str) -> None:
    message = unauthenticated(post(keyed, {"query": QUERY}))
    assert "Authorization: Bearer <API key>" in message and "cx360 keys create" in message


@pytest.mark.parametrize("authorization", [
    "Bearer cx360_000000000000_" + "A" * 43,  # well formed, no such key
    "Bearer cx360_0123456789ab",  # truncated
    "Bearer not-a-key",
    "Bearer " + "x" * 10_000,
    "bearer",  # no token
    "Basic dXNlcjpwYXNz",
    "cx360_000000000000_" + "A" * 43,  # no scheme
    "Bearer cx360_000000000000_" + "A" * 42 + "\u00e9",
])
def test_a_forged_or_malformed_key_is_401(keyed: str, authorization: str) -> None:
    response = httpx.post(keyed + "/graphql", json={"query": QUERY}, headers={"authorization": authorization.encode()})
    assert "Authorization:" in unauthenticated(response)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_key_with_a_forged_secret_is_401(keyed: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "admin")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert "not valid" in unauthenticated(post(keyed, {"query": QUERY}, headers=bearer(forged)))
    # the genuine token works: at once once the ring heard the key's creation, within its poll at the latest
    assert eventually(lambda: post(keyed, {"query": QUERY}, headers=bearer(token)).status_code == 200, timeout=2)


def test_two_authorization_headers_are_401(keyed: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "admin")
    response = httpx.post(keyed + "/graphql", json={"query": QUERY},
                          headers=[("authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}")])
    assert "one header" in unauthenticated(response)


def test_a_key_anywhere_but_the_authorization_header_is_401(keyed: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "admin")
    places: list[dict[str, Any]] = [
        {"params": {"access_token": token}}, {"params": {"token": token}},
        {"headers": {"cookie": f"token={token}"}}, {"headers": {"x-api-key": token}},
        {"headers": {"proxy-authorization": f"Bearer {token}"}},
    ]
    for place in places:
        unauthenticated(post(keyed, {"query": QUERY}, **place))
    unauthenticated(post(keyed, {"query": QUERY, "extensions": {"authorization": f"Bearer {token}"}}))
    unauthenticated(post(keyed, {"query": QUERY, "variables": {"authorization": f"Bearer {token}"}}))
    unauthenticated(httpx.get(keyed + "/graphql", params={"query": QUERY, "authorization": f"Bearer {token}"}))


def test_the_graphiql_page_and_health_checks_need_no_key(keyed: str) -> None:
    page = httpx.get(keyed + "/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    for path in ("/healthz", "/readyz"):
        assert httpx.get(keyed + path).status_code != 401


def test_metrics_are_open_from_this_machine_and_need_the_admin_scope_from_elsewhere(
    keyed: str, keys_database_url: str
) -> None:
    elsewhere = {"x-forwarded-for": "203.0.113.7"}  # uvicorn takes it as the client from 127.0.0.1
    _, reader = create_key(keys_database_url, "views:read")
    _, admin = create_key(keys_database_url, "admin")
    assert httpx.get(keyed + "/metrics").status_code == 200
    unauthenticated(httpx.get(keyed + "/metrics", headers=elsewhere))
    refused = httpx.get(keyed + "/metrics", headers={**elsewhere, **bearer(reader)})
    assert refused.status_code == 403 and clean(refused.text)
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "admin" in refused.json()["errors"][0]["message"]
    scraped = httpx.get(keyed + "/metrics", headers={**elsewhere, **bearer(admin)})
    assert scraped.status_code == 200 and "cx360_events_accepted_total" in scraped.text


def test_each_scope_opens_its_own_fields_and_the_error_names_the_missing_scope(keyed: str, keys_database_url: str) -> None:
    _, reader = create_key(keys_database_url, "views:read")
    _, writer = create_key(keys_database_url, "events:write")
    _, admin = create_key(keys_database_url, "admin")
    account = unique()
    batch = {"query": RECORD, "variables": {"events": [event(account_id=account)]}}
    forbidden(post(keyed, batch, headers=bearer(reader)).json(), "events:write")
    assert post(keyed, batch, headers=bearer(writer)).json()["data"]["recordEvents"]["accepted"] == 1
    forbidden(post(keyed, {"query": QUERY}, headers=bearer(writer)).json(), "views:read")
    assert "errors" not in post(keyed, {"query": QUERY}, headers=bearer(reader)).json()
    for token in (admin,):
        assert "errors" not in post(keyed, {"query": QUERY}, headers=bearer(token)).json()
        assert post(keyed, batch, headers=bearer(token)).json()["data"]["recordEvents"]["duplicates"] == 1


def test_the_fields_a_key_may_use_are_answered_beside_those_it_may_not(keyed: str, keys_database_url: str) -> None:
    _, writer = create_key(keys_database_url, "events:write")
    body = post(keyed, {"query": "mutation { recordEvents(events: []) { accepted } } "}, headers=bearer(writer)).json()
    assert body == {"data": {"recordEvents": {"accepted": 0}}}
    body = post(keyed, {"query": "{ __typename departmentMatrix { findings } }"}, headers=bearer(writer)).json()
    assert body["errors"][0]["path"] == ["departmentMatrix"] and body["data"] is None
    forbidden(body, "views:read")


def test_a_cached_account_answer_is_not_served_to_a_key_without_views_read(keyed: str, keys_database_url: str) -> None:
    _, reader = create_key(keys_database_url, "views:read")
    _, writer = create_key(keys_database_url, "events:write")
    account = unique()
    assert post(keyed, {"query": RECORD, "variables": {"events": [event(account_id=account)]}},
                headers=bearer(writer)).status_code == 200
    query = {"query": "query($id: ID!) { account(id: $id) { id name } }", "variables": {"id": account}}
    for _ in range(2):
        assert post(keyed, query, headers=bearer(reader)).json()["data"]["account"]["id"] == account
    forbidden(post(keyed, query, headers=bearer(writer)).json(), "views:read")


def revoke_directly(database_url: str, key_id: str, *, notify: bool) -> None:
    """As `cx360 keys revoke` does, or without its notification (as if it were lost)."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("UPDATE cx360_api_keys SET revoked_at = now() WHERE id = %s", (key_id,))
        if notify:
            connection.execute("SELECT pg_notify('cx360_api_keys', %s)", (key_id,))


def seconds_until_refused(url: str, token: str) -> float:
    started = time.monotonic()
    while post(url, {"query": QUERY}, headers=bearer(token)).status_code == 200:
        assert time.monotonic() - started < 5, "the revoked key is still served"
        time.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.parametrize("notify", [True, False], ids=["notified", "notification lost"])
def test_a_revoked_key_is_refused_within_a_second(keyed: str, keys_database_url: str, notify: bool) -> None:
    key_id, token = create_key(keys_database_url, "views:read")
    assert post(keyed, {"query": QUERY}, headers=bearer(token)).status_code == 200
    revoke_directly(keys_database_url, key_id, notify=notify)
    assert seconds_until_refused(keyed, token) < 1.0
    assert "not valid" in unauthenticated(post(keyed, {"query": QUERY}, headers=bearer(token)))


def test_an_expired_key_is_refused_within_a_second(keyed: str, keys_database_url: str) -> None:
    done = keys_cli(keys_database_url, "create", "--name", "temporary", "--scope", "views:read", "--days", "30")
    assert done.returncode == 0 and ", until " in done.stdout, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert post(keyed, {"query": QUERY}, headers=bearer(token)).status_code == 200
    with psycopg.connect(keys_database_url, autocommit=True) as connection:  # as if 30 days had passed
        connection.execute("UPDATE cx360_api_keys SET expires_at = now() WHERE id = %s", (token.split("_")[1],))
    assert seconds_until_refused(keyed, token) < 1.0
    assert keys_cli(keys_database_url, "create", "--name", "n", "--scope", "admin", "--days", "0").returncode == 2


def test_the_command_revokes_a_key_on_a_running_service(keyed: str, keys_database_url: str) -> None:
    key_id, token = create_key(keys_database_url, "views:read")
    assert post(keyed, {"query": QUERY}, headers=bearer(token)).status_code == 200
    assert keys_cli(keys_database_url, "revoke", key_id).returncode == 0
    assert seconds_until_refused(keyed, token) < 1.0


# --- WebSockets ---------------------------------------------------------------------------------


async def socket_of(url: str, **options: Any) -> ClientConnection:
    return await connect(url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                         **options)


async def acknowledged(url: str, token: str) -> ClientConnection:
    socket = await socket_of(url)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    return socket


async def closed(socket: ClientConnection, timeout: float = 5.0) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as ended:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await socket.recv())
                assert message["type"] in ("ping", "pong"), message
    assert ended.value.rcvd is not None
    return ended.value.rcvd.code, ended.value.rcvd.reason


async def answer(socket: ClientConnection, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
    async with asyncio.timeout(10):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message["type"] != "ping":
                return message


@pytest.mark.parametrize("init", [
    {"type": "connection_init"},
    {"type": "connection_init", "payload": {}},
    {"type": "connection_init", "payload": {"authorization": "Bearer cx360_000000000000_" + "A" * 43}},
    {"type": "connection_init", "payload": {"authorization": "cx360_000000000000_" + "A" * 43}},
    {"type": "connection_init", "payload": {"authorization": 12}},
    {"type": "connection_init", "payload": {"authorization": {"Bearer": "x"}}},
    {"type": "connection_init", "payload": {"authorization": ["Bearer", "x"]}},
    {"type": "connection_init", "payload": {"authorization": "Bearer " + "x" * 100_000}},
    {"type": "connection_init", "payload": {"token": "cx360_000000000000_" + "A" * 43}},
], ids=["no payload", "empty payload", "forged", "no scheme", "a number", "an object", "a list", "huge", "other name"])
async def test_connection_init_without_a_valid_key_closes_with_4401(keyed: str, init: dict[str, Any]) -> None:
    socket = await socket_of(keyed)
    await socket.send(json.dumps(init))
    code, reason = await closed(socket)
    assert code == 4401 and clean(reason), reason


async def test_a_key_in_the_wrong_place_on_a_websocket_closes_with_4401(keyed: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "admin")
    wrong_places: list[dict[str, Any]] = [
        {"additional_headers": bearer(token)},  # on the upgrade request: the key goes in connection_init
    ]
    for options in wrong_places:
        socket = await socket_of(keyed, **options)
        await socket.send(json.dumps({"type": "connection_init"}))
        assert (await closed(socket))[0] == 4401
    socket = await connect(keyed.replace("http", "ws", 1) + f"/graphql?access_token={token}",
                           subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init"}))
    assert (await closed(socket))[0] == 4401
    socket = await socket_of(keyed)  # in the subscribe message, before connection_init
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": SUBSCRIBE, "extensions": {"authorization": f"Bearer {token}"}}}))
    assert (await closed(socket))[0] == 4401


async def test_hostile_frames_around_connection_init(keyed: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "admin")
    before = ["not json", json.dumps([1]), json.dumps({"type": "connection_init", "payload": "Bearer x"}),
              json.dumps({"type": "connection_init", "payload": None}), "[" * 100_000]
    for frame in before:
        socket = await socket_of(keyed)
        await socket.send(frame)
        code, reason = await closed(socket)
        assert code == 4400 and clean(reason), (frame[:40], code, reason)
    socket = await acknowledged(keyed, token)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert (await closed(socket))[0] == 4429  # one connection_init per connection
    for frame in ["not json", json.dumps({"type": "subscribe", "id": "1", "payload": "x"}), "{" * 100_000]:
        socket = await acknowledged(keyed, token)
        await socket.send(frame)
        code, reason = await closed(socket)
        assert code == 4400 and clean(reason), (frame[:40], code, reason)


async def test_a_subscription_outside_the_keys_scope_is_an_error_naming_the_scope(keyed: str, keys_database_url: str) -> None:
    _, reader = create_key(keys_database_url, "views:read")
    socket = await acknowledged(keyed, reader)
    for query in (SUBSCRIBE, CHANGES):
        message = await answer(socket, query)
        assert message["type"] == "error" and message["payload"][0]["extensions"] == {"code": "FORBIDDEN",
                                                                                        "scope": "streams:read"}
    _, streamer = create_key(keys_database_url, "streams:read")
    other = await acknowledged(keyed, streamer)
    message = await answer(other, QUERY)  # a query over the WebSocket
    assert message["type"] == "next" and message["payload"]["errors"][0]["extensions"]["scope"] == "views:read"
    for each in (socket, other):
        await each.close()


async def test_an_open_subscription_ends_with_4403_within_a_second_of_its_keys_revocation(
    keyed: str, keys_database_url: str
) -> None:
    key_id, token = create_key(keys_database_url, "streams:read", "events:write")
    _, bystander_token = create_key(keys_database_url, "streams:read")
    socket, bystander = await acknowledged(keyed, token), await acknowledged(keyed, bystander_token)
    account = unique()
    for each in (socket, bystander):
        await each.send(json.dumps({"id": "s", "type": "subscribe", "payload": {
            "query": SUBSCRIBE, "variables": {"accountId": account}}}))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(post, keyed, {"query": RECORD, "variables": {"events": [event(account_id=account)]}},
                            bearer(token))
    assert json.loads(await socket.recv())["type"] == "next"
    assert json.loads(await bystander.recv())["type"] == "next"
    started = time.monotonic()
    await asyncio.to_thread(revoke_directly, keys_database_url, key_id, notify=True)
    code, reason = await closed(socket)
    assert (code, reason) == (4403, "the API key was revoked or has expired") and time.monotonic() - started < 1.0
    await bystander.send(json.dumps({"type": "ping"}))
    assert json.loads(await bystander.recv())["type"] == "pong"  # another key's connection goes on
    await bystander.close()


async def test_a_websocket_from_a_foreign_web_page_is_refused(keyed: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await socket_of(keyed, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    socket = await socket_of(keyed, origin=keyed)  # type: ignore[arg-type]  # the server's own pages (GraphiQL)
    await socket.close()


async def test_frames_sent_right_after_a_refused_connection_init_change_nothing(keyed: str, caplog: pytest.LogCaptureFixture) -> None:
    socket = await socket_of(keyed)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer forged"}}))
    for frame in (json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}),
                  json.dumps({"type": "connection_init"}), "not json"):
        with contextlib.suppress(ConnectionClosed):
            await socket.send(frame)
    assert (await closed(socket))[0] == 4401
    await asyncio.sleep(0.2)
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")], caplog.text
