"""The PostgreSQL recorder of the event store, with the event index written in the append's transaction.

The store library appends stored events under an exclusive table lock, so notification
ids are issued in commit order and are gap-free. Inside that same transaction this
recorder writes, for every stored event, a row of `cx360_event_index` keyed by the
producer's `(source, id)`: a primary key, so a resent event is refused by the database
itself, even when two replicas receive it at once, and the whole append rolls back.
It also keeps `cx360_accounts`: one row per account, with its stream's current version
(so an append needs no scan of the stream) and its latest name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
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


class IndexingRecorder(PostgresApplicationRecorder):
    """Appends stored events and, atomically with them, their index and account rows.

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

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        index_rows: Sequence[IndexRow] = (),
        account_rows: Sequence[AccountRow] = (),
        **kwargs: Any,
    ) -> None:
        # Take the store's table lock first, so that concurrent appends queue here rather
        # than deadlock on each other's index keys.
        self._lock_table(curs)
        if index_rows:
            curs.execute(INSERT_INDEX_ROWS, columns(index_rows, IndexRow.__slots__), prepare=True)
        if account_rows:
            curs.execute(UPSERT_ACCOUNTS, columns(account_rows, AccountRow.__slots__), prepare=True)
        super()._insert_events(curs, stored_events, **kwargs)

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # As the library does: lock (so ids are issued in commit order), notify, insert.
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.insert_columns_statement,
            columns(stored_events, ("originator_id", "originator_version", "topic", "state")),
            prepare=True,
        )


def columns(rows: Sequence[Any], names: Sequence[str]) -> list[list[Any]]:
    """Rows as one list per column, for `unnest` of typed arrays."""
    return [[getattr(row, name) for row in rows] for name in names]
