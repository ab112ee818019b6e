"""The webhooks' tables: the account mapping, the parked events, and what HubSpot's later deal events need (each
deal's amount and currency changes, and its companies). Created at start, idempotently."""

from __future__ import annotations

import asyncpg

from service.store.tables import (
    HUBSPOT_DEAL_COMPANIES_TABLE,
    HUBSPOT_DEAL_VALUES_TABLE,
    PARKED_TABLE,
    PROVIDER_ACCOUNTS_TABLE,
)

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
    f"CREATE TABLE IF NOT EXISTS {HUBSPOT_DEAL_VALUES_TABLE} ("
    " deal_id text NOT NULL, name text NOT NULL, value text, occurred_at timestamptz NOT NULL, event_id text NOT NULL,"
    " PRIMARY KEY (deal_id, name, event_id))",
    f"CREATE TABLE IF NOT EXISTS {HUBSPOT_DEAL_COMPANIES_TABLE} ("
    " deal_id text NOT NULL, company_id text NOT NULL, is_primary boolean NOT NULL, removed boolean NOT NULL,"
    " occurred_at timestamptz NOT NULL, event_id text NOT NULL, PRIMARY KEY (deal_id, company_id))",
    f"CREATE INDEX IF NOT EXISTS {HUBSPOT_DEAL_COMPANIES_TABLE}_company ON {HUBSPOT_DEAL_COMPANIES_TABLE} (company_id)",
)


async def ensure_tables(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", TABLE_LOCK)
        for statement in CREATE:
            await connection.execute(statement)
