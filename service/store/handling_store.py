"""The handling store: findings' handling aggregates, in the same PostgreSQL database as the events.

It is an `eventsourcing` application of its own, so its streams live in a table of their
own (`cx360_handling_events`) with a notification log of their own: the projector and the
`events` subscription read `cx360_events` and never see a handling event, so handling can
never feed the rules. In the transaction that appends a handling's events, its recorder
also writes the handling's row in `cx360_handling` (state, assignee, actions), which the
read side filters and counts: queries never replay aggregates, and the row cannot
disagree with the stream it summarises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, StoredEvent, TrackingRecorder
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import Environment, get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from domain.handling import Handling
from service.projection import finding_changes
from service.projection.view_store import FINDINGS_TABLE, WRITE_LOCK
from service.runtime.database import bounded_factory
from service.store.event_store import store_env
from service.store.tables import HANDLING_APPLICATION, HANDLING_TABLE


@dataclass(frozen=True)
class HandlingRow:
    """A handling as the read side keeps it: what its stream says after its last action."""

    finding_id: UUID
    account_id: str
    state: str
    assignee: str | None
    snoozed_until: datetime | None
    version: int
    actions: list[dict[str, Any]]
    acknowledged_at: datetime | None
    closed_at: datetime | None
    evidence_seen: int | None

    @classmethod
    def of(cls, handling: Handling) -> HandlingRow:
        return cls(UUID(handling.finding_id), handling.account_id, handling.state, handling.assignee,
                   handling.snoozed_until, handling.version, [action.as_json() for action in handling.actions],
                   handling.acknowledged_at, handling.closed_at, handling.evidence_seen)


CREATE_HANDLING = SQL(
    "CREATE TABLE IF NOT EXISTS {0} ("
    " finding_id uuid PRIMARY KEY,"
    " account_id text NOT NULL,"
    " state text NOT NULL,"
    " assignee text,"
    " snoozed_until timestamptz,"
    " version bigint NOT NULL,"
    " actions jsonb NOT NULL,"
    " acknowledged_at timestamptz,"
    " closed_at timestamptz,"
    " evidence_seen bigint)"
).format(Identifier(HANDLING_TABLE))

UPSERT_HANDLING = SQL(
    "INSERT INTO {0} (finding_id, account_id, state, assignee, snoozed_until, version, actions, acknowledged_at,"
    " closed_at, evidence_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (finding_id) DO UPDATE SET state = excluded.state, assignee = excluded.assignee,"
    " snoozed_until = excluded.snoozed_until, version = excluded.version, actions = excluded.actions,"
    " acknowledged_at = excluded.acknowledged_at, closed_at = excluded.closed_at,"
    " evidence_seen = excluded.evidence_seen"
).format(Identifier(HANDLING_TABLE))


LOG_CHANGE = SQL(
    "INSERT INTO {0} (finding_id, account_id, change, finding)"
    " SELECT id, account_id, 'HANDLED', to_jsonb(f) FROM {1} f WHERE id = %s"
).format(Identifier(finding_changes.CHANGES_TABLE), Identifier(FINDINGS_TABLE))


class HandlingRecorder(PostgresApplicationRecorder):
    """Appends a handling's events and writes its row (`rows=` of `save`) in one transaction.

    The same transaction logs a HANDLED change of the finding for `findingChanged`, its
    position taken under the projected views' write lock as the projector takes its own
    (so positions stay in commit order and a subscriber resuming after one skips nothing).
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements.append(CREATE_HANDLING)
        self.sql_create_statements.extend(finding_changes.CREATE)

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any) -> None:
        """Before the events (the library reads their notification ids from the last statement): a
        concurrent save of the same handling waits on the row, then fails on the events' version.
        `_` holds `save`'s keywords (the library's name for them)."""
        rows: Sequence[HandlingRow] = _.get("rows", ())
        for row in rows:
            curs.execute(UPSERT_HANDLING, (
                row.finding_id, row.account_id, row.state, row.assignee, row.snoozed_until, row.version,
                Jsonb(row.actions, dumps=orjson_text), row.acknowledged_at, row.closed_at, row.evidence_seen))
        if rows:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            for row in rows:
                curs.execute(LOG_CHANGE, (row.finding_id,))
            curs.execute("SELECT pg_notify(%s, '')", (finding_changes.CHANNEL,))


def orjson_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class HandlingStore(Application[UUID]):
    """Loads and saves findings' handling aggregates (synchronous: async callers use a worker thread)."""

    name = HANDLING_APPLICATION

    def __init__(self, env: Mapping[str, str] | None = None, *, write_timeout: float = 5.0) -> None:
        self.write_timeout = write_timeout
        super().__init__(env)

    def construct_factory(self, env: Environment) -> InfrastructureFactory[TrackingRecorder]:
        """The store library's factory, its pool bounded by the write timeout before it opens."""
        return bounded_factory(super().construct_factory(env), self.write_timeout)

    def save_handling(self, handling: Handling) -> None:
        """Append the handling's new events and write its row, together; a concurrent append of the
        same version fails the whole of it with the store library's `IntegrityError`."""
        self.save(handling, rows=[HandlingRow.of(handling)])

    def handling(self, aggregate_id: UUID) -> Handling | None:
        """The handling replayed from its stream, or None if nobody acted on the finding yet."""
        if not self.recorder.select_events(aggregate_id, limit=1):
            return None
        handling: Handling = self.repository.get(aggregate_id)
        return handling


def handling_env(params: Mapping[str, str | int | None]) -> dict[str, str]:
    """The store library's settings for the handling store: the event store's server, our recorder."""
    return {**store_env(params), "APPLICATION_RECORDER_TOPIC": get_topic(HandlingRecorder), "POSTGRES_POOL_SIZE": "1"}  # one kept open; more while busy
