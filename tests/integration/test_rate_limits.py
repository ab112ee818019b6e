"""Rate limits per key (or per loopback client) on writes and reads: 429 with Retry-After, an `error` on a WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer
from tests.integration.test_keys import QUERY, SUBSCRIBE, acknowledged, answer, bearer, clean, post
from tests.support import RECORD, create_key, event, unique

LIMITS = {"rate_limit_reads": "4/minute", "rate_limit_writes": "2/minute"}


@pytest.fixture
def limited(settings: Settings) -> Iterator[str]:
    """A replica of its own (budgets are per process), for loopback clients, with low limits."""
    with RunningServer(replace(settings, projector="off", **LIMITS)) as url:
        yield url


@pytest.fixture
def limited_with_keys(settings: Settings, keys_database_url: str) -> Iterator[str]:
    create_key(keys_database_url, "admin", name="keeps keys required")
    with RunningServer(replace(settings, database_url=keys_database_url, projector="off", **LIMITS)) as url:
        yield url


def write(url: str, headers: dict[str, str] | None = None, query: str = RECORD) -> httpx.Response:
    return post(url, {"query": query, "variables": {"events": [event(account_id=unique())]}}, headers)


def over_the_limit(response: httpx.Response, variable: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": int(response.headers["retry-after"])}
    assert variable in error["message"] and clean(response.text)


def test_writes_and_reads_have_budgets_of_their_own(limited: str) -> None:
    assert [write(limited).status_code for _ in range(2)] == [200, 200]
    over_the_limit(write(limited), "CX360_RATE_LIMIT_WRITES")
    assert [post(limited, {"query": QUERY}).status_code for _ in range(4)] == [200] * 4
    over_the_limit(post(limited, {"query": QUERY}), "CX360_RATE_LIMIT_READS")
    over_the_limit(httpx.get(limited + "/graphql", params={"query": QUERY}), "CX360_RATE_LIMIT_READS")


def test_a_write_dressed_as_something_else_is_counted_as_a_write(limited: str) -> None:
    escaped = '{"query": "\\u006dutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }",' \
              ' "variables": {"events": []}}'
    two = "query Q { __typename } mutation M { recordEvents(events: []) { accepted } }"
    sent = [httpx.post(limited + "/graphql", content=escaped, headers={"content-type": "application/json"}),
            post(limited, {"query": two, "operationName": "M"})]
    assert [each.status_code for each in sent] == [200, 200]
    over_the_limit(write(limited), "CX360_RATE_LIMIT_WRITES")
    # a query that only names a mutation is a read, and so is what does not parse
    assert post(limited, {"query": '{ accounts(filter: {search: "mutation"}) { edges { cursor } } }'}).status_code == 200
    assert post(limited, {"query": "mutation {"}).status_code == 200


def test_a_flood_from_one_key_gets_its_budget_and_429s_while_another_key_is_served(
    limited_with_keys: str, keys_database_url: str
) -> None:
    _, flooder = create_key(keys_database_url, "admin", name="flooder")
    _, other = create_key(keys_database_url, "admin", name="other")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: post(limited_with_keys, {"query": QUERY}, bearer(flooder)).status_code,
                                 range(40)))
    assert sorted(statuses) == [200] * 4 + [429] * 36
    assert post(limited_with_keys, {"query": QUERY}, bearer(other)).status_code == 200
    assert write(limited_with_keys, bearer(flooder)).status_code == 200  # its writes have a budget of their own
    unauthorized = post(limited_with_keys, {"query": QUERY}, bearer("cx360_000000000000_" + "A" * 43))
    assert unauthorized.status_code == 401  # a forged key spends nobody's budget


async def test_a_websocket_operation_over_the_limit_gets_an_error(limited_with_keys: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "admin")
    socket = await acknowledged(limited_with_keys, token)
    answers: list[dict[str, Any]] = []
    for n in range(5):
        await socket.send(json.dumps({"id": f"s{n}", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    async with asyncio.timeout(10):
        while not answers:
            message = json.loads(await socket.recv())
            if message["type"] == "error":
                answers.append(message)
    assert answers[0]["id"] == "s4" and answers[0]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "CX360_RATE_LIMIT_READS" in answers[0]["payload"][0]["message"]
    await socket.close()
    socket = await acknowledged(limited_with_keys, token)  # the budget is the key's, not the connection's
    message = await answer(socket, QUERY)
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    await socket.close()
