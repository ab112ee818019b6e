"""The event store: an `eventsourcing` application whose streams are customer accounts.

`record` appends a batch of valid events in one transaction. It is synchronous (the
store library's PostgreSQL module is), so async callers hand it to a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, PersistenceError, Transcoder
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic

from domain.stream import account_stream_id, recorded
from domain.validation import ValidEvent
from service.recorder import IDEMPOTENCY_CONSTRAINT, AccountRow, IndexingRecorder, IndexRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class StoreUnavailable(Exception):
    """The database failed; nothing of the batch was stored."""


@dataclass(frozen=True)
class RecordOutcome:
    accepted: int
    duplicates: int
    positions: dict[int, int]  # batch index -> notification id, for the events newly stored


class JsonTranscoder(Transcoder):
    """Stored event state as compact JSON; recorded events hold plain JSON values only."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class EventStore(Application[UUID]):
    name = "cx360"

    def construct_transcoder(self) -> Transcoder:
        return JsonTranscoder()

    def record(self, events: Sequence[tuple[int, ValidEvent]]) -> RecordOutcome:
        """Append the events not stored before; report how many were new and how many duplicates.

        The database decides what is a duplicate (a unique key on `(source, id)`); the read
        beforehand only spares a failed append in the common case. A version conflict or a
        duplicate that raced in between rolls the append back, and it is tried again.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._record_once(events)
            except IntegrityError as conflict:
                log.info("append conflict (attempt %d): %s", attempt, constraint_of(conflict))
            except PersistenceError as failure:
                log.exception("event store failure")
                raise StoreUnavailable from failure
        raise StoreUnavailable(f"append still conflicting after {MAX_ATTEMPTS} attempts")

    def _record_once(self, events: Sequence[tuple[int, ValidEvent]]) -> RecordOutcome:
        first_of_key: dict[tuple[str, str], tuple[int, ValidEvent]] = {}
        for index, event in events:
            first_of_key.setdefault(event.key, (index, event))
        stored_keys = self.stored_keys(list(first_of_key))
        new = [pair for key, pair in first_of_key.items() if key not in stored_keys]
        if not new:
            return RecordOutcome(accepted=0, duplicates=len(events), positions={})
        versions = self.stream_versions({event.account_id for _, event in new})
        recorded_at = datetime.now(timezone.utc)
        domain_events = []
        for _, event in new:
            versions[event.account_id] = versions.get(event.account_id, 0) + 1
            domain_events.append(recorded(versions[event.account_id], recorded_at, event))
        recordings = self.events.put(
            domain_events,
            index_rows=[index_row(event, stream_event.originator_version) for (_, event), stream_event in zip(new, domain_events)],
            account_rows=account_rows([event for _, event in new], versions, recorded_at),
        )
        positions = {index: recording.notification.id for (index, _), recording in zip(new, recordings)}
        return RecordOutcome(accepted=len(new), duplicates=len(events) - len(new), positions=positions)

    def stored_keys(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these `(source, id)` keys are stored already."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT source, event_id FROM cx360_event_index"
                " WHERE (source, event_id) IN (SELECT * FROM unnest(%b::text[], %b::text[]))",
                ([source for source, _ in keys], [event_id for _, event_id in keys]),
                prepare=True,
            )
            return {(row["source"], row["event_id"]) for row in curs.fetchall()}

    def stream_versions(self, account_ids: set[str]) -> dict[str, int]:
        """The current version (last event's number) of each account's stream that has events."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT account_id, version FROM cx360_accounts WHERE account_id = ANY(%b::text[])",
                (list(account_ids),),
                prepare=True,
            )
            return {row["account_id"]: row["version"] for row in curs.fetchall()}

    @property
    def datastore(self) -> PostgresDatastore:
        return cast(IndexingRecorder, self.recorder).datastore


def store_env(params: Mapping[str, str | int | None]) -> dict[str, str]:
    """The store library's settings for a PostgreSQL server given by connection parameters."""
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": get_topic(IndexingRecorder),
        "CREATE_TABLE": "y",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "POSTGRES_PASSWORD": "",  # the library insists on one; trust and socket auth need none
    }
    names = {"dbname": "POSTGRES_DBNAME", "host": "POSTGRES_HOST", "port": "POSTGRES_PORT",
             "user": "POSTGRES_USER", "password": "POSTGRES_PASSWORD", "pool_size": "POSTGRES_POOL_SIZE"}
    env.update({names[key]: str(value) for key, value in params.items() if value is not None and key in names})
    return env


def index_row(event: ValidEvent, version: int) -> IndexRow:
    return IndexRow(
        source=event.source,
        event_id=event.id,
        originator_id=account_stream_id(event.account_id),
        originator_version=version,
        type=event.type,
        department=event.department,
        occurred_at=event.occurred_at,
    )


def account_rows(events: Sequence[ValidEvent], versions: Mapping[str, int], recorded_at: datetime) -> list[AccountRow]:
    """One row per account of the batch: its count, latest occurrence and latest name (ties: later arrival)."""
    rows: dict[str, AccountRow] = {}
    for event in events:
        row = rows.get(event.account_id)
        name = event.data.get("name") if event.type == "sales.account.updated" else None
        newer_name = name is not None and (row is None or row.name_occurred_at is None or event.occurred_at >= row.name_occurred_at)
        rows[event.account_id] = AccountRow(
            account_id=event.account_id,
            originator_id=account_stream_id(event.account_id),
            name=name if newer_name else (row.name if row else None),
            name_occurred_at=event.occurred_at if newer_name else (row.name_occurred_at if row else None),
            version=versions[event.account_id],
            event_count=(row.event_count if row else 0) + 1,
            recorded_at=recorded_at,
            last_occurred_at=max(event.occurred_at, row.last_occurred_at) if row else event.occurred_at,
        )
    return list(rows.values())


def constraint_of(conflict: IntegrityError) -> str:
    """The name of the constraint an append violated (a duplicate key, or a version conflict)."""
    diag = getattr(conflict.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or str(conflict)


__all__ = ["EventStore", "IDEMPOTENCY_CONSTRAINT", "RecordOutcome", "StoreUnavailable", "store_env"]
