"""While no key exists, only clients on this machine are served, under a name of this machine.

A client elsewhere is simulated as a proxy on this machine would announce it: uvicorn
trusts `X-Forwarded-For` from 127.0.0.1 (its `FORWARDED_ALLOW_IPS`) and takes it as the
client's address.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from uuid import uuid4

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer, administer, with_database
from tests.integration.test_keys import QUERY, SUBSCRIBE, acknowledged, bearer, closed, post, socket_of, unauthenticated
from tests.support import create_key, keys_cli

ELSEWHERE = {"x-forwarded-for": "203.0.113.7"}


def test_a_client_elsewhere_is_refused_with_how_to_create_a_key(base_url: str) -> None:
    message = unauthenticated(post(base_url, {"query": QUERY}, headers=ELSEWHERE))
    assert "no API key exists yet" in message and "cx360 keys create" in message
    assert post(base_url, {"query": QUERY}).status_code == 200  # this machine is served


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.1", "[::1"])
def test_a_page_whose_name_was_rebound_to_this_machine_is_refused(base_url: str, host: str) -> None:
    message = unauthenticated(post(base_url, {"query": QUERY}, headers={"host": host}))
    assert "Host:" in message and "not a name of this machine" in message


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1", "[::1]:8000", "127.1.2.3"])
def test_every_name_of_this_machine_is_served(base_url: str, host: str) -> None:
    assert post(base_url, {"query": QUERY}, headers={"host": host}).status_code == 200


def test_a_key_given_while_none_exists_is_checked_all_the_same(base_url: str) -> None:
    assert "not valid" in unauthenticated(post(base_url, {"query": QUERY},
                                               headers=bearer("cx360_000000000000_" + "A" * 43)))


async def test_a_websocket_from_elsewhere_closes_with_4401(base_url: str) -> None:
    socket = await socket_of(base_url, additional_headers=ELSEWHERE)
    await socket.send(json.dumps({"type": "connection_init"}))
    code, reason = await closed(socket)
    assert code == 4401 and "only clients on this machine" in reason


async def test_a_websocket_from_a_foreign_web_page_is_refused_on_this_machine_too(base_url: str) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:  # a page on any site, in this machine's browser
        await socket_of(base_url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


@pytest.fixture
def fresh_server(settings: Settings, database_url: str) -> Iterator[tuple[str, str]]:
    """A server on a database of its own, with no key yet."""
    name = f"cx360_loopback_{uuid4().hex[:12]}"
    administer(with_database(database_url, "postgres"), f'CREATE DATABASE "{name}"')
    url = with_database(database_url, name)
    try:
        with RunningServer(replace(settings, database_url=url, projector="off")) as base:
            yield base, url
    finally:
        administer(with_database(database_url, "postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_first_key_ends_keyless_connections_and_the_last_revocation_restores_them(
    fresh_server: tuple[str, str]
) -> None:
    base, url = fresh_server
    socket = await socket_of(base)
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    key_id, token = create_key(url, "admin")
    assert await closed(socket) == (4401, "an API key is now required")
    assert "an API key is required" in unauthenticated(post(base, {"query": QUERY}))
    assert post(base, {"query": QUERY}, headers=bearer(token)).status_code == 200
    keyed = await acknowledged(base, token)
    assert keys_cli(url, "revoke", key_id).returncode == 0
    assert (await closed(keyed))[0] == 4403
    assert httpx.post(base + "/graphql", json={"query": QUERY}).status_code == 200  # no key left: loopback again
