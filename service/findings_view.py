"""The findings view in PostgreSQL: finding rows, each account's next due time, and tracking.

It is the store library's tracking recorder with our tables beside its tracking table,
so the rows of a batch and the position they bring the view to are written in one
transaction: a crash or a restart neither skips an event nor counts one twice. Every
write first takes one advisory lock, so two replicas' projectors (or a rebuild's final
swap) never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from domain.stream import account_stream_id
from projections.facts import Fact, fact_from_stored
from projections.findings import Finding

APPLICATION = "cx360"  # the upstream application whose log is followed
EVENTS_TABLE = "cx360_events"
LIVE = "cx360_findings"
WRITE_LOCK = 3_600_360  # pg_advisory_xact_lock key of the findings view


class FindingsView(PostgresTrackingRecorder):
    """The finding rows of every account, kept at a tracked position in the event log."""

    def __init__(self, datastore: PostgresDatastore, *, name: str = LIVE) -> None:
        super().__init__(datastore, tracking_table_name=f"{name}_tracking")
        self.name = name
        self.sql_create_statements.extend(create_statements(name))
        table, schedule = Identifier(name), Identifier(f"{name}_schedule")
        self.delete_findings = SQL("DELETE FROM {0} WHERE account_id = ANY(%b::text[])").format(table)
        self.copy_findings = SQL(
            "COPY {0} (id, account_id, rule, key, severity, departments, evidence, detected_at, resolved_at, summary)"
            " FROM STDIN (FORMAT BINARY)"
        ).format(table)
        self.upsert_due = SQL(
            "INSERT INTO {0} (account_id, due_at) SELECT * FROM unnest(%b::text[], %b::timestamptz[])"
            " ON CONFLICT (account_id) DO UPDATE SET due_at = excluded.due_at"
        ).format(schedule)
        self.select_due = SQL("SELECT account_id FROM {0} WHERE due_at <= %s ORDER BY due_at LIMIT %s").format(schedule)
        self.select_next_due = SQL("SELECT min(due_at) AS due_at FROM {0}").format(schedule)
        settings = Identifier(f"{name}_settings")
        self.select_thresholds = SQL("SELECT thresholds FROM {0} WHERE id = 1").format(settings)
        self.upsert_thresholds = SQL(
            "INSERT INTO {0} (id, thresholds) VALUES (1, %s)"
            " ON CONFLICT (id) DO UPDATE SET thresholds = excluded.thresholds"
        ).format(settings)

    def position(self, curs: Cursor[DictRow]) -> int:
        """The last event the view has taken in (0 before the first)."""
        return self._max_tracking_id(APPLICATION, curs) or 0

    def lock(self, curs: Cursor[DictRow]) -> None:
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def write(
        self,
        curs: Cursor[DictRow],
        findings: Mapping[str, Sequence[Finding]],
        due: Mapping[str, datetime | None],
        position: int | None,
    ) -> None:
        """Replace the findings of the given accounts, set their due times, and move the tracking."""
        curs.execute(self.delete_findings, (list(findings),))
        with curs.copy(self.copy_findings) as copy:
            copy.set_types(COPY_TYPES)
            for group in findings.values():
                for each in group:
                    copy.write_row(row_of(each))
        curs.execute(self.upsert_due, (list(due), list(due.values())))
        if position is not None:
            self._insert_tracking(curs, Tracking(APPLICATION, position))

    def thresholds(self, curs: Cursor[DictRow]) -> dict[str, Any] | None:
        """The rule thresholds the rows were judged with (None for a view never written)."""
        curs.execute(self.select_thresholds, prepare=True)
        row = curs.fetchone()
        return None if row is None else dict(row["thresholds"])

    def set_thresholds(self, curs: Cursor[DictRow], table: Mapping[str, Any]) -> None:
        curs.execute(self.upsert_thresholds, (Jsonb(dict(table)),))

    def due_accounts(self, curs: Cursor[DictRow], now: datetime, limit: int) -> list[str]:
        curs.execute(self.select_due, (now, limit))
        return [row["account_id"] for row in curs.fetchall()]

    def next_due(self, curs: Cursor[DictRow]) -> datetime | None:
        curs.execute(self.select_next_due)
        row = curs.fetchone()
        return row["due_at"] if row is not None else None


def create_statements(name: str) -> list[Composed]:
    table, schedule = Identifier(name), Identifier(f"{name}_schedule")
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {0} ("
            " id uuid PRIMARY KEY, account_id text NOT NULL, rule text NOT NULL, key text NOT NULL,"
            " severity text NOT NULL, departments text[] NOT NULL, evidence bigint[] NOT NULL,"
            " detected_at timestamptz NOT NULL, resolved_at timestamptz, summary text NOT NULL)"
        ).format(table),
        SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (account_id)").format(Identifier(f"{name}_account"), table),
        SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (detected_at DESC, id)").format(Identifier(f"{name}_detected"), table),
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text PRIMARY KEY, due_at timestamptz)").format(schedule),
        SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (due_at)").format(Identifier(f"{name}_schedule_due"), schedule),
        SQL("CREATE TABLE IF NOT EXISTS {0} (id int PRIMARY KEY, thresholds jsonb NOT NULL)").format(
            Identifier(f"{name}_settings")
        ),
    ]


TABLE_SUFFIXES = ("", "_schedule", "_tracking", "_settings")


def drop_view(curs: Cursor[DictRow], name: str) -> None:
    for suffix in TABLE_SUFFIXES:
        curs.execute(SQL("DROP TABLE IF EXISTS {0}").format(Identifier(f"{name}{suffix}")))


def rename_view(curs: Cursor[DictRow], name: str, new_name: str) -> None:
    """Rename a view's tables and their indexes (transactional, like all DDL in PostgreSQL)."""
    for suffix in TABLE_SUFFIXES:
        curs.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
                     (f"{name}{suffix}",))
        for index in [row["indexname"] for row in curs.fetchall()]:
            renamed = new_name + index[len(name):] if index.startswith(name) else f"{new_name}_{index}"
            curs.execute(SQL("ALTER INDEX {0} RENAME TO {1}").format(Identifier(index), Identifier(renamed)))
        curs.execute(SQL("ALTER TABLE IF EXISTS {0} RENAME TO {1}").format(
            Identifier(f"{name}{suffix}"), Identifier(f"{new_name}{suffix}")))


