"""The read side: accounts and timelines from PostgreSQL through asyncpg.

Timelines read the store's events table by its timeline index (stream, occurredAt,
arrival; see `service.store.recorder`); nothing is replayed on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from domain.catalogue import CATALOGUE
from domain.stream import account_stream_id, topic_of, type_of_topic
from service.read.pool import ReadPool
from service.store.tables import ACCOUNTS_TABLE, EVENTS_TABLE

TIMELINE = f"""
SELECT topic, occurred_at, originator_version, notification_id, state
FROM {EVENTS_TABLE}
WHERE originator_id = $1
  AND ($2::text[] IS NULL OR topic = ANY($2::text[]))
  AND ($3::timestamptz IS NULL OR occurred_at <= $3)
  AND ($4::timestamptz IS NULL OR (occurred_at, originator_version) > ($4, $5))
ORDER BY occurred_at, originator_version
LIMIT $6
"""

ACCOUNT = f"SELECT account_id, name FROM {ACCOUNTS_TABLE} WHERE account_id = $1"

NAME_AS_OF = f"""
SELECT state FROM {EVENTS_TABLE}
WHERE originator_id = $1 AND topic = '{topic_of("sales.account.updated")}' AND occurred_at <= $2
ORDER BY occurred_at DESC, originator_version DESC
"""

@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    source: str
    type: str
    department: str
    account_id: str
    contact_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    notification_id: int
    version: int
    actor: str | None
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> EventRecord:
        state = orjson.loads(row["state"])
        event_type = type_of_topic(row["topic"])
        return cls(
            id=state["id"],
            source=state["source"],
            type=event_type,
            department=event_type.split(".", 1)[0],
            account_id=state["account_id"],
            contact_id=state["contact_id"],
            occurred_at=row["occurred_at"],
            recorded_at=datetime.fromisoformat(state["timestamp"]),
            notification_id=row["notification_id"],
            version=row["originator_version"],
            actor=state["actor"],
            data=state["data"],
        )


def topics_of(departments: Sequence[str]) -> list[str]:
    """The stored topics of every catalogue type of these departments."""
    return [topic_of(name) for name, kind in CATALOGUE.items() if kind.department in departments]


class Reads:
    """Queries of the read side; one pool, shared by all requests."""

    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool

    async def account(self, account_id: str, as_of: datetime | None = None) -> AccountRecord | None:
        """The account, or None if no event names it; as of a time, its name then."""
        row = await self.pool.fetchrow(ACCOUNT, account_id)
        if row is None:
            return None
        if as_of is None:
            return AccountRecord(row["account_id"], row["name"])
        return AccountRecord(row["account_id"], await self.name_as_of(account_stream_id(account_id), as_of))

    async def name_as_of(self, stream: UUID, as_of: datetime) -> str | None:
        async with self.pool.acquire() as connection, connection.transaction():
            async for row in connection.cursor(NAME_AS_OF, stream, as_of, prefetch=20):
                name = orjson.loads(row["state"])["data"].get("name")
                if name is not None:
                    return str(name)
        return None

    async def timeline(
        self,
        account_id: str,
        limit: int,
        *,
        departments: Sequence[str] | None = None,
        as_of: datetime | None = None,
        after: tuple[datetime, int] | None = None,
    ) -> list[EventRecord]:
        """An account's events ordered by `occurredAt`, ties by arrival."""
        after_at, after_version = after if after else (None, None)
        rows = await self.pool.fetch(
            TIMELINE,
            account_stream_id(account_id),
            topics_of(departments) if departments is not None else None,
            as_of,
            after_at,
            after_version,
            limit,
        )
        return [EventRecord.from_row(row) for row in rows]
