"""CORS for the configured origins (Starlette's middleware); off by default."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer
from tests.integration.test_keys import QUERY, socket_of

APP = "https://app.example.com"
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"}


@pytest.fixture(scope="module")
def with_cors(settings: Settings) -> Iterator[str]:
    with RunningServer(replace(settings, projector="off", cors_origins=(APP, "http://localhost:3000"))) as url:
        yield url


def test_without_origins_configured_there_is_no_cors_answer(base_url: str) -> None:
    preflight = httpx.options(base_url + "/graphql", headers={"origin": APP, **PREFLIGHT})
    assert preflight.status_code == 405 and "access-control-allow-origin" not in preflight.headers
    answer = httpx.post(base_url + "/graphql", json={"query": QUERY}, headers={"origin": APP})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_a_configured_origin_gets_its_preflight_and_its_answers(with_cors: str) -> None:
    preflight = httpx.options(with_cors + "/graphql", headers={"origin": APP, **PREFLIGHT})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == APP
    assert {"authorization", "content-type"} <= set(preflight.headers["access-control-allow-headers"].lower().split(", "))
    assert "POST" in preflight.headers["access-control-allow-methods"]
    answer = httpx.post(with_cors + "/graphql", json={"query": QUERY}, headers={"origin": APP})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == APP
    assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in answer.headers  # keys are bearer tokens, never cookies


def test_another_origin_gets_no_cors_answer(with_cors: str) -> None:
    preflight = httpx.options(with_cors + "/graphql", headers={"origin": "https://evil.example", **PREFLIGHT})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    answer = httpx.post(with_cors + "/graphql", json={"query": QUERY}, headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers


def test_a_refusal_carries_the_cors_headers_so_the_page_can_read_why(with_cors: str) -> None:
    refused = httpx.post(with_cors + "/graphql", json={"query": QUERY}, headers={"origin": APP, "host": "evil.example"})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == APP


async def test_a_configured_origins_page_may_open_a_websocket(with_cors: str) -> None:
    socket = await socket_of(with_cors, origin=APP)  # type: ignore[arg-type]
    await socket.close()
