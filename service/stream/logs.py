"""The logs a feed follows (the events, the finding changes) and what a subscriber selects of them.

Both logs are read by position, in order: the events by the store's notification id
(gap-free and given in commit order, under the store's table lock), the finding changes
by a sequence taken under the views' write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from domain.stream import account_stream_id
from service.projection.finding_changes import CHANGES_TABLE
from service.read.accounts import EventRecord, topics_of
from service.store.tables import EVENTS_TABLE

Item = TypeVar("Item")

HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"

STREAM = f"""
SELECT topic, occurred_at, originator_version, notification_id, state FROM {EVENTS_TABLE}
WHERE notification_id > $1 AND notification_id <= $2
  AND ($3::text[] IS NULL OR topic = ANY($3::text[]))
  AND ($4::uuid IS NULL OR originator_id = $4)
ORDER BY notification_id
LIMIT $5
"""
CHANGES_HEAD = f"SELECT coalesce(max(position), 0) FROM {CHANGES_TABLE}"

ALL_EVENTS = f"""
SELECT topic, occurred_at, originator_version, notification_id, state FROM {EVENTS_TABLE}
WHERE notification_id > $1 ORDER BY notification_id LIMIT $2
"""
CHANGES = f"""
SELECT position, change, finding, account_id FROM {CHANGES_TABLE}
WHERE position > $1 AND position <= $2 AND ($3::text IS NULL OR account_id = $3)
ORDER BY position
LIMIT $4
"""
ALL_CHANGES = f"""
SELECT position, change, finding, account_id FROM {CHANGES_TABLE}
WHERE position > $1 ORDER BY position LIMIT $2
"""


@dataclass(frozen=True)
class Log(Generic[Item]):
    """A log a feed follows: how to find its head, read it, and decode a row."""

    head: str  # the last position
    after: str  # every row after $1, at most $2
    matching: str  # rows after $1 up to $2 that match the filter parameters, at most the last parameter
    position: str  # the position column
    decode: Callable[[asyncpg.Record], Item]
    account_of: Callable[[Item], str]
    name: str = "log"  # in metrics' labels


def record_account(record: EventRecord) -> str:
    return record.account_id


def row_account(row: asyncpg.Record) -> str:
    return str(row["account_id"])


def row_itself(row: asyncpg.Record) -> asyncpg.Record:
    return row


EVENT_LOG: Log[EventRecord] = Log(HEAD, ALL_EVENTS, STREAM, "notification_id", EventRecord.from_row, record_account,
                                  "events")
CHANGE_LOG: Log[asyncpg.Record] = Log(CHANGES_HEAD, ALL_CHANGES, CHANGES, "position", row_itself, row_account,
                                      "finding_changes")


@dataclass(frozen=True)
class Selection(Generic[Item]):
    """Which rows a subscriber wants: as SQL parameters for its replay, and as a test of live rows."""

    parameters: tuple[object, ...]
    wants: Callable[[Item], bool]
    account: str | None = None  # when it follows one account (lets the feed look it up)


def event_selection(departments: Sequence[str] | None, account: str | None) -> Selection[EventRecord]:
    chosen = frozenset(departments) if departments is not None else None
    topics = topics_of(sorted(chosen)) if chosen is not None else None
    stream = account_stream_id(account) if account is not None else None
    if chosen is None:
        return Selection((topics, stream), lambda record: True, account)
    return Selection((topics, stream), lambda record: record.department in chosen, account)


def change_selection(account: str | None) -> Selection[asyncpg.Record]:
    return Selection((account,), lambda row: True, account)
