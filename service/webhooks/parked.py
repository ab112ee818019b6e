"""Parked webhook events: kept with the reason they could not be stored, listed, and replayed once mapped.

`cause` is `unmapped` (the provider's customer has no account yet: replayed when it is
mapped), `incomplete` (a later delivery brings what it lacks, such as a HubSpot deal's
amount: then completed, and unmapped until stored), `unusable` (the payload lacks what the
mapping needs) or `rejected` (the event failed the catalogue's validation). A provider's retry of a parked event parks nothing
more: `(provider, event_id)` is unique.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from service.store.tables import PARKED_TABLE

UNMAPPED, INCOMPLETE, UNUSABLE, REJECTED = "unmapped", "incomplete", "unusable", "rejected"
STORED = "stored"  # not a cause: a parked event stored since, once its customer was mapped
if TYPE_CHECKING:  # generic only in the stubs
    from asyncpg.pool import PoolConnectionProxy

    Connection = PoolConnectionProxy[asyncpg.Record]  # a pool's connection, inside its transaction
    Executor = asyncpg.Pool | Connection


@dataclass(frozen=True)
class ToPark:
    event_id: str
    external_id: str | None
    cause: str
    reason: str
    envelope: dict[str, Any] | None  # the catalogue event without its account; None when there is none
    payload: Any  # the provider's event as it came


@dataclass(frozen=True)
class Parked:
    id: int
    provider: str
    event_id: str
    external_id: str | None
    cause: str
    reason: str
    parked_at: datetime
    replayed_at: datetime | None
    account_id: str | None
    payload: Any


async def park(pool: Executor, provider: str, items: Sequence[ToPark]) -> int:
    """Park the items not parked before; how many are new."""
    if not items:
        return 0
    rows = await pool.fetch(
        f"INSERT INTO {PARKED_TABLE} (provider, event_id, external_id, cause, reason, envelope, payload)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])"
        " ON CONFLICT (provider, event_id) DO NOTHING RETURNING id",
        provider, [each.event_id for each in items], [each.external_id for each in items],
        [each.cause for each in items], [each.reason[:1000] for each in items],
        [json(each.envelope) if each.envelope is not None else None for each in items],
        [json(each.payload) for each in items])
    return len(rows)


async def waiting(pool: asyncpg.Pool, provider: str, external_id: str, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """The unmapped events of this customer not replayed yet, oldest first: (row id, envelope)."""
    rows = await pool.fetch(
        f"SELECT id, envelope FROM {PARKED_TABLE} WHERE provider = $1 AND external_id = $2 AND cause = $3"
        " AND replayed_at IS NULL ORDER BY id LIMIT $4", provider, external_id, UNMAPPED, limit)
    return [(row["id"], orjson.loads(row["envelope"])) for row in rows]


async def incomplete(connection: Connection, provider: str,
                     external_ids: Sequence[str]) -> list[tuple[int, str, dict[str, Any]]]:
    """The incomplete events of these customers, locked until the transaction ends: (row id, external id, envelope)."""
    rows = await connection.fetch(
        f"SELECT id, external_id, envelope FROM {PARKED_TABLE} WHERE provider = $1 AND external_id = ANY($2::text[])"
        " AND cause = $3 AND replayed_at IS NULL ORDER BY id FOR UPDATE", provider, list(external_ids), INCOMPLETE)
    return [(row["id"], row["external_id"], orjson.loads(row["envelope"])) for row in rows]


async def completed(connection: Connection, row_id: int, envelope: dict[str, Any], reason: str) -> None:
    """An incomplete event made whole: unmapped now, until its customer's account stores it."""
    await connection.execute(f"UPDATE {PARKED_TABLE} SET cause = $2, reason = $3, envelope = $4::jsonb WHERE id = $1",
                             row_id, UNMAPPED, reason[:1000], json(envelope))


async def still_incomplete(connection: Connection, row_id: int, reason: str) -> None:
    await connection.execute(f"UPDATE {PARKED_TABLE} SET reason = $2 WHERE id = $1", row_id, reason[:1000])


async def replayed(pool: asyncpg.Pool, ids: Sequence[int], account_id: str) -> None:
    await pool.execute(f"UPDATE {PARKED_TABLE} SET replayed_at = now(), account_id = $2"
                       " WHERE id = ANY($1::bigint[]) AND replayed_at IS NULL", list(ids), account_id)


async def rejected(pool: asyncpg.Pool, row_id: int, account_id: str, reason: str) -> None:
    """A replayed event the catalogue refused: it stays parked, with the new cause and reason."""
    await pool.execute(f"UPDATE {PARKED_TABLE} SET cause = $2, reason = $3, account_id = $4 WHERE id = $1",
                       row_id, REJECTED, reason[:1000], account_id)


async def listed(pool: asyncpg.Pool, provider: str | None, include_replayed: bool, limit: int) -> list[Parked]:
    """Parked events, the most recent first: those still waiting, or (`include_replayed`) all."""
    rows = await pool.fetch(
        f"SELECT id, provider, event_id, external_id, cause, reason, parked_at, replayed_at, account_id, payload"
        f" FROM {PARKED_TABLE} WHERE ($1::text IS NULL OR provider = $1) AND ($2 OR replayed_at IS NULL)"
        " ORDER BY id DESC LIMIT $3", provider, include_replayed, limit)
    return [Parked(**{**dict(row), "payload": orjson.loads(row["payload"])}) for row in rows]


async def purged(pool: asyncpg.Pool, before: datetime, provider: str | None, kinds: Sequence[str]) -> Counter[str]:
    """Delete the parked events of the given kinds (`STORED`, or causes) parked, or for `stored` stored, before
    `before`; how many of each kind."""
    rows = await pool.fetch(
        f"DELETE FROM {PARKED_TABLE} WHERE ($2::text IS NULL OR provider = $2) AND CASE WHEN replayed_at IS NOT NULL"
        f" THEN $4 = ANY($3::text[]) AND replayed_at < $1 ELSE cause = ANY($3::text[]) AND parked_at < $1 END"
        f" RETURNING CASE WHEN replayed_at IS NOT NULL THEN $4 ELSE cause END AS kind",
        before, provider, list(kinds), STORED)
    return Counter(str(row["kind"]) for row in rows)


def unmapped_reason(provider: str, external_id: str) -> str:
    return (f"no account is mapped to the {provider} id {external_id!r}: map it (mapProviderCustomer, or "
            f"`cx360 mappings set {provider} {external_id} ACCOUNT_ID`) and this event is stored")


def json(value: Any) -> str:
    return orjson.dumps(value).decode()
