"""GraphQL types: thin presenters of read records, in the names of `api.md`."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Optional, cast

import strawberry
from strawberry.scalars import JSON

from service.api.cursors import position_of
from service.read.accounts import EventRecord


@strawberry.enum(description="The five departments that treat a customer.")
class Department(Enum):
    MARKETING = "marketing"
    SALES = "sales"
    PRODUCT = "product"
    SUPPORT = "support"
    BILLING = "billing"


@strawberry.input(description="One event as a producer sends it; see the event catalogue, docs/events.md.")
class EventInput:
    id: strawberry.ID = strawberry.field(description="The producer's id; (source, id) is the idempotency key.")
    source: str = strawberry.field(description="The producing system, e.g. zendesk; 1 to 100 characters.")
    type: str = strawberry.field(description='A catalogue type, e.g. "support.ticket.opened".')
    account_id: strawberry.ID = strawberry.field(description="The customer account, in the tenant's id space.")
    occurred_at: datetime = strawberry.field(description="When it happened in the source system.")
    data: JSON = strawberry.field(description="The type's payload; unknown extra keys are kept.")
    contact_id: Optional[strawberry.ID] = strawberry.field(default=None, description="The person at the account.")
    actor: Optional[str] = strawberry.field(default=None, description="Who on our side acted.")


@strawberry.type(description="Why one event of a batch was not stored.")
class EventRejection:
    index: int = strawberry.field(description="Position of the event in the batch, from 0.")
    event_id: Optional[strawberry.ID] = strawberry.field(description="The event's id, where it had one.")
    field: str = strawberry.field(description='Path of the faulty field, e.g. "data.score", "accountId".')
    message: str = strawberry.field(description="The reason, in words a producer can act on.")


@strawberry.type(description="An event sent again under a stored (source, id) with different content: not stored.")
class EventConflict:
    index: int = strawberry.field(description="Position of the event in the batch, from 0.")
    event_id: strawberry.ID = strawberry.field(description="The event's id.")
    source: str = strawberry.field(description="The event's source.")
    fields: list[str] = strawberry.field(description='What differs from the stored event (or from the same key earlier in the batch), e.g. "occurredAt", "data.amount".')
    message: str = strawberry.field(description="The reason, naming the event.")


@strawberry.type(description="What became of a batch: new events, duplicates, conflicts and rejections.")
class RecordEventsPayload:
    accepted: int = strawberry.field(description="Newly stored.")
    duplicates: int = strawberry.field(description="Already stored before (same source and id, same content), or twice in the batch.")
    rejected: list[EventRejection] = strawberry.field(description="One entry per fault; an event may have several.")
    conflicts: int = strawberry.field(default=0, description="Sent again under a stored (source, id), or one earlier in the batch, with different content: not stored (the first stands). Not counted in `duplicates`.")
    conflicted: list[EventConflict] = strawberry.field(default_factory=list, description="One entry per conflict, naming the event and what differs.")


@strawberry.type(description="An event as stored, with its place in the global log.")
class Event:
    id: strawberry.ID = strawberry.field(description="The producer's id.")
    source: str = strawberry.field(description="The producing system, e.g. zendesk.")
    type: str = strawberry.field(description="The catalogue type, e.g. support.ticket.opened.")
    department: Department = strawberry.field(description="The first segment of the type.")
    account_id: strawberry.ID = strawberry.field(description="The customer account, in the tenant's own id space.")
    contact_id: Optional[strawberry.ID] = strawberry.field(description="The person at the account, where the event concerns one.")
    occurred_at: datetime = strawberry.field(description="When it happened in the source system.")
    recorded_at: datetime = strawberry.field(description="When cx360 took its batch in: validated it, just before storing it.")
    position: str = strawberry.field(description="Opaque, totally ordered cursor in the global log.")
    actor: Optional[str] = strawberry.field(description="Who on our side acted (an employee or an automation).")
    data: JSON = strawberry.field(description="The type's payload, as sent (amounts as decimal strings).")

    @staticmethod
    def from_record(record: EventRecord) -> Event:
        return Event(
            id=strawberry.ID(record.id),
            source=record.source,
            type=record.type,
            department=Department(record.department),
            account_id=strawberry.ID(record.account_id),
            contact_id=strawberry.ID(record.contact_id) if record.contact_id is not None else None,
            occurred_at=record.occurred_at,
            recorded_at=record.recorded_at,
            position=position_of(record.notification_id),
            actor=record.actor,
            data=cast(JSON, record.data),
        )


@strawberry.type(description="Where a page stands in its list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether this page was asked for after a cursor.")
    start_cursor: Optional[str] = strawberry.field(description="The cursor of the first item of the page.")
    end_cursor: Optional[str] = strawberry.field(description="The cursor of the last item: pass it as `after` for the next page.")


@strawberry.type(description="An event in a timeline, with its cursor.")
class EventEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this event.")
    node: Event = strawberry.field(description="The event.")


@strawberry.type(description="A page of events.")
class EventConnection:
    edges: list[EventEdge] = strawberry.field(description="The events of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the list.")


def page_info(cursors: list[str], has_next: bool, has_previous: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
