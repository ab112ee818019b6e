"""The PostgreSQL recorder of the event store, with the event index written in the append's transaction.

The store library appends stored events under an exclusive table lock, so notification
ids are issued in commit order and are gap-free; this recorder keeps that lock. Inside
the same transaction it writes, for every stored event, a row of `cx360_event_index`
keyed by the producer's `(source, id)`: a primary key, so a resent event is refused by
the database itself, even when two replicas receive it at once.
It also keeps `cx360_accounts`: one row per account, with its stream's current version
(so an append needs no scan of the stream) and its latest name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

IDEMPOTENCY_CONSTRAINT = "cx360_event_index_idempotency"

CREATE_INDEX_TABLES = [
    SQL(
        "CREATE TABLE IF NOT EXISTS cx360_event_index ("
        " source text NOT NULL,"
        " event_id text NOT NULL,"
        " originator_id uuid NOT NULL,"
        " originator_version bigint NOT NULL,"
        " type text NOT NULL,"
        " department text NOT NULL,"
        " occurred_at timestamptz NOT NULL,"
        f" CONSTRAINT {IDEMPOTENCY_CONSTRAINT} PRIMARY KEY (source, event_id))"
    ),
    SQL(
        "CREATE INDEX IF NOT EXISTS cx360_event_index_timeline"
        " ON cx360_event_index (originator_id, occurred_at, originator_version)"
    ),
    SQL(
        "CREATE TABLE IF NOT EXISTS cx360_accounts ("
        " account_id text PRIMARY KEY,"
        " originator_id uuid NOT NULL,"
        " name text,"
        " name_occurred_at timestamptz,"
        " version bigint NOT NULL,"
        " event_count bigint NOT NULL,"
        " first_recorded_at timestamptz NOT NULL,"
        " last_occurred_at timestamptz NOT NULL)"
    ),
]

INSERT_INDEX_ROWS = SQL(
    "INSERT INTO cx360_event_index"
    " (source, event_id, originator_id, originator_version, type, department, occurred_at)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::uuid[], %b::bigint[], %b::text[], %b::text[],"
    " %b::timestamptz[])"
)

SELECT_STORED_KEYS = SQL(
    "SELECT source, event_id FROM cx360_event_index"
    " WHERE (source, event_id) IN (SELECT * FROM unnest(%b::text[], %b::text[]))"
)

SELECT_VERSIONS = SQL("SELECT account_id, version FROM cx360_accounts WHERE account_id = ANY(%b::text[])")

STORED_COLUMNS = ("originator_id", "originator_version", "topic", "state")

UPSERT_ACCOUNTS = SQL(
    "INSERT INTO cx360_accounts AS a"
    " (account_id, originator_id, name, name_occurred_at, version, event_count, first_recorded_at, last_occurred_at)"
    " SELECT * FROM unnest(%b::text[], %b::uuid[], %b::text[], %b::timestamptz[], %b::bigint[], %b::bigint[],"
    " %b::timestamptz[], %b::timestamptz[])"
    " ON CONFLICT (account_id) DO UPDATE SET"
    " version = excluded.version,"
    " event_count = a.event_count + excluded.event_count,"
    " last_occurred_at = greatest(a.last_occurred_at, excluded.last_occurred_at),"
    " name = CASE WHEN excluded.name_occurred_at >= a.name_occurred_at OR a.name_occurred_at IS NULL"
    "   THEN coalesce(excluded.name, a.name) ELSE a.name END,"
    " name_occurred_at = CASE WHEN excluded.name_occurred_at >= a.name_occurred_at OR a.name_occurred_at IS NULL"
    "   THEN coalesce(excluded.name_occurred_at, a.name_occurred_at) ELSE a.name_occurred_at END"
)


@dataclass(frozen=True, slots=True)
class IndexRow:
    source: str
    event_id: str
    originator_id: UUID
    originator_version: int
    type: str
    department: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class AccountRow:
    account_id: str
    originator_id: UUID
    name: str | None
    name_occurred_at: datetime | None
    version: int  # the stream's version after this append
    event_count: int
    recorded_at: datetime
    last_occurred_at: datetime


@dataclass(frozen=True)
class Append:
    """What one append writes: stored events, and their index and account rows."""

    stored_events: list[StoredEvent]
    index_rows: list[IndexRow]
    account_rows: list[AccountRow]


class StoredKeysAndVersions(Protocol):
    def __call__(self, stored_keys: set[tuple[str, str]], versions: dict[str, int]) -> Append: ...


class IndexingRecorder(PostgresApplicationRecorder):
    """Appends stored events and, in the same transaction, their index and account rows.

    `append` takes the store's exclusive table lock first, then reads which keys are
    already stored and each account stream's version, and only then numbers the new
    events: concurrent appends to the same accounts queue behind the lock instead of
    failing on version conflicts. The unique key on `(source, id)` still guards the store.
    All parameters go as binary arrays, one per column: the library's default (an array
    of a composite type, dumped as text) spends most of an append escaping bytes in Python.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements.extend(CREATE_INDEX_TABLES)
        self.insert_columns_statement = SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])"
            " RETURNING notification_id"
        ).format(table=Identifier(self.datastore.schema or "public", self.events_table_name))

    def append(
        self, keys: Sequence[tuple[str, str]], account_ids: Sequence[str], build: StoredKeysAndVersions
    ) -> tuple[Append, list[int]]:
        """Build the append from what is stored now, write it, and return it with its notification ids."""
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            curs.execute(SELECT_STORED_KEYS, columns(keys, (0, 1), itemgetter), prepare=True)
            stored_keys = {(row["source"], row["event_id"]) for row in curs.fetchall()}
            curs.execute(SELECT_VERSIONS, (list(account_ids),), prepare=True)
            append = build(stored_keys, {row["account_id"]: row["version"] for row in curs.fetchall()})
            if not append.stored_events:
                return append, []
            curs.execute(INSERT_INDEX_ROWS, columns(append.index_rows, IndexRow.__slots__), prepare=True)
            curs.execute(UPSERT_ACCOUNTS, columns(append.account_rows, AccountRow.__slots__), prepare=True)
            self._notify_channel(curs)
            curs.execute(self.insert_columns_statement, columns(append.stored_events, STORED_COLUMNS), prepare=True)
            return append, [row["notification_id"] for row in curs.fetchall()]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        raise NotImplementedError("events are stored with their index rows: use IndexingRecorder.append")


def columns(rows: Sequence[Any], names: Sequence[Any], get: Callable[[Any], Callable[[Any], Any]] = attrgetter) -> list[list[Any]]:
    """Rows as one list per column, for `unnest` of typed arrays."""
    return [list(map(get(name), rows)) for name in names]
