"""The PostgreSQL recorder of the event store: the library's events table, with our columns.

The store library appends stored events under an exclusive table lock, so notification
ids are issued in commit order and are gap-free; this recorder keeps that lock and the
library's NOTIFY. Its events table gains three columns from the producer's envelope:
`source` and `event_id`, under a unique key (so a resent event is refused by the
database itself, even when two replicas receive it at once), and `occurred_at`, which
with the stream id indexes each account's timeline. The table stays the library's log:
its subscriptions and projections read it as they would their own.

The same transaction keeps `cx360_accounts`: one row per account, with its stream's
current version (so an append needs no scan of the stream) and its latest name. An append
is one statement (`APPEND`) under the lock, in one of two round trips (the commit is the
other).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from service.store.ddl import columns_if_missing, index_if_missing
from service.store.tables import ACCOUNTS_TABLE, EVENTS_TABLE

IDEMPOTENCY_CONSTRAINT = f"{EVENTS_TABLE}_idempotency"


class CommitUncertain(Exception):
    """The commit was sent and its answer lost: the append may or may not be stored."""


@dataclass(frozen=True)
class Appended:
    """What an append found: the notification ids of the events it stored, and the events stored before it
    under the keys of the others, by key."""

    notification_ids: dict[tuple[str, str], int]
    stored: dict[tuple[str, str], StoredEvent]


# One statement under the store's lock does the whole append, so the lock is held for the server's work alone
# (no round trip to this process, no wait for its interpreter lock, in between). Its parameters are the batch's
# columns (the first event of each key, in batch order; `name` is an account name an event sets, or null) and
# the time recorded. `stored`: the keys stored before, with what they hold (duplicates and conflicts are decided
# from them); `fresh`: the others, numbered after their stream's version, in batch order; they are inserted in
# that order, so their notification ids follow it; `accounts`: one row per account of the fresh events, its
# count, latest occurrence, and latest name (by occurredAt; on a tie, the later in the batch). The answer: a row
# per event stored now (its notification id and key), then a row per key stored before (with its event).
APPEND = SQL("""
WITH batch AS (
    SELECT * FROM unnest(%b::uuid[], %b::text[], %b::bytea[], %b::text[], %b::text[], %b::timestamptz[], %b::text[],
                         %b::text[])
        WITH ORDINALITY AS b(originator_id, topic, state, source, event_id, occurred_at, account_id, name, ord)
), stored AS (
    SELECT b.ord, e.originator_id, e.originator_version, e.topic, e.state
    FROM batch b JOIN {events} e ON e.source = b.source AND e.event_id = b.event_id
), fresh AS (
    SELECT b.*, coalesce(a.version, 0) + row_number() OVER (PARTITION BY b.account_id ORDER BY b.ord) AS version
    FROM batch b LEFT JOIN {accounts} a ON a.account_id = b.account_id
    WHERE NOT EXISTS (SELECT FROM stored s WHERE s.ord = b.ord)
), inserted AS (
    INSERT INTO {events} ({columns})
    SELECT originator_id, version, topic, state, source, event_id, occurred_at FROM fresh ORDER BY ord
    RETURNING notification_id, source, event_id
), accounts AS (
    INSERT INTO {accounts} AS a
        (account_id, originator_id, name, name_occurred_at, version, event_count, first_recorded_at, last_occurred_at)
    SELECT account_id, (array_agg(originator_id))[1],
           (array_agg(name ORDER BY occurred_at DESC, ord DESC) FILTER (WHERE name IS NOT NULL))[1],
           max(occurred_at) FILTER (WHERE name IS NOT NULL), max(version), count(*), %b::timestamptz, max(occurred_at)
    FROM fresh GROUP BY account_id
    ON CONFLICT (account_id) DO UPDATE SET
        version = excluded.version,
        event_count = a.event_count + excluded.event_count,
        last_occurred_at = greatest(a.last_occurred_at, excluded.last_occurred_at),
        name = CASE WHEN excluded.name_occurred_at >= a.name_occurred_at OR a.name_occurred_at IS NULL
                    THEN coalesce(excluded.name, a.name) ELSE a.name END,
        name_occurred_at = CASE WHEN excluded.name_occurred_at >= a.name_occurred_at OR a.name_occurred_at IS NULL
                                THEN coalesce(excluded.name_occurred_at, a.name_occurred_at) ELSE a.name_occurred_at END
)
SELECT notification_id, source, event_id, NULL::uuid, NULL::bigint, NULL::text, NULL::bytea FROM inserted
UNION ALL
SELECT NULL, b.source, b.event_id, s.originator_id, s.originator_version, s.topic, s.state
FROM stored s JOIN batch b ON b.ord = s.ord
""")

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
        self.append_statement = APPEND.format(
            events=table, accounts=Identifier(ACCOUNTS_TABLE), columns=SQL(", ").join(map(Identifier, EVENT_COLUMNS)))

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

    def append(self, columns: Sequence[list[Any]], recorded_at: datetime, *, wait: float, budget: float) -> Appended:
        """Store the batch's events whose keys are not stored yet, with the account rows, in one transaction.

        `columns`: those of `APPEND`, for the first event of each key. Waits at most `wait` seconds for a
        connection; each statement may take `budget` seconds (the table lock's queue included). psycopg's errors
        come as they are; a failure once the commit was sent is `CommitUncertain`.
        """
        committing = False
        try:
            with self.transaction(wait, budget) as connection:
                lock = connection.cursor(row_factory=tuple_row)
                self._lock_table(lock)  # type: ignore[arg-type]  # (the library's statements read no rows)
                rows = connection.cursor(row_factory=tuple_row).execute(
                    self.append_statement, [*columns, recorded_at], prepare=True).fetchall()
                appended = Appended({}, {})
                for notification_id, source, event_id, originator_id, version, topic, state in rows:
                    if notification_id is not None:
                        appended.notification_ids[source, event_id] = notification_id
                    else:
                        appended.stored[source, event_id] = StoredEvent(
                            originator_id=originator_id, originator_version=version, topic=topic, state=bytes(state))
                if appended.notification_ids:
                    self._notify_channel(lock)  # type: ignore[arg-type]
                committing = True
            return appended
        except psycopg.Error as failure:
            if committing:
                raise CommitUncertain(str(failure)) from failure
            raise

    @contextmanager
    def transaction(self, wait: float, budget: float) -> Iterator[psycopg.Connection[Any]]:
        """A transaction in pipeline mode on a pooled connection, waiting `wait` seconds at most for it; each
        statement may run `budget` seconds (the store library's own `transaction` waits as long as its pool
        says). In pipeline mode the statements go out as they are executed and their answers are awaited
        when read: an append makes two round trips to the server (its statement, its commit), each one a wait
        for this thread and, under load, for the interpreter's lock after it."""
        with (self.datastore.pool.connection(timeout=wait) as connection, connection.pipeline(),
              connection.transaction()):
            connection.execute(SQL("SET LOCAL statement_timeout = {0}").format(Literal(max(1, round(budget * 1000)))))
            yield connection

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        raise NotImplementedError("events are stored with their envelope columns: use IndexingRecorder.append")

