"""The webhooks' two tables: the account mapping, and the parked events. Created at start, idempotently."""

from __future__ import annotations

import asyncpg

from service.store.tables import PARKED_TABLE, PROVIDER_ACCOUNTS_TABLE

TABLE_LOCK = 0x6378333630_776868  # serialises concurrent CREATE TABLE IF NOT EXISTS (which may race)
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {PROVIDER_ACCOUNTS_TABLE} ("
    " provider text NOT NULL, external_id text NOT NULL, account_id text NOT NULL,"
    " mapped_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (provider, external_id))",
    f"CREATE TABLE IF NOT EXISTS {PARKED_TABLE} ("
    " id bigserial PRIMARY KEY, provider text NOT NULL, event_id text NOT NULL, external_id text,"
    " cause text NOT NULL, reason text NOT NULL, envelope jsonb, payload jsonb NOT NULL,"
    " parked_at timestamptz NOT NULL DEFAULT now(), replayed_at timestamptz, account_id text,"
    " UNIQUE (provider, event_id))",
    f"CREATE INDEX IF NOT EXISTS {PARKED_TABLE}_waiting ON {PARKED_TABLE} (provider, external_id)"
    " WHERE replayed_at IS NULL",
)


async def ensure_tables(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", TABLE_LOCK)
        for statement in CREATE:
            await connection.execute(statement)
