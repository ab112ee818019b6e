"""The PostgreSQL recorder of the event store: the library's events table, with our columns.

The store library appends stored events under an exclusive table lock, so notification
ids are issued in commit order and are gap-free; this recorder keeps that lock and the
library's NOTIFY. Its events table gains three columns from the producer's envelope:
`source` and `event_id`, under a unique key (so a resent event is refused by the
database itself, even when two replicas receive it at once), and `occurred_at`, which
with the stream id indexes each account's timeline. The table stays the library's log:
its subscriptions and projections read it as they would their own.

The same transaction keeps `cx360_accounts`: one row per account, with its stream's
current version (so an append needs no scan of the stream) and its latest name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from service.store.ddl import columns_if_missing, index_if_missing
from service.store.tables import ACCOUNTS_TABLE, EVENTS_TABLE

IDEMPOTENCY_CONSTRAINT = f"{EVENTS_TABLE}_idempotency"


@dataclass(slots=True)
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
    """What one append writes: the events' columns in `EVENT_COLUMNS` order, and account rows."""

    event_columns: list[list[Any]]
    account_rows: list[AccountRow]

    @property
    def count(self) -> int:
        return len(self.event_columns[0])


class CommitUncertain(Exception):
    """The commit was sent and its answer lost: the append may or may not be stored."""


class BuildAppend(Protocol):
    def __call__(self, stored: dict[tuple[str, str], StoredEvent], versions: dict[str, int]) -> Append: ...


SELECT_VERSIONS = SQL("SELECT account_id, version FROM {0} WHERE account_id = ANY(%b::text[])").format(Identifier(ACCOUNTS_TABLE))

UPSERT_ACCOUNTS = SQL(
    "INSERT INTO {0} AS a"
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
).format(Identifier(ACCOUNTS_TABLE))

CREATE_ACCOUNTS = SQL(
    "CREATE TABLE IF NOT EXISTS {0} ("
    " account_id text PRIMARY KEY,"
    " originator_id uuid NOT NULL,"
    " name text,"
    " name_occurred_at timestamptz,"
    " version bigint NOT NULL,"
    " event_count bigint NOT NULL,"
    " first_recorded_at timestamptz NOT NULL,"
    " last_occurred_at timestamptz NOT NULL)"
).format(Identifier(ACCOUNTS_TABLE))

# the library's columns, then the envelope's
EVENT_COLUMNS = ("originator_id", "originator_version", "topic", "state", "source", "event_id", "occurred_at")


