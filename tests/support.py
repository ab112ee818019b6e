"""Helpers for tests: GraphQL calls, unique ids, and valid events built from the catalogue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
from hypothesis import strategies as st

from domain.catalogue import CATALOGUE
from domain.fields import (
    Amount,
    Choice,
    Currency,
    Field,
    Flag,
    Id,
    Integer,
    Percent,
    Text,
    Timestamp,
)

RECORD = """
mutation Record($events: [EventInput!]!) {
  recordEvents(events: $events) { accepted duplicates rejected { index eventId field message } }
}"""

TIMELINE = """
query Timeline($id: ID!, $first: Int, $after: String, $departments: [Department!], $asOf: DateTime) {
  account(id: $id, asOf: $asOf) {
    id name
    timeline(first: $first, after: $after, departments: $departments) {
      edges { cursor node { id source type department accountId contactId occurredAt recordedAt position actor data } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}"""

def keys_cli(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`cx360 keys ...` in a process of its own, on the database."""
    environment = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "service.cli", "keys", *arguments], env=environment,
                          capture_output=True, text=True, timeout=60)


def create_key(database_url: str, *scopes: str, name: str = "test") -> tuple[str, str]:
    """A new key's id and token, through the CLI."""
    done = keys_cli(database_url, "create", "--name", name, *(f"--scope={scope}" for scope in scopes))
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    return token.split("_")[1], token


def graphql(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a GraphQL request and return the decoded body (data and errors)."""
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def unique(prefix: str = "acct") -> str:
    return f"{prefix}-{uuid4().hex[:10]}"


def record(client: httpx.Client, events: list[dict[str, Any]]) -> dict[str, Any]:
    body = graphql(client, RECORD, {"events": events})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["recordEvents"]
    return payload


def timeline(client: httpx.Client, account_id: str, **variables: Any) -> list[dict[str, Any]]:
    body = graphql(client, TIMELINE, {"id": account_id, "first": 100, **variables})
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["account"]["timeline"]["edges"]]


def minimal_value(spec: Field) -> Any:
    """The simplest valid value of a field."""
    examples: dict[type, Any] = {
        Choice: lambda: spec.options[0],  # type: ignore[attr-defined]
        Integer: lambda: spec.minimum,  # type: ignore[attr-defined]
        Percent: lambda: 10,
        Amount: lambda: "100.00",
        Currency: lambda: "EUR",
        Flag: lambda: False,
        Timestamp: lambda: "2026-06-30T00:00:00Z",
        Id: lambda: "X-1",
        Text: lambda: "text",
    }
    return examples[type(spec)]()


def minimal_data(event_type: str) -> dict[str, Any]:
    fields = CATALOGUE[event_type].fields
    return {name: minimal_value(spec) for name, spec in fields.items() if spec.required}


def event(
    event_type: str = "support.ticket.opened",
    *,
    account_id: str,
    data: dict[str, Any] | None = None,
    occurred_at: str = "2026-03-02T09:14:00Z",
    **envelope: Any,
) -> dict[str, Any]:
    """A valid event in the shape of `EventInput`, with a fresh id unless one is given."""
    return {
        "id": envelope.pop("id", uuid4().hex),
        "source": envelope.pop("source", "test"),
        "type": event_type,
        "accountId": account_id,
        "occurredAt": occurred_at,
        "data": minimal_data(event_type) if data is None else data,
        **envelope,
    }


def values_of(spec: Field) -> st.SearchStrategy[Any]:
    """Every kind of valid value of a field, including amounts from strings and numbers."""
    if isinstance(spec, Choice):
        return st.sampled_from(spec.options)
    if isinstance(spec, Integer):
        return st.integers(spec.minimum, spec.maximum if spec.maximum is not None else 10**6)
    if isinstance(spec, Percent):
        return st.integers(0, 100)
    if isinstance(spec, Amount):
        amounts = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)
        # A float with two places and at most 15 digits round-trips through JSON to the same decimal.
        return amounts.flatmap(lambda amount: st.sampled_from([str(amount), float(amount)]))
    if isinstance(spec, Currency):
        return st.sampled_from(["EUR", "USD", "GBP", "JPY", "CHF"])
    if isinstance(spec, Flag):
        return st.booleans()
    if isinstance(spec, Timestamp):
        return instants().map(lambda instant: instant.isoformat())
    assert isinstance(spec, Text), spec
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


def instants() -> st.SearchStrategy[datetime]:
    offsets = st.sampled_from([timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
    return st.builds(
        lambda day, seconds, offset: datetime.combine(day, datetime.min.time(), offset) + timedelta(seconds=seconds),
        st.dates(date(2020, 1, 1), date(2030, 12, 31)),
        st.integers(0, 86_399),
        offsets,
    )


@st.composite
def valid_events(draw: st.DrawFn, account_id: str) -> dict[str, Any]:
    """Any valid event of any catalogue type, with optional fields sometimes present."""
    event_type = draw(st.sampled_from(sorted(CATALOGUE)))
    data = {}
    for name, spec in CATALOGUE[event_type].fields.items():
        if spec.required or draw(st.booleans()):
            data[name] = draw(values_of(spec))
    return event(
        event_type,
        account_id=account_id,
        data=data,
        occurred_at=draw(instants()).isoformat(),
        contactId=draw(st.none() | st.just("c-1")),
        actor=draw(st.none() | st.just("rep-114")),
    )


def decimal_equal(left: Any, right: Any) -> bool:
    return Decimal(str(left)) == Decimal(str(right))


def wait_for_projection(url: str, timeout: float = 60, *, database_url: str | None = None) -> None:
    """Until the service at `url` has projected every event stored (its /readyz says so); with `database_url`
    (its database), until its data-driven months are all learnt too, so that their credits no longer move."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        projection = httpx.get(url + "/readyz").json().get("projection") or {}
        if projection.get("head") and projection.get("lagEvents") == 0 and (
                database_url is None or not months_to_learn(database_url)):
            return
        time.sleep(0.2)
    raise RuntimeError("the projector did not catch up with the demo data")


def months_to_learn(database_url: str) -> int:
    """The data-driven months marked stale and not learnt yet (`service.projection.learning`)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM cx360_view_attribution_stale").fetchone()
        return int(row[0]) if row else 0
