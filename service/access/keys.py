"""The key store in PostgreSQL: create, list and revoke (for `cx360 keys`), and the active keys (for the service).

A key is active until it is revoked or its expiry passes. A revocation is an update,
not a delete, so the table keeps every key's history. Each
change is announced on `CHANNEL` in its transaction; every process of the service
listens, and polls besides (`service.access.ring`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import psycopg
from psycopg.rows import dict_row

from service.access.scopes import ADMIN, EVENTS_WRITE, SCOPES, Principal, scopes_from
from service.access.tokens import new_token

KEYS_TABLE = "cx360_api_keys"
CHANNEL = KEYS_TABLE  # NOTIFY on every create and revoke
MAX_HOLDER_LENGTH = 100

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (
  id text PRIMARY KEY,
  holder text NOT NULL,
  scopes text[] NOT NULL,
  secret_sha256 bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz
);
ALTER TABLE {KEYS_TABLE} ADD COLUMN IF NOT EXISTS sources text[]"""  # NULL: a key may name any source
TABLE_LOCK = 0x6378333630_6B6579  # serialises concurrent CREATE TABLE IF NOT EXISTS (which may race)
ACTIVE = (f"SELECT id, holder, scopes, secret_sha256, sources FROM {KEYS_TABLE}"
          " WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())")
COLUMNS = "id, holder, scopes, created_at, expires_at, revoked_at, sources"
MAX_DAYS = 3650
MAX_SOURCE_LENGTH = 100  # as an event's `source`


class KeyCommandError(ValueError):
    """A key command that cannot be done; the message names the field and the reason."""


@dataclass(frozen=True)
class KeyRecord:
    id: str
    holder: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    sources: tuple[str, ...] | None = None  # the only sources its events may name (None: any)


@dataclass(frozen=True)
class ActiveKey:
    principal: Principal
    secret_sha256: bytes


def ensure_table(connection: psycopg.Connection[object]) -> None:
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (TABLE_LOCK,))
        connection.execute(CREATE_TABLE)


async def ensure_table_async(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", TABLE_LOCK)
        await connection.execute(CREATE_TABLE)


def holder_of(name: str) -> str:
    holder = name.strip()
    if not holder or len(holder) > MAX_HOLDER_LENGTH or not holder.isprintable():
        raise KeyCommandError(f"name: must be 1 to {MAX_HOLDER_LENGTH} printable characters (got {name[:40]!r})")
    return holder


def sources_of(given: Iterable[str], scopes: Iterable[str]) -> list[str] | None:
    """The sources a key is restricted to (`--source`, repeatable), or None for any; only a key that
    records events (events:write or admin) can be restricted to sources."""
    sources = sorted({each.strip() for each in given})
    if not sources:
        return None
    if not {EVENTS_WRITE, ADMIN} & set(scopes):
        raise KeyCommandError(f"source: only a key with the scope {EVENTS_WRITE} records events, so only it can be "
                              "restricted to sources")
    for source in sources:
        if not source or len(source) > MAX_SOURCE_LENGTH or not source.isprintable():
            raise KeyCommandError(f"source: must be 1 to {MAX_SOURCE_LENGTH} printable characters, as an event's "
                                  f"source (got {source[:40]!r})")
    return sources


def create_key(connection: psycopg.Connection[object], name: str, scopes: Iterable[str],
               days: int | None = None, sources: Iterable[str] = ()) -> tuple[KeyRecord, str]:
    """A new key (expiring after `days`, or never; recording events of `sources` only, when given) and its token
    (shown once: only its digest is stored)."""
    holder, chosen = holder_of(name), sorted(scopes_from(scopes), key=SCOPES.index)
    restricted = sources_of(sources, chosen)
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise KeyCommandError(f"days: must be between 1 and {MAX_DAYS} (got {days})")
    key_id, token, secret_sha256 = new_token()
    with connection.transaction(), connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(f"INSERT INTO {KEYS_TABLE} (id, holder, scopes, secret_sha256, expires_at, sources)"
                       " VALUES (%s, %s, %s, %s, now() + make_interval(days => %s), %s) RETURNING " + COLUMNS,
                       (key_id, holder, chosen, secret_sha256, days, restricted))
        row = cursor.fetchone()
        cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, key_id))
    assert row is not None
    return record_of(row), token


def record_of(row: dict[str, Any]) -> KeyRecord:
    return KeyRecord(row["id"], row["holder"], tuple(row["scopes"]), row["created_at"], row["expires_at"],
                     row["revoked_at"], tuple(row["sources"]) if row["sources"] is not None else None)


def list_keys(connection: psycopg.Connection[object]) -> list[KeyRecord]:
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(f"SELECT {COLUMNS} FROM {KEYS_TABLE} ORDER BY created_at, id").fetchall()
    return [record_of(row) for row in rows]


def revoke_key(connection: psycopg.Connection[object], key_id: str) -> tuple[KeyRecord, bool]:
    """Revoke the key; the record, and whether this call revoked it (False: it was already)."""
    with connection.transaction(), connection.cursor(row_factory=dict_row) as cursor:
        cursor.execute(f"UPDATE {KEYS_TABLE} SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (key_id,))
        changed = cursor.rowcount == 1
        row = cursor.execute(f"SELECT {COLUMNS} FROM {KEYS_TABLE} WHERE id = %s", (key_id,)).fetchone()
        if changed:
            cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, key_id))
    if row is None:
        raise KeyCommandError(f"key: no key has the id {key_id[:40]!r} (see `cx360 keys list`)")
    return record_of(row), changed


async def active_keys(pool: asyncpg.Pool) -> dict[str, ActiveKey]:
    """Every key not revoked, by id."""
    rows = await pool.fetch(ACTIVE)
    return {row["id"]: ActiveKey(Principal(row["id"], row["holder"], frozenset(row["scopes"]),
                                           sources=frozenset(row["sources"]) if row["sources"] is not None else None),
                                 bytes(row["secret_sha256"]))
            for row in rows}
