"""recordEvents through the real /graphql endpoint against real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg

from tests.support import RECORD, event, graphql, record, timeline, unique


def test_a_mixed_batch_stores_only_its_valid_events(client: httpx.Client) -> None:
    account = unique()
    good = [event(account_id=account, id=f"{account}-ok-{i}") for i in range(3)]
    bad_score = event("marketing.nps.responded", account_id=account, data={"score": 11}, id=f"{account}-bad")
    bad_type = event(account_id=account) | {"type": "support.ticket.vanished"}
    payload = record(client, [good[0], bad_score, good[1], bad_type, good[2]])
    assert payload["accepted"] == 3 and payload["duplicates"] == 0
    assert [(r["index"], r["eventId"], r["field"]) for r in payload["rejected"]] == [
        (1, f"{account}-bad", "data.score"),
        (3, bad_type["id"], "type"),
    ]
    assert "at most 10" in payload["rejected"][0]["message"]
    assert sorted(node["id"] for node in timeline(client, account)) == sorted(e["id"] for e in good)


def test_a_resent_batch_comes_back_as_duplicates(client: httpx.Client) -> None:
    account = unique()
    batch = [event(account_id=account) for _ in range(4)]
    assert record(client, batch)["accepted"] == 4
    again = record(client, batch + [event(account_id=account)])
    assert (again["accepted"], again["duplicates"]) == (1, 4)
    assert len(timeline(client, account)) == 5


def test_the_same_event_twice_in_one_batch_is_stored_once(client: httpx.Client) -> None:
    account = unique()
    same = event(account_id=account)
    payload = record(client, [same, dict(same)])
    assert (payload["accepted"], payload["duplicates"]) == (1, 1)


def test_the_same_id_from_another_source_is_another_event(client: httpx.Client) -> None:
    account = unique()
    payload = record(client, [event(account_id=account, id="x-1", source="zendesk"), event(account_id=account, id="x-1", source="hubspot")])
    assert payload["accepted"] == 2


async def test_two_concurrent_requests_carrying_the_same_events_store_them_once(base_url: str) -> None:
    account = unique()
    shared = [event(account_id=account) for _ in range(20)]
    streams = [unique("other") for _ in range(4)]

    async def send(http: httpx.AsyncClient, extra: str) -> dict[str, Any]:
        response = await http.post("/graphql", json={"query": RECORD, "variables": {"events": shared + [event(account_id=extra)]}})
        body: dict[str, Any] = response.json()
        return body["data"]["recordEvents"]

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        results = await asyncio.gather(*(send(http, extra) for extra in streams))
    assert sum(result["accepted"] for result in results) == 20 + len(streams)
    assert sum(result["duplicates"] for result in results) == 20 * (len(streams) - 1)
    with httpx.Client(base_url=base_url) as client:
        nodes = timeline(client, account)
    assert sorted(node["id"] for node in nodes) == sorted(e["id"] for e in shared)


def test_positions_are_increasing_in_arrival_order(client: httpx.Client) -> None:
    account = unique()
    first, second = event(account_id=account, occurred_at="2026-05-01T00:00:00Z"), event(account_id=account, occurred_at="2026-04-01T00:00:00Z")
    record(client, [first])
    record(client, [second])
    by_id = {node["id"]: node["position"] for node in timeline(client, account)}
    assert by_id[first["id"]] < by_id[second["id"]]
    assert int(by_id[first["id"]]) < int(by_id[second["id"]])


def test_a_database_failure_stores_nothing_of_the_batch_and_says_so(client: httpx.Client, database_url: str) -> None:
    account, doomed = unique(), unique("doomed")
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(  # a real failure raised by PostgreSQL inside the append's transaction
            "CREATE OR REPLACE FUNCTION cx360_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF NEW.account_id LIKE 'doomed-%' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$;"
            "CREATE OR REPLACE TRIGGER cx360_test_fail BEFORE INSERT ON cx360_accounts"
            " FOR EACH ROW EXECUTE FUNCTION cx360_test_fail()"
        )
        try:
            body = graphql(client, RECORD, {"events": [event(account_id=account), event(account_id=doomed)]})
        finally:
            connection.execute("DROP TRIGGER cx360_test_fail ON cx360_accounts")
    assert body["data"] is None
    message = body["errors"][0]["message"]
    assert "nothing of this batch was stored" in message and "disk on fire" not in message
    assert graphql(client, "query($id: ID!) { account(id: $id) { id } }", {"id": account})["data"]["account"] is None


async def test_concurrent_batches_to_the_same_accounts_are_all_stored(base_url: str) -> None:
    accounts = [unique() for _ in range(3)]
    batches = [[event(account_id=accounts[i % 3]) for i in range(30)] for _ in range(6)]

    async def send(http: httpx.AsyncClient, batch: list[dict[str, Any]]) -> dict[str, Any]:
        response = await http.post("/graphql", json={"query": RECORD, "variables": {"events": batch}})
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]["recordEvents"]

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        results = await asyncio.gather(*(send(http, batch) for batch in batches))
    assert [result["accepted"] for result in results] == [30] * 6
    with httpx.Client(base_url=base_url) as client:
        assert sum(len(timeline(client, account)) for account in accounts) == 180
