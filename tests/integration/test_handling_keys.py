"""Acting on findings with API keys: `findings:act` acts (as the key's holder), `views:read` reads and cannot act."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from domain.handling_policy import policy_from
from service.settings import Settings
from tests.conftest import RunningServer
from tests.integration.conftest import OWNERS
from tests.integration.test_findings import eventually, urgent_ticket_and_renewal
from tests.integration.test_handling_api import ACCOUNT, ASSIGN, COMMENT
from tests.support import RECORD, create_key, unique


@pytest.fixture(scope="module")
def keyed(settings: Settings, keys_database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A server on the keys database that judges findings, and a token per scope."""
    tokens = {scope: create_key(keys_database_url, scope, name=f"holder of {scope}")[1]
              for scope in ("events:write", "views:read", "streams:read", "findings:act", "admin")}
    chosen = replace(settings, database_url=keys_database_url, projector="thread", handling=policy_from({"owners": OWNERS}))
    with RunningServer(chosen) as url:
        yield url, tokens


def call(url: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url + "/graphql", json={"query": query, "variables": variables},
                          headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def a_finding(url: str, tokens: dict[str, str]) -> tuple[str, str]:
    account = unique()
    assert "errors" not in call(url, tokens["events:write"], RECORD, {"events": urgent_ticket_and_renewal(account)})

    def found() -> list[dict[str, Any]]:
        body = call(url, tokens["views:read"], ACCOUNT, {"id": account})
        return body["data"]["account"]["findings"] if body["data"]["account"] else []  # type: ignore[no-any-return]

    [finding] = eventually(found)
    return account, finding["id"]


@pytest.mark.parametrize("scope", ["events:write", "views:read", "streams:read"])
def test_a_key_without_findings_act_cannot_act_and_nothing_is_recorded(keyed: tuple[str, dict[str, str]], scope: str) -> None:
    url, tokens = keyed
    account, finding_id = a_finding(url, tokens)
    body = call(url, tokens[scope], COMMENT, {"id": finding_id, "note": "mine"})
    assert body["data"] is None
    assert [error["extensions"] for error in body["errors"]] == [{"code": "FORBIDDEN", "scope": "findings:act"}]
    handling = call(url, tokens["views:read"], ACCOUNT, {"id": account})["data"]["account"]["findings"][0]["handling"]
    assert handling["version"] == 0


@pytest.mark.parametrize("scope", ["findings:act", "admin"])
def test_a_key_with_findings_act_acts_as_its_holder(keyed: tuple[str, dict[str, str]], scope: str) -> None:
    url, tokens = keyed
    _, finding_id = a_finding(url, tokens)
    body = call(url, tokens[scope], ASSIGN, {"id": finding_id, "to": "holder of views:read", "note": "yours"})
    assert "errors" not in body, body
    handling = body["data"]["assignFinding"]["handling"]
    assert handling["assignee"] == "holder of views:read"  # a key's holder may be assigned
    assert [(each["kind"], each["by"]) for each in handling["actions"]] == [("ASSIGN", f"holder of {scope}")]


def test_local_is_not_a_known_holder_once_keys_exist(keyed: tuple[str, dict[str, str]]) -> None:
    url, tokens = keyed
    _, finding_id = a_finding(url, tokens)
    body = call(url, tokens["findings:act"], ASSIGN, {"id": finding_id, "to": "local"})
    assert body["errors"][0]["message"].startswith("to: ")
