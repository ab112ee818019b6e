"""The event store: an `eventsourcing` application whose streams are customer accounts.

`record` appends a batch of valid events in one transaction. It is synchronous (the
store library's PostgreSQL module is), so async callers hand it to a worker thread.

A batch is stored, or said not to be, within the write timeout: the wait for a
connection and every statement are bounded by what is left of it. A connection the
server ended is replaced and the append tried again; a commit whose answer was lost is
tried again too, and what did commit comes back as duplicates (the idempotency key
`(source, id)`). Only when no try could tell is the outcome reported as unknown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any, cast
from uuid import UUID

import orjson
import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, StoredEvent, TrackingRecorder, Transcoder
from eventsourcing.utils import Environment, get_topic
from psycopg.errors import QueryCanceled
from psycopg_pool import PoolTimeout

from domain.stream import RECORDED_EVENT_CLASSES, RecordedEvent, account_stream_id, type_of_topic
from domain.validation import ValidEvent
from service.runtime.database import bounded_factory
from service.runtime.health import DatabaseHealth
from service.store.conflicts import Conflict, Content, differences
from service.store.recorder import (
    IDEMPOTENCY_CONSTRAINT,
    CommitUncertain,
    IndexingRecorder,
)
from service.store.tables import APPLICATION

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_WAIT = 0.5  # seconds a retry waits for a new connection: a server that is up gives one in milliseconds
NOT_STORED = "nothing of this batch was stored"
UNKNOWN = ("the answer to its commit was lost: this batch was not stored, or it was stored and a resend "
           "will report its events as duplicates; resend it")


class StoreUnavailable(Exception):
    """The database failed; the message says whether anything of the batch was stored (`stored`: None if unknown)."""

    def __init__(self, reason: str, stored: bool | None = False) -> None:
        super().__init__(f"{reason}; {UNKNOWN if stored is None else NOT_STORED}; retry later")
        self.stored = stored


@dataclass(frozen=True)
class RecordOutcome:
    accepted: int
    duplicates: int  # resent as they were (stored before, or earlier in the batch)
    positions: dict[int, int]  # batch index -> notification id, for the events newly stored
    conflicts: tuple[Conflict, ...] = ()  # resent with different content: not stored, and said so


class JsonTranscoder(Transcoder):
    """Stored event state as compact JSON; recorded events hold plain JSON values only."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class EventStore(Application[UUID]):
    name = APPLICATION

    def __init__(self, env: Mapping[str, str] | None = None, *, write_timeout: float = 5.0,
                 health: DatabaseHealth | None = None) -> None:
        self.write_timeout = write_timeout
        self.health = health if health is not None else DatabaseHealth()
        super().__init__(env)
        if self.mapper.compressor is not None or self.mapper.cipher is not None:  # (from the environment)
            self.close()
            raise ValueError("the event store keeps events' state as plain JSON, which its readers query in SQL: "
                             "unset COMPRESSOR_TOPIC and CIPHER_TOPIC")

    def construct_factory(self, env: Environment) -> InfrastructureFactory[TrackingRecorder]:
        """The store library's factory, its pool bounded by the write timeout before it opens."""
        return bounded_factory(super().construct_factory(env), self.write_timeout)

    def construct_transcoder(self) -> Transcoder:
        return JsonTranscoder()

    def record(self, events: Sequence[tuple[int, ValidEvent]]) -> RecordOutcome:
        """Append the events not stored before; report how many were new and how many duplicates.

        Raises `StoreUnavailable` within the write timeout when the database fails, at once
        while it is known to be down.
        """
        return self.record_encoded(self.encode(events))

    def encode(self, events: Sequence[tuple[int, ValidEvent]]) -> Encoded:
        """The batch made ready for `record_encoded`, outside the store's lock: the first event of each key,
        with its columns but the stream version (which the append numbers under the lock)."""
        first_of_key: dict[tuple[str, str], tuple[int, ValidEvent]] = {}
        repeats: list[tuple[int, ValidEvent]] = []
        for index, event in events:
            if first_of_key.setdefault(event.key, (index, event))[0] != index:
                repeats.append((index, event))
        recorded_at = datetime.now(timezone.utc)
        firsts = [event for _, event in first_of_key.values()]
        return Encoded(first_of_key, repeats, len(events), recorded_at, event_columns(firsts, recorded_at.isoformat()))

    def record_encoded(self, encoded: Encoded) -> RecordOutcome:
        """`record` of a batch encoded beforehand."""
        deadline = time.monotonic() + self.write_timeout
        if not self.health.up:
            raise StoreUnavailable("the event store is unavailable")
        attempts = Attempts(deadline)
        try:
            while (wait := attempts.next_wait()) is not None:
                try:
                    appended = self.indexing_recorder.append(encoded.columns, encoded.recorded_at, wait=wait,
                                                             budget=attempts.remaining())
                except (CommitUncertain, psycopg.OperationalError, psycopg.InterfaceError) as failure:
                    if attempts.failed(failure):
                        self.replace_connections()
                    continue
                except psycopg.Error as failure:  # not the connection: a bug, or a schema the store does not expect
                    log.exception("event store failure")
                    raise StoreUnavailable("the event store failed") from failure
                self.health.answered()
                ids = appended.notification_ids
                positions = {index: ids[key] for key, (index, _) in encoded.first_of_key.items() if key in ids}
                conflicts = self.conflicts_of(encoded.first_of_key, encoded.repeats, appended.stored)
                return RecordOutcome(accepted=len(positions), duplicates=encoded.size - len(positions) - len(conflicts),
                                     positions=positions, conflicts=tuple(sorted(conflicts, key=attrgetter("index"))))
            raise self.unavailable(attempts)
        finally:  # a failure's traceback holds this frame, which holds the failure in `attempts`: a cycle that
            attempts.release()  # would keep the batch's columns until the cyclic collector ran

    def conflicts_of(self, first_of_key: Mapping[tuple[str, str], tuple[int, ValidEvent]],
                     repeats: Sequence[tuple[int, ValidEvent]],
                     stored: Mapping[tuple[str, str], StoredEvent]) -> list[Conflict]:
        """The events whose key is stored, or earlier in the batch, with different content: each is
        compared with what stands, the stored event or else the first of its key in the batch."""
        standing: dict[tuple[str, str], Content] = {}
        for key, stored_event in stored.items():
            state = cast(RecordedEvent, self.mapper.to_domain_event(stored_event)).__dict__
            standing[key] = Content.stored(type_of_topic(stored_event.topic), state)
        found = []
        for index, event in [*first_of_key.values(), *repeats]:
            earlier = first_of_key[event.key][0]
            if event.key in standing:
                first, earlier_index = standing[event.key], None
            elif earlier != index:
                first, earlier_index = Content.of(first_of_key[event.key][1]), earlier
            else:
                continue
            if fields := differences(first, Content.of(event)):
                found.append(Conflict(index, event.source, event.id, fields, earlier_index))
        return found

    def unavailable(self, attempts: Attempts) -> StoreUnavailable:
        """What the last failure says to the client; a database that cannot be reached is marked down."""
        failure = attempts.last
        if failure is not None and (lost_connection(failure) or isinstance(failure, PoolTimeout) and attempts.lost):
            self.health.failed(failure if attempts.lost is None else attempts.lost)  # the database does not answer
        if isinstance(failure, QueryCanceled) or (isinstance(failure, PoolTimeout) and not attempts.lost):
            reason = f"the event store did not store this batch within {self.write_timeout:g}s"
        else:
            reason = "the event store is unavailable"
        log.debug("event store: %s (%s)", reason, failure)
        return StoreUnavailable(reason, stored=None if attempts.uncertain else False)

    def replace_connections(self) -> None:
        """A lost connection: a restart or a failover ends them all, and each retry could draw
        another dead one. Drain the pool: its idle connections are closed (no round trip, so a
        server that stopped answering cannot hold this thread) and new ones are opened in the
        pool's background workers; those in use are replaced when they come back."""
        try:
            self.indexing_recorder.datastore.pool.drain()
        except Exception:  # the next attempt reports the database's state
            log.debug("could not drain the event store's connections", exc_info=True)

    @property
    def indexing_recorder(self) -> IndexingRecorder:
        return cast(IndexingRecorder, self.recorder)



