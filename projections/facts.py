"""Stored events as the projections see them: immutable facts, ordered by when they happened."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from domain.catalogue import CATALOGUE
from domain.fields import parse_rfc3339
from domain.stream import topic_of, type_of_topic

TYPES_OF_TOPICS = {topic_of(name): name for name in CATALOGUE}


class Fact(NamedTuple):
    """One stored event: its place in the global log, its type and the producer's content.

    A named tuple: immutable, and built several times faster than a frozen dataclass,
    which matters when a rebuild reads every event of the store.
    """

    position: int
    type: str
    occurred_at: datetime
    source: str
    event_id: str
    contact_id: str | None
    data: Mapping[str, Any]
    actor: str | None = None  # who on our side acted (attribution credits them); the rules do not read it

    @property
    def department(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def order(self) -> tuple[datetime, str, str]:
        """Sort key by `occurredAt`, ties broken by content, never by arrival.

        Arrival order (the position) would make findings depend on which of two
        simultaneous events came first, breaking order independence.
        """
        return (self.occurred_at, self.source, self.event_id)

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        return None if value is None else str(value)

    def amount(self, name: str = "amount") -> Decimal:
        return Decimal(str(self.data[name]))

    def instant(self, name: str) -> datetime:
        """A date-time field of `data`; a plain date means the end of that day (UTC)."""
        return instant_of(str(self.data[name]))


ORDER = itemgetter(2, 3, 4)
"""`Fact.order` as a sort key built in C, (occurredAt, source, id): several times cheaper than the property
where facts are sorted by the hundred (a finding's evidence at every read)."""


def within(fact: Fact, as_of: datetime, days: int) -> bool:
    """Whether the fact happened within the last `days` days: in (as_of - days, as_of]."""
    return as_of - timedelta(days=days) < fact.occurred_at <= as_of


def drop_through(instants: list[datetime], horizon: datetime) -> None:
    """Drop the instants (in order) at or before `horizon`: those out of a window from now on. Most folded facts
    drop nothing, which costs one comparison."""
    if instants and instants[0] <= horizon:
        del instants[:bisect_right(instants, horizon)]


def drop_facts_through(facts: list[Fact], horizon: datetime) -> None:
    """`drop_through` for facts in order, by their `occurredAt`."""
    if facts and facts[0].occurred_at <= horizon:
        del facts[:bisect_right(facts, horizon, key=lambda each: each.occurred_at)]


def instant_of(value: str) -> datetime:
    """An RFC 3339 date-time, or a plain date taken as the end of that day (UTC)."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        return datetime.combine(day + timedelta(days=1), time(), timezone.utc)
    return parse_rfc3339(value)


def fact_from_stored(
    position: int, topic: str, state: bytes, occurred_at: datetime | None = None
) -> tuple[Fact, str]:
    """A fact and its account id from a row of the events table (the store's JSON state).

    `occurred_at` may come from the table's column, already parsed by the driver, in the
    session's time zone: it is taken in UTC, as every instant the folds compute with (a
    deadline 7 days after an instant in a zone with daylight saving would be an hour off
    across its change, and the same event read through another driver would not be).
    """
    stored = orjson.loads(state)
    if occurred_at is None:
        occurred_at = datetime.fromisoformat(stored["occurred_at"])
    if occurred_at.tzinfo is not timezone.utc:
        occurred_at = occurred_at.astimezone(timezone.utc)
    return Fact(
        position=position,
        type=TYPES_OF_TOPICS.get(topic) or type_of_topic(topic),
        occurred_at=occurred_at,
        source=stored["source"],
        event_id=stored["id"],
        contact_id=stored["contact_id"],
        data=stored["data"],
        actor=stored.get("actor"),
    ), stored["account_id"]
