"""An account's stream in the event store: one recorded event per catalogue event.

Every department's events about one account meet in one stream whose id is derived
from the tenant's account id, so no lookup is needed to find it. Each catalogue type
is stored under its own explicit, versioned topic (`cx360/<type>/v1`), independent of
module paths, so the store's log can be filtered by type (and so by department).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.utils import register_topic

from domain.catalogue import CATALOGUE
from domain.validation import ValidEvent

ACCOUNT_NAMESPACE = UUID("6c1f7c0e-3b0a-5d6e-9a51-0c3a6a1d3600")
TOPIC_PREFIX = "cx360/"
TOPIC_VERSION = "/v1"


@lru_cache(maxsize=65_536)
def account_stream_id(account_id: str) -> UUID:
    """The stream (aggregate) id of a tenant's account: stable, derived, never looked up."""
    return uuid5(ACCOUNT_NAMESPACE, account_id)


def topic_of(event_type: str) -> str:
    return f"{TOPIC_PREFIX}{event_type}{TOPIC_VERSION}"


def type_of_topic(topic: str) -> str:
    return topic[len(TOPIC_PREFIX) : -len(TOPIC_VERSION)]


class RecordedEvent:
    """A catalogue event as stored: the producer's envelope and data, and when we recorded it.

    It satisfies the store library's domain event protocol (`originator_id`,
    `originator_version`, `timestamp`); its state is plain JSON values only.
    """

    TOPIC: ClassVar[str]
    type: ClassVar[str]

    originator_id: UUID
    originator_version: int
    timestamp: str
    id: str
    source: str
    account_id: str
    contact_id: str | None
    occurred_at: str
    actor: str | None
    data: dict[str, Any]

    def __init__(self, originator_version: int, recorded_at: str, event: ValidEvent) -> None:
        self.__dict__.update(
            originator_id=account_stream_id(event.account_id),
            originator_version=originator_version,
            timestamp=recorded_at,
            id=event.id,
            source=event.source,
            account_id=event.account_id,
            contact_id=event.contact_id,
            occurred_at=event.occurred_at_text,
            actor=event.actor,
            data=event.data,
        )

    @property
    def department(self) -> str:
        return self.type.split(".", 1)[0]


def _recorded_event_class(event_type: str) -> type[RecordedEvent]:
    topic = topic_of(event_type)
    name = "".join(part.title() for part in event_type.replace("_", ".").split("."))
    cls = type(name, (RecordedEvent,), {"TOPIC": topic, "type": event_type, "__module__": __name__})
    register_topic(topic, cls)
    return cls


RECORDED_EVENT_CLASSES: dict[str, type[RecordedEvent]] = {
    name: _recorded_event_class(name) for name in CATALOGUE
}


def recorded(originator_version: int, recorded_at: datetime | str, event: ValidEvent) -> RecordedEvent:
    """The stored form of a valid event at the given place in its account's stream."""
    timestamp = recorded_at if isinstance(recorded_at, str) else recorded_at.isoformat()
    return RECORDED_EVENT_CLASSES[event.type](originator_version, timestamp, event)
