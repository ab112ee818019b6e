"""Bad input at the HTTP and GraphQL edges: a clear error naming what is wrong, nothing stored."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.conftest import TEST_MAX_BATCH
from tests.support import RECORD, TIMELINE, event, graphql, record, unique


def account_exists(client: httpx.Client, account: str) -> bool:
    return graphql(client, "query($id: ID!) { account(id: $id) { id } }", {"id": account})["data"]["account"] is not None


def test_malformed_json_is_a_400_naming_the_problem(client: httpx.Client) -> None:
    response = client.post("/graphql", content=b'{"query": "mutation', headers={"content-type": "application/json"})
    assert response.status_code == 400 and "parse request body as JSON" in response.text


def test_a_wrong_content_type_is_a_415(client: httpx.Client) -> None:
    response = client.post("/graphql", content=b"query { accounts { edges { cursor } } }", headers={"content-type": "text/plain"})
    assert response.status_code == 415 and "application/json" in response.text


def test_nan_is_not_json(client: httpx.Client) -> None:
    body = '{"query": "mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }", "variables": {"e": [{"x": NaN}]}}'
    response = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_a_body_nested_beyond_the_parser_is_a_400(client: httpx.Client) -> None:
    body = '{"query": "{ __typename }", "variables": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "nested too deeply" in response.text


@pytest.mark.parametrize("encoded", [
    b"\xef\xbb\xbf" + b'{"query": "{ __typename }"}',  # UTF-8 with a byte order mark, as Windows tools send it
    '{"query": "{ __typename }"}'.encode("utf-16"),
    '{"query": "{ __typename }"}'.encode("utf-32"),
], ids=["utf-8 with a BOM", "utf-16", "utf-32"])
def test_a_body_in_any_encoding_json_allows_is_read(client: httpx.Client, encoded: bytes) -> None:
    response = client.post("/graphql", content=encoded, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


def test_a_body_over_the_limit_is_a_413(client: httpx.Client) -> None:
    response = client.post("/graphql", content=b"{" + b" " * (5 * 1024 * 1024) + b"}", headers={"content-type": "application/json"})
    assert response.status_code == 413 and "CX360_MAX_BODY_BYTES" in response.text


def test_a_batch_over_the_limit_is_refused_whole(client: httpx.Client) -> None:
    account = unique()
    body = graphql(client, RECORD, {"events": [event(account_id=account) for _ in range(TEST_MAX_BATCH + 1)]})
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith(f"events: a batch holds at most {TEST_MAX_BATCH} events")
    assert not account_exists(client, account)


def test_an_occurred_at_without_offset_fails_the_request_naming_the_event(client: httpx.Client) -> None:
    account = unique()
    batch = [event(account_id=account), event(account_id=account, occurred_at="2026-03-02T09:14:00")]
    body = graphql(client, RECORD, {"events": batch})
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith("events[1].occurredAt: ")
    assert body["errors"][0]["extensions"] == {"field": "events[1].occurredAt"}
    assert not account_exists(client, account)


def test_a_missing_envelope_field_fails_the_request_naming_it(client: httpx.Client) -> None:
    account = unique()
    incomplete = {k: v for k, v in event(account_id=account).items() if k != "accountId"}
    body = graphql(client, RECORD, {"events": [event(account_id=account), incomplete]})
    assert body["data"] is None and body["errors"][0]["message"].startswith("events[1]: ")
    assert "accountId" in body["errors"][0]["message"]


def test_over_long_and_deeply_nested_data_reject_that_event_alone(client: httpx.Client) -> None:
    account = unique()
    nested: object = "leaf"
    for _ in range(20):
        nested = {"n": nested}
    long_subject = event(account_id=account, data={"ticketId": "T-1", "priority": "low", "subject": "s" * 5000})
    deep = event(account_id=account, data={"ticketId": "T-2", "priority": "low", "extra": nested})
    long_id = event(account_id=account, id="i" * 300)
    payload = record(client, [long_subject, event(account_id=account), deep, long_id])
    assert payload["accepted"] == 1
    fields = [(r["index"], r["field"]) for r in payload["rejected"]]
    assert (0, "data.subject") in fields and (3, "id") in fields
    assert any(index == 2 and "nested deeper" in r["message"] for (index, _), r in zip(fields, payload["rejected"]))
    assert payload["rejected"][-1]["eventId"] is None or len(payload["rejected"][-1]["eventId"]) == 300


@pytest.mark.parametrize(
    ("variables", "argument"),
    [({"first": -1}, "first"), ({"first": 10_000}, "first"), ({"after": "bm90LW91cnM"}, "after"), ({"after": "%%%"}, "after")],
)
def test_bad_paging_arguments_are_named(client: httpx.Client, variables: dict[str, object], argument: str) -> None:
    account = unique()
    record(client, [event(account_id=account)])
    body = graphql(client, TIMELINE, {"id": account, **variables})
    assert body["errors"][0]["message"].startswith(f"{argument}: ")


def test_an_unparseable_as_of_is_named(client: httpx.Client) -> None:
    body = graphql(client, TIMELINE, {"id": "x", "asOf": "last tuesday"})
    assert body["errors"][0]["message"].startswith("asOf: ")


def test_an_as_of_in_the_future_is_refused_and_a_little_skew_is_not(client: httpx.Client) -> None:
    account = unique()
    record(client, [event(account_id=account)])
    later = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    body = graphql(client, TIMELINE, {"id": account, "asOf": later})
    assert body["errors"][0]["message"].startswith("asOf: ") and "is in the future" in body["errors"][0]["message"]
    assert body["data"] is None or body["data"]["account"] is None
    skewed = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    body = graphql(client, TIMELINE, {"id": account, "asOf": skewed})
    assert "errors" not in body and body["data"]["account"]["timeline"]["edges"]


def test_errors_never_carry_stack_traces_or_sql(client: httpx.Client) -> None:
    account = unique()
    record(client, [event(account_id=account)])
    body = graphql(client, TIMELINE, {"id": account, "after": "dGltZWxpbmU6eDp5"})  # "timeline:x:y"
    text = json.dumps(body)
    assert "Traceback" not in text and "SELECT" not in text
    assert body["errors"][0]["message"].startswith("after: ")


def test_an_unknown_department_is_a_graphql_error(client: httpx.Client) -> None:
    body = graphql(client, TIMELINE, {"id": "x", "departments": ["LEGAL"]})
    assert body["errors"][0]["message"].startswith("departments")


def posted(client: httpx.Client, body: object | str) -> httpx.Response:
    """POST a body as JSON text (json.dumps escapes a lone surrogate as \\ud800, as a client's encoder would)."""
    content = body if isinstance(body, str) else json.dumps(body)
    return client.post("/graphql", content=content, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("body", "kind"), [('"hello"', "a string"), ("null", "null"), ("42", "a number"), ("true", "a boolean")])
def test_a_body_that_is_not_an_object_is_a_400(client: httpx.Client, body: str, kind: str) -> None:
    response = posted(client, body)
    assert response.status_code == 400 and response.text.endswith(f"not {kind}")


def test_an_array_body_is_a_400_as_batching_is_off(client: httpx.Client) -> None:
    response = posted(client, [{"query": "{ __typename }"}])
    assert response.status_code == 400 and response.text == "Batching is not enabled"


def test_an_integer_too_long_to_read_rejects_its_event_alone(client: httpx.Client) -> None:
    account = unique()
    batch = [event(account_id=account), event(account_id=account, data={"ticketId": "T-1", "priority": "low", "x": 0})]
    body = json.dumps({"query": RECORD, "variables": {"events": batch}}).replace('"x": 0', '"x": ' + "9" * 5000)
    payload = posted(client, body).json()["data"]["recordEvents"]
    assert payload["accepted"] == 1 and [(r["index"], r["field"]) for r in payload["rejected"]] == [(1, "data.x")]
    assert payload["rejected"][0]["message"] == "must be between -2^63 and 2^63-1 (got a number of 5,000 digits)"


def test_a_number_of_a_billion_digits_is_rejected_at_once(client: httpx.Client) -> None:
    """As an integer, 1e999999999 would keep the server busy for minutes."""
    batch = [event(account_id=unique(), data={"ticketId": "T-1", "priority": "low", "x": 0})]
    body = json.dumps({"query": RECORD, "variables": {"events": batch}}).replace('"x": 0', '"x": 1e999999999')
    with httpx.Client(base_url=str(client.base_url), timeout=10) as quick:
        payload = posted(quick, body).json()["data"]["recordEvents"]
    assert payload["rejected"][0]["message"] == "must be between -2^63 and 2^63-1 (got a number of 1,000,000,000 digits)"


def test_an_integer_too_long_to_read_elsewhere_is_named(client: httpx.Client) -> None:
    body = '{"query": "query($n: Int) { accounts(first: $n) { edges { cursor } } }", "variables": {"n": ' + "9" * 5000 + "}}"
    assert posted(client, body).json()["errors"][0]["message"].startswith("first: Int cannot represent")
    inline = graphql(client, "{ accounts(first: " + "9" * 5000 + ") { edges { cursor } } }")
    assert inline["errors"][0]["message"] == "Syntax Error: an integer of 5,000 digits; at most 4,300 digits are read"


@pytest.mark.parametrize("field", ["id", "source", "accountId", "contactId", "actor", "data"])
def test_a_lone_surrogate_rejects_its_event_alone(client: httpx.Client, field: str) -> None:
    account = unique()
    bad = event(account_id=account)
    if field == "data":
        bad["data"] = {"ticketId": "T-1", "priority": "low", "note": "a\ud800b"}
    else:
        bad[field] = "a\ud800b" if field != "accountId" else account + "\udc00"
    response = posted(client, {"query": RECORD, "variables": {"events": [event(account_id=account), bad]}})
    payload = response.json()["data"]["recordEvents"]
    assert payload["accepted"] == 1 and len(payload["rejected"]) == 1
    rejection = payload["rejected"][0]
    assert (rejection["index"], rejection["field"]) == (1, "data.note" if field == "data" else field)
    assert rejection["message"].startswith("must not contain a lone surrogate")
    assert account_exists(client, account)


def test_a_lone_surrogate_in_an_argument_or_the_operation_name_is_named(client: httpx.Client) -> None:
    by_id = posted(client, {"query": "query($id: ID!) { account(id: $id) { id } }", "variables": {"id": "a\ud800"}}).json()
    assert by_id["errors"][0]["message"].startswith("id: must not contain a lone surrogate")
    search = posted(client, {"query": "query($s: String) { accounts(filter: {search: $s}) { edges { cursor } } }",
                             "variables": {"s": "\udc00"}}).json()
    assert search["errors"][0]["message"].startswith("filter.search: must not contain a lone surrogate")
    named = posted(client, {"query": "query A { __typename }", "operationName": "A\ud800"})
    assert named.status_code == 400 and named.text.startswith("operationName: must not contain a lone surrogate")
    in_query = posted(client, {"query": '{ account(id: "\ud800") { id } }'}).json()
    assert in_query["errors"][0]["message"] == "Syntax Error: Invalid character within String: U+D800."


def test_the_200_alias_attack_is_refused_before_anything_runs(client: httpx.Client) -> None:
    view = "fragment View on Account { id name findings { evidence { id data } } timeline(first: 50) { edges { node { data } } } }"
    attack = "{ " + " ".join(f"a{i}: accounts(first: 100) {{ edges {{ node {{ ...View }} }} }}" for i in range(200)) + " }\n" + view
    body = graphql(client, attack)
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["TOO_MANY_ALIASES", "QUERY_TOO_COSTLY"]
    assert body["errors"][1]["message"].startswith("query cost ") and "(CX360_MAX_QUERY_COST)" in body["errors"][1]["message"]


def test_deep_and_wide_queries_are_refused_with_a_clear_error(client: httpx.Client) -> None:
    """The schema nests six levels at most, so a deeper query names unknown fields, or is too deep to parse."""
    nested = graphql(client, "{ account(id: \"a\") { " + "x { " * 150 + "y" + " }" * 150 + " } }")
    assert nested["errors"][0]["message"] == "Cannot query field 'x' on type 'Account'."
    too_deep = graphql(client, "{ " + "x { " * 300 + "y" + " }" * 300 + " }")
    assert too_deep["errors"][0]["message"] == "Syntax Error: Document is nested too deeply. Parsing aborted."
    wide = graphql(client, "{ " + " ".join(f"a{i}: __typename" for i in range(5000)) + " }")
    assert wide["errors"][0]["message"] == "5,000 aliases exceed the limit of 30 (CX360_MAX_ALIASES)"
    spread = "{ accounts(first: 100) { edges { node { " + "...V " * 1000 + "} } } }\nfragment V on Account { id }"
    assert "errors" not in graphql(client, spread)  # graphql-core runs a fragment spread again in one selection once
    spreads = "{ accounts(first: 100) { edges { node { " + " ".join(f"...V{i}" for i in range(1000)) + " } } } }\n" + "\n".join(
        f"fragment V{i} on Account {{ id name findings {{ rule }} }}" for i in range(1000))
    assert graphql(client, spreads)["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_a_subscription_over_the_limits_is_refused_and_the_connection_serves_on(base_url: str) -> None:
    from websockets.asyncio.client import connect

    async with connect(base_url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        wide = "subscription { events { " + " ".join(f"a{i}: id" for i in range(31)) + " } }"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": wide}}))
        refused = json.loads(await socket.recv())
        assert refused["type"] == "error" and refused["payload"][0]["message"] == (
            "31 aliases exceed the limit of 30 (CX360_MAX_ALIASES)")
        bad_account = {"query": "subscription($a: ID, $p: String) { events(accountId: $a, after: $p) { id } }",
                       "variables": {"a": "x\ud800", "p": "0" * 19}}
        await socket.send(json.dumps({"id": "2", "type": "subscribe", "payload": bad_account}))
        named = json.loads(await socket.recv())
        assert named["payload"]["errors"][0]["message"].startswith("accountId: must not contain a lone surrogate")


MODELS = "FIRST_TOUCH, LAST_TOUCH, LINEAR, TIME_DECAY, POSITION_BASED, DATA_DRIVEN"
DEPARTMENTS = "MARKETING, SALES, PRODUCT, SUPPORT, BILLING"
RFC3339 = "DateTime must be an RFC 3339 date-time such as 2026-03-02T09:14:00Z"
ATTRIBUTION = "query($m: AttributionModel!, $g: AttributionGroup!, $f: DateTime!, $t: DateTime!) { attribution(" \
              "model: $m, from: $f, to: $t, groupBy: $g) { group } }"
GOOD = {"m": "LINEAR", "g": "DEPARTMENT", "f": "2026-01-01T00:00:00Z", "t": "2026-02-01T00:00:00Z"}


def attribution(model: str = "LINEAR", start: str = '"2026-01-01T00:00:00Z"', end: str = '"2026-02-01T00:00:00Z"',
                group: str = "DEPARTMENT") -> str:
    return f"{{ attribution(model: {model}, from: {start}, to: {end}, groupBy: {group}) {{ group }} }}"


@pytest.mark.parametrize(("query", "variables", "says"), [
    (attribution(model="MARKOV"), None, f"model: 'MARKOV' is not one of {MODELS}"),
    (ATTRIBUTION, {**GOOD, "m": "MARKOV"}, f"model: 'MARKOV' is not one of {MODELS}"),
    (attribution(group="REGION"), None, "groupBy: 'REGION' is not one of DEPARTMENT, CHANNEL, CAMPAIGN, ACTOR"),
    (ATTRIBUTION, {**GOOD, "g": "REGION"}, "groupBy: 'REGION' is not one of DEPARTMENT, CHANNEL, CAMPAIGN, ACTOR"),
    ("{ findings(state: CLOSED) { edges { cursor } } }", None, "state: 'CLOSED' is not one of OPEN, RESOLVED, ALL"),
    ('{ findings(department: "SALES") { edges { cursor } } }', None,
     f'department: "SALES" (a string; an enum value is written without quotes) is not one of {DEPARTMENTS}'),
    ('{ account(id: "acme") { timeline(departments: [SALES, LEGAL]) { edges { cursor } } } }', None,
     f"departments[1]: 'LEGAL' is not one of {DEPARTMENTS}"),
    ('query($d: [Department!]) { account(id: "acme") { timeline(departments: $d) { edges { cursor } } } }',
     {"d": ["SALES", 7]}, f"departments[1]: 7 is not one of {DEPARTMENTS}"),
    (attribution(start='"2021-04-01"'), None, f"from: {RFC3339} (got '2021-04-01')"),
    (attribution(end='"garbage"'), None, f"to: {RFC3339} (got 'garbage')"),
    (ATTRIBUTION, {**GOOD, "t": "garbage"}, f"to: {RFC3339} (got 'garbage')"),
    ('{ findings(first: "ten") { edges { cursor } } }', None, 'first: Int cannot represent non-integer value: "ten"'),
])
def test_a_bad_enum_or_scalar_names_the_argument_and_what_it_takes(client: httpx.Client, query: str,
                                                                   variables: dict[str, object] | None,
                                                                   says: str) -> None:
    """Literal or variable, every argument's bad enum value or scalar is told by the argument's path."""
    body = graphql(client, query, variables)
    assert body.get("data") is None and [error["message"] for error in body["errors"]] == [says], body
    assert body["errors"][0]["extensions"]["field"] == says.split(":")[0]


def test_an_inline_event_with_a_bad_date_names_its_path(client: httpx.Client) -> None:
    inline = RECORD.replace("($events: [EventInput!]!)", "").replace("$events", "[{id: \"1\", source: \"s\", type: "
                                                                       "\"t\", accountId: \"a\", occurredAt: \"soon\", data: {}}]")
    body = graphql(client, inline)
    assert body["errors"][0]["message"] == f"events[0].occurredAt: {RFC3339} (got 'soon')", body