class IndexingRecorder(PostgresApplicationRecorder):
    """Appends stored events with their envelope columns, and account rows, in one transaction.

    `append` takes the store's exclusive table lock first, then reads which keys are
    already stored (with what they hold) and each account stream's version, and only then numbers the new
    events: concurrent appends to the same accounts queue behind the lock instead of
    failing on version conflicts. The unique key on `(source, event_id)` still guards
    the store. Parameters go as binary arrays, one per column: the library's default (an
    array of a composite type, dumped as text) spends most of an append escaping bytes.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        table = Identifier(self.datastore.schema or "public", self.events_table_name)
        self.sql_create_statements[:] = [self.lock_free(statement) for statement in self.sql_create_statements]
        self.sql_create_statements.extend(self.envelope_statements(table))
        self.sql_create_statements.append(CREATE_ACCOUNTS)
        self.select_stored = SQL(  # with their content: a resend that differs is a conflict, not a duplicate
            "SELECT source, event_id, originator_id, originator_version, topic, state FROM {table}"
            " WHERE (source, event_id) IN (SELECT * FROM unnest(%b::text[], %b::text[]))"
        ).format(table=table)
        self.insert_statement = SQL(
            "INSERT INTO {table} ({columns})"
            " SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::text[], %b::text[],"
            " %b::timestamptz[])"
            " RETURNING notification_id"
        ).format(table=table, columns=SQL(", ").join(map(Identifier, EVENT_COLUMNS)))

    def lock_free(self, statement: Composed) -> Composed:
        """The library's index on notification ids, created only where missing: its IF NOT EXISTS takes the
        table's share lock even when the index exists, and every replica's start would queue behind the appends
        (`ddl`). Recognised by the library's `notification_id_index_name`; the other statements as they are."""
        text = statement.as_string().strip()
        if text.startswith("CREATE UNIQUE INDEX IF NOT EXISTS") and self.notification_id_index_name in text:
            return index_if_missing(f"{self.datastore.schema or 'public'}.{self.notification_id_index_name}",
                                    SQL(text.removesuffix(";")).format())
        return statement

    def envelope_statements(self, table: Identifier) -> list[Composed]:
        """The envelope's columns and indexes, each only where missing: a start locks nothing (`ddl`)."""
        schema = self.datastore.schema or "public"
        return [
            columns_if_missing(f"{schema}.{self.events_table_name}", ("source", "event_id", "occurred_at"), SQL(
                "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS source text NOT NULL,"
                " ADD COLUMN IF NOT EXISTS event_id text NOT NULL,"
                " ADD COLUMN IF NOT EXISTS occurred_at timestamptz NOT NULL"
            ).format(table=table)),
            index_if_missing(f"{schema}.{IDEMPOTENCY_CONSTRAINT}", SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} (source, event_id)").format(
                name=Identifier(IDEMPOTENCY_CONSTRAINT), table=table)),
            index_if_missing(f"{schema}.{self.events_table_name}_timeline", SQL(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} (originator_id, occurred_at, originator_version)"
            ).format(name=Identifier(f"{self.events_table_name}_timeline"), table=table)),
        ]

    def append(
        self, keys: Sequence[tuple[str, str]], account_ids: Sequence[str], build: BuildAppend, *,
        wait: float, budget: float,
    ) -> tuple[Append, list[int]]:
        """Build the append from what is stored now, write it, and return it with its notification ids.

        Waits at most `wait` seconds for a connection; each statement may take `budget`
        seconds (the table lock's queue included). psycopg's errors come as they are; a
        failure once the commit was sent is `CommitUncertain`.
        """
        committing = False
        try:
            with self.transaction(wait, budget) as connection:
                lock = connection.cursor(row_factory=tuple_row)
                self._lock_table(lock)  # type: ignore[arg-type]  # (the library's statements read no rows)
                stored_rows = connection.cursor(row_factory=tuple_row).execute(
                    self.select_stored, columns(keys, (0, 1), itemgetter), prepare=True)
                version_rows = connection.cursor(row_factory=tuple_row).execute(
                    SELECT_VERSIONS, (list(account_ids),), prepare=True)
                stored = {(source, event_id): StoredEvent(originator_id=originator_id, originator_version=version,
                                                          topic=topic, state=bytes(state))
                          for source, event_id, originator_id, version, topic, state in stored_rows.fetchall()}
                append = build(stored, dict(version_rows.fetchall()))
                if not append.count:
                    return append, []
                lock.execute(UPSERT_ACCOUNTS, columns(append.account_rows, AccountRow.__slots__), prepare=True)
                self._notify_channel(lock)  # type: ignore[arg-type]
                inserted = connection.cursor(row_factory=tuple_row).execute(
                    self.insert_statement, append.event_columns, prepare=True)
                notification_ids = [notification_id for notification_id, in inserted.fetchall()]
                committing = True
            return append, notification_ids
        except psycopg.Error as failure:
            if committing:
                raise CommitUncertain(str(failure)) from failure
            raise

    @contextmanager
    def transaction(self, wait: float, budget: float) -> Iterator[psycopg.Connection[Any]]:
        """A transaction in pipeline mode on a pooled connection, waiting `wait` seconds at most for it; each
        statement may run `budget` seconds (the store library's own `transaction` waits as long as its pool
        says). In pipeline mode the statements go out as they are executed and their answers are awaited
        when read: an append makes three round trips to the server (its reads, its writes, its commit), not
        nine, each one a wait for this thread and, under load, for the interpreter's lock after it."""
        with (self.datastore.pool.connection(timeout=wait) as connection, connection.pipeline(),
              connection.transaction()):
            connection.execute(SQL("SET LOCAL statement_timeout = {0}").format(Literal(max(1, round(budget * 1000)))))
            yield connection

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        raise NotImplementedError("events are stored with their envelope columns: use IndexingRecorder.append")


def columns(rows: Sequence[Any], names: Sequence[Any], get: Callable[[Any], Callable[[Any], Any]] = attrgetter) -> list[list[Any]]:
    """Rows as one list per column, for `unnest` of typed arrays."""
    return [list(map(get(name), rows)) for name in names]