COPY_TYPES = ["uuid", "text", "text", "text", "text", "text[]", "int8[]", "timestamptz", "timestamptz", "text"]


def row_of(each: Finding) -> tuple[Any, ...]:
    return (
        UUID(each.id),
        each.account_id,
        each.rule,
        each.key,
        each.severity,
        list(each.departments),
        [fact.position for fact in each.evidence],
        each.detected_at,
        each.resolved_at,
        each.summary,
    )


SELECT_AFTER = SQL(
    "SELECT notification_id, topic, state, occurred_at FROM {0} WHERE notification_id > %s"
    " ORDER BY notification_id LIMIT %s"
).format(Identifier(EVENTS_TABLE))
SELECT_HISTORIES = SQL(
    "SELECT notification_id, topic, state, occurred_at FROM {0}"
    " WHERE originator_id = ANY(%s) AND notification_id <= %s"
).format(Identifier(EVENTS_TABLE))


def events_after(curs: Cursor[DictRow], position: int, limit: int) -> list[tuple[str, Fact]]:
    """The next events of the log after a position, with their account ids."""
    curs.execute(SELECT_AFTER, (position, limit), prepare=True, binary=True)
    return [account_fact(row) for row in curs.fetchall()]


def histories(curs: Cursor[DictRow], account_ids: Iterable[str], up_to: int) -> dict[str, list[Fact]]:
    """Every event of the given accounts up to a position, by account."""
    streams = [account_stream_id(account_id) for account_id in account_ids]
    curs.execute(SELECT_HISTORIES, (streams, up_to), prepare=True, binary=True)
    found: dict[str, list[Fact]] = {account_id: [] for account_id in account_ids}
    for row in curs.fetchall():
        account_id, fact = account_fact(row)
        found[account_id].append(fact)
    return found


def account_fact(row: DictRow) -> tuple[str, Fact]:
    fact, account_id = fact_from_stored(row["notification_id"], row["topic"], row["state"], row["occurred_at"])
    return account_id, fact
