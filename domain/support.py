"""Support's events: tickets, CSAT and contacts made."""

from domain.event_type import EventType, catalogue_of
from domain.fields import Choice, Id, Integer, Text

TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
CONTACT_CHANNELS = ("email", "call", "meeting", "chat")

TYPES = catalogue_of(
    EventType(
        "support.ticket.opened",
        {
            "ticketId": Id(required=True),
            "priority": Choice(required=True, options=TICKET_PRIORITIES),
            "category": Text(),
            "subject": Text(),
        },
    ),
    EventType("support.ticket.escalated", {"ticketId": Id(required=True), "level": Text()}),
    EventType("support.ticket.resolved", {"ticketId": Id(required=True)}),
    EventType("support.ticket.reopened", {"ticketId": Id(required=True)}),
    EventType("support.csat.recorded", {"score": Integer(required=True, minimum=1, maximum=5), "ticketId": Id()}),
    EventType(
        "support.contact.made",
        {"channel": Choice(required=True, options=CONTACT_CHANNELS), "reason": Text()},
    ),
)
