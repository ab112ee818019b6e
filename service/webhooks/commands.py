"""`cx360 mappings set|list|remove` and `cx360 webhooks parked`, beside a running service, on its database.

`mappings set` replays the customer's parked events itself, through the same write path as
the service (the store's guarantees hold; a replay run twice stores nothing twice).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import anyio
import anyio.to_thread
import asyncpg

from service.observability.metrics import Metrics
from service.runtime.database import database
from service.settings import Settings, connection_params
from service.store.event_store import EventStore, StoreUnavailable, store_env
from service.store.ingest import Ingest
from service.webhooks import accounts, parked
from service.webhooks.accounts import MappingError
from service.webhooks.intake import Webhooks
from service.webhooks.metrics import WebhookMetrics
from service.webhooks.tables import ensure_tables

PARKED_SHOWN = 1000


def mappings_command(settings: Settings, action: str, provider: str | None, external_id: str | None,
                     account_id: str | None, new_account: bool = False) -> int:
    with database(settings) as url:
        try:
            return anyio.run(mapping_action, settings, url, action, provider, external_id, account_id, new_account)
        except MappingError as bad:
            print(f"cx360: {bad}", file=sys.stderr)
            return 2
        except StoreUnavailable as failure:
            print(f"cx360: the mapping is set, its parked events are not all stored: {failure}", file=sys.stderr)
            return 1


async def mapping_action(settings: Settings, url: str, action: str, provider: str | None, external_id: str | None,
                         account_id: str | None, new_account: bool) -> int:
    async with opened_pool(url) as pool:
        if action == "list":
            return show([(each.provider, each.external_id, each.account_id, moment(each.mapped_at))
                         for each in await accounts.mappings(pool, provider)], ("PROVIDER", "EXTERNAL ID", "ACCOUNT", "MAPPED"))
        assert provider is not None and external_id is not None
        if action == "remove":
            removed = await accounts.remove_mapping(pool, provider, external_id)
            print(f"removed the mapping of {provider} {external_id}" if removed else f"{provider} {external_id} was not mapped")
            return 0
        assert account_id is not None
        accounts.checked(provider, external_id, account_id)
        if not new_account and not await accounts.known_account(pool, account_id):
            raise accounts.unknown_account(account_id)
        store = await anyio.to_thread.run_sync(lambda: EventStore(env=store_env(connection_params(url)),
                                                                  write_timeout=settings.write_timeout_seconds))
        try:
            webhooks = Webhooks(pool, Ingest(store, settings.limits, Metrics()), WebhookMetrics())
            _, taken = await webhooks.map(provider, external_id, account_id, new_account)
        finally:
            await anyio.to_thread.run_sync(store.close)
        print(f"mapped {provider} {external_id} to the account {account_id}; parked events stored now: {taken.stored}, "
              f"stored before: {taken.duplicates}, rejected (still parked): {taken.parked}")
        return 0


def parked_command(settings: Settings, provider: str | None, include_replayed: bool) -> int:
    with database(settings) as url:
        return anyio.run(list_parked, url, provider, include_replayed)


async def list_parked(url: str, provider: str | None, include_replayed: bool) -> int:
    async with opened_pool(url) as pool:
        rows = await parked.listed(pool, provider, include_replayed, PARKED_SHOWN)
    return show([(str(each.id), each.provider, each.event_id, each.external_id or "-", each.cause,
                  moment(each.parked_at), moment(each.replayed_at), each.reason) for each in rows],
                ("ID", "PROVIDER", "EVENT", "EXTERNAL ID", "CAUSE", "PARKED", "STORED", "REASON"))


def purge_command(settings: Settings, older_than_days: int, provider: str | None, kinds: Sequence[str]) -> int:
    with database(settings) as url:
        return anyio.run(purge_parked, url, older_than_days, provider, kinds)


async def purge_parked(url: str, older_than_days: int, provider: str | None, kinds: Sequence[str]) -> int:
    before = datetime.now(timezone.utc) - timedelta(days=older_than_days)
    async with opened_pool(url) as pool:
        counts = await parked.purged(pool, before, provider, kinds)
    which = ", ".join(kinds) + (f" of {provider}" if provider else "")
    if not counts:
        print(f"nothing to purge: no parked webhook event ({which}) older than {older_than_days} days")
        return 0
    each = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
    print(f"purged {sum(counts.values())} parked webhook events older than {older_than_days} days: {each}")
    waiting = sum(counts[kind] for kind in (parked.UNMAPPED, parked.INCOMPLETE))
    if waiting:
        print(f"{waiting} of them were waiting for a mapping or a later delivery: those events are dropped for good "
              "(a provider's retry of one would be taken in again)", file=sys.stderr)
    return 0


@asynccontextmanager
async def opened_pool(url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(dsn=url, min_size=1, max_size=2)
    try:
        await ensure_tables(pool)
        yield pool
    finally:
        await pool.close()


def show(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> int:
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def moment(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S%z") if instant is not None else "-"
