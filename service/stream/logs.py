"""The logs a feed follows (the events, the finding changes) and what a subscriber selects of them.

Both logs are read by position, in order: the events by the store's notification id
(gap-free and given in commit order, under the store's table lock), the finding changes
by a sequence taken under the views' write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
import orjson

from domain.stream import account_stream_id
from service.projection.finding_changes import CHANGES_TABLE
from service.read.accounts import EventRecord, topics_of
from service.store.tables import EVENTS_TABLE, HANDLING_TABLE

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
# Each change with its finding's assignee now (null: nobody assigned it, its first department's owner has it)
CHANGES = f"""
SELECT c.position, c.change, c.finding, c.account_id, h.assignee FROM {CHANGES_TABLE} c
LEFT JOIN {HANDLING_TABLE} h ON h.finding_id = c.finding_id
WHERE c.position > $1 AND c.position <= $2 AND ($3::text IS NULL OR c.account_id = $3)
  AND ($4::text IS NULL OR c.finding->>'rule' = $4)
  AND ($5::text IS NULL OR c.finding->>'severity' = $5)
  AND ($6::text IS NULL OR c.finding->'departments' ? $6)
  AND ($7::text IS NULL OR coalesce(h.assignee, (SELECT owner FROM unnest($8::text[], $9::text[]) AS o (department, owner)
                                                 WHERE department = c.finding->'departments'->>0)) = $7)
ORDER BY c.position
LIMIT $10
"""
ALL_CHANGES = f"""
SELECT c.position, c.change, c.finding, c.account_id, h.assignee FROM {CHANGES_TABLE} c
LEFT JOIN {HANDLING_TABLE} h ON h.finding_id = c.finding_id
WHERE c.position > $1 ORDER BY c.position LIMIT $2
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


@dataclass(frozen=True)
class ChangeFilter:
    """Which findings' changes a `findingChanged` subscriber wants (None: any)."""

    rule: str | None = None
    severity: str | None = None
    department: str | None = None
    assignee: str | None = None  # the finding's assignee, or its first department's owner (`owners`)

    def wants(self, row: asyncpg.Record, owners: Mapping[str, str]) -> bool:
        finding = orjson.loads(row["finding"])
        departments = finding["departments"]
        assignee = row["assignee"] if row["assignee"] is not None else owners.get(departments[0] if departments else "")
        return ((self.rule is None or finding["rule"] == self.rule)
                and (self.severity is None or finding["severity"] == self.severity)
                and (self.department is None or self.department in departments)
                and (self.assignee is None or assignee == self.assignee))


EVERY_CHANGE = ChangeFilter()


def change_selection(account: str | None, chosen: ChangeFilter = EVERY_CHANGE,
                     owners: Mapping[str, str] | None = None) -> Selection[asyncpg.Record]:
    owned = dict(owners or {})
    parameters = (account, chosen.rule, chosen.severity, chosen.department, chosen.assignee, list(owned),
                  list(owned.values()))
    if chosen == EVERY_CHANGE:
        return Selection(parameters, lambda row: True, account)
    return Selection(parameters, lambda row: chosen.wants(row, owned), account)
