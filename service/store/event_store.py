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
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    PersistenceError,
    Transcoder,
)
from eventsourcing.utils import get_topic

from domain.stream import account_stream_id, recorded
from domain.validation import ValidEvent
from service.store.recorder import (
    IDEMPOTENCY_CONSTRAINT,
    AccountRow,
    Append,
    Envelope,
    IndexingRecorder,
)
from service.store.tables import APPLICATION

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


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
    name = APPLICATION

    def construct_transcoder(self) -> Transcoder:
        return JsonTranscoder()

    def record(self, events: Sequence[tuple[int, ValidEvent]]) -> RecordOutcome:
        """Append the events not stored before; report how many were new and how many duplicates.

        A connection failure is retried: an append that did commit comes back as duplicates.
        """
        first_of_key: dict[tuple[str, str], tuple[int, ValidEvent]] = {}
        for index, event in events:
            first_of_key.setdefault(event.key, (index, event))
        new: list[tuple[int, ValidEvent]] = []

        def build(stored_keys: set[tuple[str, str]], versions: dict[str, int]) -> Append:
            new[:] = [pair for key, pair in first_of_key.items() if key not in stored_keys]
            return self.append_of([event for _, event in new], versions)

        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                _, notification_ids = self.indexing_recorder.append(
                    list(first_of_key), list({event.account_id for _, event in events}), build
                )
                break
            except (InterfaceError, OperationalError) as failure:
                log.warning("event store connection failed (attempt %d): %s", attempt, failure)
                failed: PersistenceError = failure
                if attempt < MAX_ATTEMPTS and lost_connection(failure):
                    self.replace_connections()
            except PersistenceError as failure:
                log.exception("event store failure")
                raise StoreUnavailable from failure
        else:
            raise StoreUnavailable(f"no connection after {MAX_ATTEMPTS} attempts") from failed
        positions = {index: notification_id for (index, _), notification_id in zip(new, notification_ids)}
        return RecordOutcome(accepted=len(new), duplicates=len(events) - len(new), positions=positions)

    def replace_connections(self) -> None:
        """A lost connection: a restart or a failover ends them all, and each retry could draw
        another dead one. Drain the pool: its idle connections are closed (no round trip, so a
        server that stopped answering cannot hold this thread) and new ones are opened in the
        pool's background workers; those in use are replaced when they come back."""
        try:
            self.indexing_recorder.datastore.pool.drain()
        except Exception:  # the next attempt reports the database's state
            log.debug("could not drain the event store's connections", exc_info=True)

    def append_of(self, events: Sequence[ValidEvent], versions: dict[str, int]) -> Append:
        """The stored events, index rows and account rows of new events, numbered after `versions`."""
        recorded_at = datetime.now(timezone.utc)
        recorded_at_text = recorded_at.isoformat()
        domain_events = []
        for event in events:
            versions[event.account_id] = versions.get(event.account_id, 0) + 1
            domain_events.append(recorded(versions[event.account_id], recorded_at_text, event))
        return Append(
            stored_events=[self.mapper.to_stored_event(domain_event) for domain_event in domain_events],
            envelopes=[Envelope(event.source, event.id, event.occurred_at) for event in events],
            account_rows=account_rows(events, versions, recorded_at),
        )

    @property
    def indexing_recorder(self) -> IndexingRecorder:
        return cast(IndexingRecorder, self.recorder)



CONNECTION_LOST = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now


def lost_connection(failure: PersistenceError) -> bool:
    """Whether the failure is a lost connection (class 08, a server shutting down, none at all),
    not a lock timeout, a deadlock or a cancelled statement, which retry on the same connection."""
    sqlstate = getattr(failure.__cause__, "sqlstate", None)
    return isinstance(failure, InterfaceError) or sqlstate is None or sqlstate.startswith("08") or (
        sqlstate in CONNECTION_LOST)


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


def account_rows(events: Sequence[ValidEvent], versions: Mapping[str, int], recorded_at: datetime) -> list[AccountRow]:
    """One row per account of the batch: its count, latest occurrence and latest name."""
    by_account: dict[str, list[ValidEvent]] = {}
    for event in events:
        by_account.setdefault(event.account_id, []).append(event)
    return [account_row(account_id, group, versions[account_id], recorded_at) for account_id, group in by_account.items()]


def account_row(account_id: str, events: list[ValidEvent], version: int, recorded_at: datetime) -> AccountRow:
    named = None
    for event in events:  # the latest name by occurredAt; on a tie, the later arrival
        if event.type == "sales.account.updated" and event.data.get("name") is not None:
            if named is None or event.occurred_at >= named.occurred_at:
                named = event
    return AccountRow(
        account_id=account_id,
        originator_id=account_stream_id(account_id),
        name=named.data["name"] if named else None,
        name_occurred_at=named.occurred_at if named else None,
        version=version,
        event_count=len(events),
        recorded_at=recorded_at,
        last_occurred_at=max(event.occurred_at for event in events),
    )


__all__ = ["EventStore", "IDEMPOTENCY_CONSTRAINT", "RecordOutcome", "StoreUnavailable", "store_env"]
