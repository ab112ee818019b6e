"""The account mapping: a provider's customer, organisation or company id -> the account it is, kept in the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.fields import NUL_REFUSED, Invalid
from domain.validation import ENVELOPE
from service.store.tables import ACCOUNTS_TABLE, PROVIDER_ACCOUNTS_TABLE
from service.webhooks import PROVIDERS

MAX_ID_LENGTH = 200


class MappingError(ValueError):
    """A mapping that cannot be set; the message names the field and the reason."""


@dataclass(frozen=True)
class Mapping:
    provider: str
    external_id: str
    account_id: str
    mapped_at: datetime


def checked(provider: str, external_id: str, account_id: str | None = None) -> tuple[str, str, str | None]:
    """The arguments, or MappingError naming the first bad one."""
    if provider not in PROVIDERS:
        raise MappingError(f"provider: must be one of {', '.join(PROVIDERS)} (got {provider[:40]!r})")
    if not external_id.strip() or len(external_id) > MAX_ID_LENGTH:
        raise MappingError(f"externalId: must be 1 to {MAX_ID_LENGTH} characters, not only spaces "
                           f"(got {external_id[:40]!r})")
    if "\x00" in external_id:
        raise MappingError(f"externalId: {NUL_REFUSED}")
    if account_id is not None:
        try:
            ENVELOPE["accountId"].check(account_id)  # the catalogue's own rule: the events will carry this id
        except Invalid as invalid:
            raise MappingError(f"accountId: {invalid}") from None
    return provider, external_id, account_id


async def known_account(pool: asyncpg.Pool, account_id: str) -> bool:
    """Whether some stored event names the account (its row is written with the events, in their transaction)."""
    try:
        return bool(await pool.fetchval(f"SELECT EXISTS (SELECT 1 FROM {ACCOUNTS_TABLE} WHERE account_id = $1)",
                                        account_id))
    except asyncpg.UndefinedTableError:  # a store that has never stored an event
        return False


def unknown_account(account_id: str) -> MappingError:
    return MappingError(
        f"accountId: no event names the account {account_id[:80]!r} yet, and events stored on it stay there even "
        "if the mapping is removed; check the id, or say that you mean a new account (newAccount: true, or "
        "`cx360 mappings set --new-account`)")


async def set_mapping(pool: asyncpg.Pool, provider: str, external_id: str, account_id: str) -> Mapping:
    """Map the provider's id to the account (replacing an earlier mapping of the same id)."""
    row = await pool.fetchrow(
        f"INSERT INTO {PROVIDER_ACCOUNTS_TABLE} (provider, external_id, account_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (provider, external_id) DO UPDATE SET account_id = excluded.account_id, mapped_at = now()"
        " RETURNING provider, external_id, account_id, mapped_at", *checked(provider, external_id, account_id))
    assert row is not None
    return Mapping(**dict(row))


async def remove_mapping(pool: asyncpg.Pool, provider: str, external_id: str) -> bool:
    """Remove the mapping; whether there was one. Events stored under it stay with their account."""
    checked(provider, external_id)
    done = await pool.execute(f"DELETE FROM {PROVIDER_ACCOUNTS_TABLE} WHERE provider = $1 AND external_id = $2",
                              provider, external_id)
    return bool(done.endswith(" 1"))


async def mappings(pool: asyncpg.Pool, provider: str | None = None, limit: int | None = None) -> list[Mapping]:
    rows = await pool.fetch(f"SELECT provider, external_id, account_id, mapped_at FROM {PROVIDER_ACCOUNTS_TABLE}"
                            " WHERE $1::text IS NULL OR provider = $1 ORDER BY provider, external_id LIMIT $2",
                            provider, limit)
    return [Mapping(**dict(row)) for row in rows]


async def accounts_of(pool: asyncpg.Pool, provider: str, external_ids: Iterable[str]) -> dict[str, str]:
    """The accounts the ids are mapped to (an unmapped id is not in the answer)."""
    rows = await pool.fetch(f"SELECT external_id, account_id FROM {PROVIDER_ACCOUNTS_TABLE}"
                            " WHERE provider = $1 AND external_id = ANY($2::text[])", provider, sorted(set(external_ids)))
    return {row["external_id"]: row["account_id"] for row in rows}