CONNECTION_LOST = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now


def lost_connection(failure: BaseException) -> bool:
    """Whether the failure is a lost connection (class 08, a server shutting down, none at all),
    not a lock timeout, a deadlock or a cancelled statement, which retry on the same connection."""
    if isinstance(failure, CommitUncertain | psycopg.InterfaceError):
        return True
    if isinstance(failure, PoolTimeout) or not isinstance(failure, psycopg.Error):
        return False
    sqlstate = failure.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in CONNECTION_LOST


class Attempts:
    """The tries of one append within its deadline, and what their failures say."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.count = 0
        self.last: BaseException | None = None
        self.lost: BaseException | None = None  # the last lost connection, if any
        self.uncertain = False  # a commit was sent and its answer lost, and no later try settled it

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def release(self) -> None:
        self.last = self.lost = None

    def next_wait(self) -> float | None:
        """How long the next try may wait for a connection, or None when no try is left."""
        remaining = self.remaining()
        if self.count >= MAX_ATTEMPTS or remaining <= 0 or isinstance(self.last, QueryCanceled | PoolTimeout):
            return None
        self.count += 1
        return remaining if self.count == 1 else min(remaining, RETRY_WAIT)

    def failed(self, failure: BaseException) -> bool:
        """Note a failure; True if the connection was lost (replace the pool's connections)."""
        self.last = failure
        self.uncertain = self.uncertain or isinstance(failure, CommitUncertain)
        if lost_connection(failure):
            self.lost = failure
            return True
        return False


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


def state_of(recorded_at_text: str, event: ValidEvent) -> bytes:
    """What the store library's mapper stores of `recorded(version, recorded_at_text, event)` with our JSON
    transcoder, without building the domain event: the event's attributes but the originator's id and version,
    in their order (tests/unit/test_fast_append.py checks it against the mapper, which the pinned library
    version keeps)."""
    return orjson.dumps({"timestamp": recorded_at_text, "id": event.id, "source": event.source,
                         "account_id": event.account_id, "contact_id": event.contact_id,
                         "occurred_at": event.occurred_at_text, "actor": event.actor, "data": event.data})


TOPICS = {name: get_topic(cls) for name, cls in RECORDED_EVENT_CLASSES.items()}


@dataclass(frozen=True)
class Encoded:
    """A batch made ready for the append before the append takes the store's lock (the bulk path encodes its
    next batch while one is stored): the first event of each key, as the columns of `recorder.APPEND`."""

    first_of_key: dict[tuple[str, str], tuple[int, ValidEvent]]
    repeats: list[tuple[int, ValidEvent]]  # later events of a key already in the batch
    size: int  # the events of the batch
    recorded_at: datetime
    columns: list[list[Any]]


def event_columns(events: Sequence[ValidEvent], recorded_at_text: str) -> list[list[Any]]:
    """The columns of `recorder.APPEND`: originator ids, topics, states (`state_of`), sources, ids,
    occurrences, accounts, and the account name each event sets, if it sets one."""
    return [
        [account_stream_id(event.account_id) for event in events],
        [TOPICS[event.type] for event in events],
        [state_of(recorded_at_text, event) for event in events],
        [event.source for event in events],
        [event.id for event in events],
        [event.occurred_at for event in events],
        [event.account_id for event in events],
        [name_set_by(event) for event in events],
    ]


def name_set_by(event: ValidEvent) -> str | None:
    """The account name the event sets: a `sales.account.updated` with a name."""
    if event.type == "sales.account.updated":
        name = event.data.get("name")
        return name if isinstance(name, str) else None
    return None


__all__ = ["Conflict", "Encoded", "EventStore", "IDEMPOTENCY_CONSTRAINT", "RecordOutcome", "StoreUnavailable", "store_env"]
