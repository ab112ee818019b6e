"""Duplicates told apart from conflicts, and keys restricted to their sources, through the real /graphql endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer
from tests.support import create_key, event, graphql, keys_cli, timeline, unique

RECORD = """
mutation Record($events: [EventInput!]!) {
  recordEvents(events: $events) {
    accepted duplicates conflicts
    rejected { index eventId field message }
    conflicted { index eventId source fields message }
  }
}"""


def record(client: httpx.Client, events: list[dict[str, Any]], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": RECORD, "variables": {"events": events}}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["recordEvents"]
    return payload


def ticket(account: str, event_id: str, priority: str = "urgent", **envelope: Any) -> dict[str, Any]:
    return event("support.ticket.opened", account_id=account, id=event_id, source="zendesk",
                 data={"ticketId": "T-1", "priority": priority, "category": "outage"}, **envelope)


def test_an_identical_resend_is_a_duplicate_and_a_different_one_a_conflict_naming_the_event(client: httpx.Client) -> None:
    account = unique()
    first = ticket(account, "zd-1")
    assert record(client, [first])["accepted"] == 1
    again = record(client, [first, {**first, "occurredAt": "2026-03-02T10:14:00+01:00"}])  # the same instant
    assert (again["accepted"], again["duplicates"], again["conflicts"], again["conflicted"]) == (0, 2, 0, [])
    changed = record(client, [ticket(account, "zd-1", priority="low", actor="agent-9")])
    assert (changed["accepted"], changed["duplicates"], changed["conflicts"]) == (0, 0, 1)
    [conflict] = changed["conflicted"]
    assert conflict["index"] == 0 and conflict["eventId"] == "zd-1" and conflict["source"] == "zendesk"
    assert conflict["fields"] == ["actor", "data.priority"]
    assert "'zd-1'" in conflict["message"] and "'zendesk'" in conflict["message"]
    assert "already stored with different content" in conflict["message"]
    [stored] = timeline(client, account)
    assert stored["data"]["priority"] == "urgent" and stored["actor"] is None  # the first stands


def test_every_kind_of_difference_is_named(client: httpx.Client) -> None:
    account, other = unique(), unique()
    first = ticket(account, "zd-2")
    record(client, [first])
    changed = {**first, "type": "support.ticket.resolved", "accountId": other, "contactId": "c-9",
               "occurredAt": "2026-03-03T09:14:00Z", "data": {"ticketId": "T-1"}}
    [conflict] = record(client, [changed])["conflicted"]
    assert conflict["fields"] == ["type", "accountId", "contactId", "occurredAt", "data.category", "data.priority"]
    assert graphql(client, "query($id: ID!) { account(id: $id) { id } }", {"id": other})["data"]["account"] is None


def test_the_same_key_twice_in_a_batch_with_different_content_is_a_conflict_with_the_first(client: httpx.Client) -> None:
    account = unique()
    payload = record(client, [ticket(account, "zd-3"), ticket(account, "zd-4"), ticket(account, "zd-3", priority="low"),
                              ticket(account, "zd-4")])
    assert (payload["accepted"], payload["duplicates"], payload["conflicts"]) == (2, 1, 1)
    [conflict] = payload["conflicted"]
    assert conflict["index"] == 2 and conflict["fields"] == ["data.priority"]
    assert "sent earlier in this batch (index 0)" in conflict["message"]


def test_conflicts_rejections_and_new_events_in_one_batch(client: httpx.Client) -> None:
    account = unique()
    record(client, [ticket(account, "zd-5")])
    payload = record(client, [ticket(account, "zd-6"), ticket(account, "zd-5", priority="high"),
                              {**ticket(account, "zd-7"), "type": "support.nope"}, ticket(account, "zd-5")])
    assert (payload["accepted"], payload["duplicates"], payload["conflicts"]) == (1, 1, 1)
    assert [r["index"] for r in payload["rejected"]] == [2]
    assert [c["index"] for c in payload["conflicted"]] == [1]


# --- keys restricted to their sources (a database of their own: a key makes keys required) ---------------


@pytest.fixture(scope="module")
def keyed(settings: Settings, keys_database_url: str) -> Iterator[str]:
    create_key(keys_database_url, "admin", name="keeps keys required")
    with RunningServer(replace(settings, database_url=keys_database_url, projector="off")) as url:
        yield url


def restricted_key(database_url: str, *sources: str) -> str:
    done = keys_cli(database_url, "create", "--name", unique("producer"), "--scope", "events:write",
                    *(f"--source={source}" for source in sources))
    assert done.returncode == 0, done.stderr
    assert f"recording events of the sources {', '.join(sorted(sources))} only" in done.stdout
    return done.stdout.strip().splitlines()[-1]


def test_a_key_restricted_to_its_sources_cannot_record_another_sources_events(keyed: str, keys_database_url: str) -> None:
    token = restricted_key(keys_database_url, "zendesk", "zendesk-eu")
    account = unique()
    events = [ticket(account, "zd-10"), {**ticket(account, "st-1"), "source": "stripe"},
              {**ticket(account, "zd-11"), "source": "zendesk-eu"}, {**ticket(account, "x"), "source": "stripe", "type": "nope"}]
    with httpx.Client(base_url=keyed, timeout=30) as client:
        payload = record(client, events, headers={"authorization": f"Bearer {token}"})
    assert payload["accepted"] == 2
    foreign = [(r["index"], r["field"]) for r in payload["rejected"]]
    assert (1, "source") in foreign and (3, "source") in foreign and (3, "type") in foreign
    reason = next(r["message"] for r in payload["rejected"] if r["index"] == 1)
    assert reason == "this API key may record events of the sources 'zendesk', 'zendesk-eu' only (got 'stripe')"


def test_an_unrestricted_key_records_any_source(keyed: str, keys_database_url: str) -> None:
    _, token = create_key(keys_database_url, "events:write")
    with httpx.Client(base_url=keyed, timeout=30) as client:
        payload = record(client, [{**ticket(unique(), "any-1"), "source": "anything"}],
                         headers={"authorization": f"Bearer {token}"})
    assert payload["accepted"] == 1


def test_keys_list_shows_the_sources(keys_database_url: str) -> None:
    token = restricted_key(keys_database_url, "hubspot")
    listed = keys_cli(keys_database_url, "list")
    line = next(line for line in listed.stdout.splitlines() if token.split("_")[1] in line)
    assert " hubspot " in line


def test_sources_on_a_key_that_records_no_events_are_refused_by_name(keys_database_url: str) -> None:
    done = keys_cli(keys_database_url, "create", "--name", "reader", "--scope", "views:read", "--source", "zendesk")
    assert done.returncode == 2
    assert "source: only a key with the scope events:write records events" in done.stderr
    done = keys_cli(keys_database_url, "create", "--name", "w", "--scope", "events:write", "--source", "x" * 101)
    assert done.returncode == 2 and "source: must be 1 to 100 printable characters" in done.stderr


def test_the_graphql_payload_without_the_new_fields_is_answered_as_before(client: httpx.Client) -> None:
    body = graphql(client, "mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted duplicates } }",
                   {"e": [ticket(unique(), "zd-20")]})
    assert body["data"]["recordEvents"] == {"accepted": 1, "duplicates": 0}
