"""`POST /events` through the real HTTP endpoint on real PostgreSQL: CloudEvents in its three modes, NDJSON,
and every bad input: unreadable bodies, unknown content types, faulty events, foreign sources, no scope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.v1.event import CloudEvent

from service.settings import Settings
from tests.conftest import RunningServer
from tests.support import create_key, event, keys_cli, timeline, unique

STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCH = {"content-type": "application/cloudevents-batch+json"}
NDJSON = {"content-type": "application/x-ndjson"}


def cloud_event(account: str, event_id: str | None = None, **attributes: Any) -> dict[str, Any]:
    """A CloudEvent in structured JSON: a Zendesk ticket opened on the account."""
    return {"specversion": "1.0", "id": event_id or unique("ce"), "source": "zendesk",
            "type": "support.ticket.opened", "subject": account, "time": "2026-03-02T09:14:00Z",
            "contactid": "c-17", "actor": "agent-7", "datacontenttype": "application/json",
            "data": {"ticketId": "T-1", "priority": "urgent", "category": "outage"}, **attributes}


def post(client: httpx.Client, headers: dict[str, str], body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/events", content=content, headers=headers)


def test_a_structured_cloud_event_is_stored_field_for_field(client: httpx.Client) -> None:
    account = unique()
    response = post(client, STRUCTURED, cloud_event(account, "ce-1", data={"ticketId": "T-1", "priority": "urgent",
                                                                            "category": "outage", "minutes": 12}))
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "duplicates": 0, "conflicts": 0, "rejected": [], "conflicted": []}
    [stored] = timeline(client, account)
    assert (stored["id"], stored["source"], stored["type"], stored["accountId"], stored["contactId"], stored["actor"],
            stored["occurredAt"]) == ("ce-1", "zendesk", "support.ticket.opened", account, "c-17", "agent-7",
                                      "2026-03-02T09:14:00+00:00")
    assert stored["data"] == {"ticketId": "T-1", "priority": "urgent", "category": "outage", "minutes": 12}
    again = post(client, STRUCTURED, cloud_event(account, "ce-1"))
    assert again.status_code == 207 and again.json()["conflicts"] == 1  # the amount is missing: a conflict
    assert again.json()["conflicted"][0]["fields"] == ["data.minutes"]


def test_the_sdks_own_binary_mode_is_taken(client: httpx.Client) -> None:
    account = unique()
    sent = CloudEvent({"id": "bin-1", "source": "stripe", "type": "billing.payment.received", "subject": account,
                       "time": datetime(2026, 3, 2, 9, 14, tzinfo=timezone(timedelta(hours=1))), "datacontenttype": "application/json", "actor": "billing-bot"},
                      {"invoiceId": "INV-1", "amount": "100.00", "currency": "EUR"})
    message = ce_http.to_binary_event(sent)
    message = replace(message, body=message.body.replace(b'"100.00"', b"100.10"))  # a JSON number, read exactly
    assert "ce-specversion" in message.headers
    response = client.post("/events", content=message.body, headers=message.headers)
    assert response.status_code == 200, response.text
    [stored] = timeline(client, account)
    assert (stored["id"], stored["type"], stored["actor"]) == ("bin-1", "billing.payment.received", "billing-bot")
    assert stored["data"]["amount"] == "100.10"
    assert datetime.fromisoformat(stored["occurredAt"]) == datetime(2026, 3, 2, 8, 14, tzinfo=timezone.utc)
    assert post(client, message.headers, message.body).json()["duplicates"] == 1


def test_a_batch_is_stored_together_and_each_faulty_event_is_rejected_alone(client: httpx.Client) -> None:
    account = unique()
    batch = [cloud_event(account), cloud_event(account, subject=None), cloud_event(account, time="yesterday"),
             cloud_event(account, type="support.nope"), {"id": "x"}, cloud_event(account, specversion="0.3"),
             cloud_event(account, data={"ticketId": "T-2"}), "not an event", cloud_event(account)]
    del batch[1]["subject"]
    response = post(client, BATCH, batch)
    assert response.status_code == 207, response.text
    answer = response.json()
    assert answer["accepted"] == 2
    faults = {(each["index"], each["field"]) for each in answer["rejected"]}
    assert {(1, "subject"), (2, "time"), (3, "type"), (4, "source"), (4, "type"), (6, "data.priority"),
            (7, "event")} <= faults, answer
    assert any(each["index"] == 5 for each in answer["rejected"])  # not CloudEvents 1.0
    subject = next(each for each in answer["rejected"] if each["index"] == 1)
    assert subject["message"] == "is required: the subject carries the account id"
    assert len(timeline(client, account)) == 2


def test_ndjson_lines_are_stored_and_a_line_that_is_not_json_is_rejected_by_its_number(client: httpx.Client) -> None:
    account = unique()
    lines = [json.dumps(event(account_id=account)), "{not json", json.dumps(event(account_id=account)), "",
             json.dumps([1, 2]), json.dumps(event(account_id=account, data={"ticketId": "T"})),
             json.dumps(event(account_id=account))]
    response = post(client, NDJSON, "\n".join(lines).encode() + b"\n\xff\xfe\n")
    assert response.status_code == 207, response.text
    answer = response.json()
    assert answer["accepted"] == 3 and answer["duplicates"] == 0
    by_line = {(each["line"], each["field"]) for each in answer["rejected"]}
    assert {(2, "line"), (5, "line"), (6, "data.priority"), (8, "line")} <= by_line, answer
    assert next(each for each in answer["rejected"] if each["line"] == 2)["message"].startswith("is not JSON")
    assert len(timeline(client, account)) == 3
    assert post(client, NDJSON, "\n".join(lines).encode()).json()["duplicates"] == 3


def test_ndjson_over_one_transaction_is_stored_in_order_and_repeats_are_told_apart(settings: Settings) -> None:
    account = unique()
    events = [event(account_id=account, id=f"n-{i}") for i in range(25)]
    events.append({**events[0], "actor": "someone else"})  # line 26: a conflict
    body = "\n".join(json.dumps(each) for each in events).encode()
    with RunningServer(replace(settings, max_batch_events=10, projector="off")) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            answer = client.post("/events", content=body, headers=NDJSON).json()
    assert (answer["accepted"], answer["duplicates"], answer["conflicts"]) == (25, 0, 1)
    assert answer["conflicted"][0]["line"] == 26 and "already stored" in answer["conflicted"][0]["message"]


def test_a_conflict_within_a_body_names_the_earlier_line(client: httpx.Client) -> None:
    account = unique()
    first = event(account_id=account, id="dup-1")
    body = "\n".join(json.dumps(each) for each in [first, {**first, "actor": "someone"}]).encode()
    [conflict] = post(client, NDJSON, body).json()["conflicted"]
    assert conflict["line"] == 2 and "sent earlier in this batch (line 1)" in conflict["message"]


@pytest.mark.parametrize(("headers", "body", "said"), [
    (STRUCTURED, b"{oops", "body: is not JSON"),
    (STRUCTURED, b"", "body: is empty"),
    (STRUCTURED, b"[]", "body: must be a CloudEvent as a JSON object, not an array"),
    (STRUCTURED, b"\xff\xfe", "body: is not UTF-8"),
    (BATCH, b'{"id": 1}', "body: a batch must be a JSON array of CloudEvents, not an object"),
    (BATCH, b"[" * 100_000, "body: is nested too deeply"),
    (BATCH, b"[NaN]", "body: is not JSON (NaN is not a JSON number)"),
])
def test_a_body_that_cannot_be_read_is_a_400_and_stores_nothing(client: httpx.Client, headers: dict[str, str],
                                                                 body: bytes, said: str) -> None:
    response = post(client, headers, body)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["message"].startswith(said) and error["extensions"]["code"] == "BAD_REQUEST"


def test_a_batch_over_the_limit_is_a_400_naming_it(settings: Settings) -> None:
    account = unique()
    with RunningServer(replace(settings, max_batch_events=2, projector="off")) as url:
        response = httpx.post(url + "/events", content=json.dumps([cloud_event(account) for _ in range(3)]),
                              headers=BATCH, timeout=30)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "body: a batch holds at most 2 events (got 3); nothing was stored"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_an_unknown_content_type_is_a_415_naming_the_accepted_ones(client: httpx.Client, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/events", content=b"{}", headers=headers)
    assert response.status_code == 415
    message = response.json()["errors"][0]["message"]
    for accepted in ("application/cloudevents+json", "application/cloudevents-batch+json", "application/x-ndjson",
                     "ce-specversion"):
        assert accepted in message
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_binary_mode_with_faulty_headers_is_rejected_by_attribute(client: httpx.Client) -> None:
    headers = {"content-type": "application/json", "ce-specversion": "1.0", "ce-id": "b-2", "ce-source": "s",
               "ce-type": "support.ticket.opened", "ce-time": "2026-13-02T09:14:00Z", "ce-subject": unique()}
    answer = client.post("/events", content=b'{"ticketId": "T"}', headers=headers).json()
    assert [each["field"] for each in answer["rejected"]] == ["time"]
    del headers["ce-id"]
    headers["ce-time"] = "2026-03-02T09:14:00Z"
    answer = client.post("/events", content=b"not json", headers=headers).json()
    assert [(each["field"], each["message"]) for each in answer["rejected"]] == [("id", "is required")]  # not made up
    headers["ce-id"] = "b-3"
    answer = client.post("/events", content=b"not json", headers=headers).json()
    assert [(each["field"], each["message"]) for each in answer["rejected"]] == [("data", "must be an object, not a string")]


def test_get_is_not_allowed(client: httpx.Client) -> None:
    assert client.get("/events").status_code == 405


# --- keys: 401, 403, sources, the write budget (a database of their own) ----------------------------------


@pytest.fixture(scope="module")
def keyed(settings: Settings, keys_database_url: str) -> Iterator[str]:
    create_key(keys_database_url, "admin", name="keeps keys required")
    chosen = replace(settings, database_url=keys_database_url, projector="off", rate_limit_writes="3/minute")
    with RunningServer(chosen) as url:
        yield url


def test_without_a_key_401_and_without_the_scope_403(keyed: str, keys_database_url: str) -> None:
    body = json.dumps(cloud_event(unique())).encode()
    response = httpx.post(keyed + "/events", content=body, headers=STRUCTURED)
    assert response.status_code == 401 and response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    _, reader = create_key(keys_database_url, "views:read")
    response = httpx.post(keyed + "/events", content=body, headers={**STRUCTURED, "authorization": f"Bearer {reader}"})
    assert response.status_code == 403
    assert response.json()["errors"][0] == {"message": "this key lacks the scope events:write",
                                            "extensions": {"code": "FORBIDDEN", "scope": "events:write"}}


def test_a_source_restricted_key_and_the_write_budget(keyed: str, keys_database_url: str) -> None:
    done = keys_cli(keys_database_url, "create", "--name", unique("p"), "--scope", "events:write", "--source", "zendesk")
    token = done.stdout.strip().splitlines()[-1]
    headers = {**BATCH, "authorization": f"Bearer {token}"}
    account = unique()
    answer = httpx.post(keyed + "/events", content=json.dumps([cloud_event(account), cloud_event(account, source="stripe")]),
                        headers=headers).json()
    assert answer["accepted"] == 1
    assert [(each["index"], each["field"]) for each in answer["rejected"]] == [(1, "source")]
    statuses = [httpx.post(keyed + "/events", content=b"[]", headers=headers).status_code for _ in range(3)]
    assert statuses[-1] == 429  # 3 writes a minute: the first request and two of these
