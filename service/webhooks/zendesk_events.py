"""Zendesk's webhook events (the event-subscribed format, `zen:event-type:…`) as catalogue support events.

The envelope's `id` is Zendesk's event id, so a retried delivery is a duplicate;
`occurredAt` is its `time`; the account is the one the ticket's organisation
(`detail.organization_id`) is mapped to, and `contactId` is the requester. CSAT comes
from a trigger whose JSON body is ours (`cx360.csat`, docs/webhooks.md): Zendesk's event
webhooks carry no satisfaction rating.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.webhooks import SOURCES
from service.webhooks.drafts import Draft, Ignored, Outcome, PayloadError, Unusable, text_of

SOURCE = SOURCES["zendesk"]
CREATED, STATUS, PRIORITY = ("zen:event-type:ticket.created", "zen:event-type:ticket.status_changed",
                             "zen:event-type:ticket.priority_changed")
CSAT = "cx360.csat"
PRIORITIES = ("low", "normal", "high", "urgent")
DONE = ("solved", "closed")
WORDS = {"good": 5, "bad": 1}  # Zendesk's two-point rating on the catalogue's 1–5 scale


def events_of(event: Any) -> list[Outcome]:
    if not isinstance(event, Mapping):
        raise PayloadError("body: not a Zendesk webhook event (a JSON object)")
    key, kind, time = text_of(event.get("id")), event.get("type"), event.get("time")
    if key is None or not isinstance(kind, str) or not isinstance(time, str):
        raise PayloadError("body: a Zendesk webhook event has an id, a type and a time")
    if kind not in (CREATED, STATUS, PRIORITY, CSAT):
        return [Ignored(kind)]
    detail = event.get("detail")
    if not isinstance(detail, Mapping) or text_of(detail.get("id")) is None:
        return [Unusable(key, None, f"{kind}: detail.id (the ticket) is missing", event)]
    organisation = text_of(detail.get("organization_id"))
    if organisation is None or organisation == "0":
        return [Unusable(key, None, f"{kind}: the ticket has no organisation (detail.organization_id): "
                                    "no account can be found", event)]
    found = mapped(kind, detail, event.get("event"))
    if isinstance(found, str):
        return [Unusable(key, organisation, f"{kind}: {found}", event)]
    if found is None:
        return [Ignored(f"{kind} (no change the catalogue records)")]
    envelope: dict[str, Any] = {"id": key, "source": SOURCE, "type": found[0], "occurredAt": time, "data": found[1]}
    requester = text_of(detail.get("requester_id"))
    if requester is not None and requester != "0":
        envelope["contactId"] = requester
    return [Draft(organisation, envelope, event)]


def mapped(kind: str, detail: Mapping[str, Any], change: Any) -> tuple[str, dict[str, Any]] | str | None:
    """The catalogue type and data; a string says what is lacking; None: nothing to record."""
    ticket = str(text_of(detail.get("id")))
    if kind == CREATED:
        priority = str(detail.get("priority") or "normal").lower()  # a ticket nobody prioritised is normal
        data: dict[str, Any] = {"ticketId": ticket, "priority": priority}
        data |= {name: str(detail[field]).lower() if name == "category" else detail[field]
                 for name, field in (("subject", "subject"), ("category", "type")) if detail.get(field)}
        return "support.ticket.opened", data
    if kind == CSAT:
        return csat(ticket, detail)
    current, previous = values(change)
    if kind == STATUS and current in DONE and previous not in DONE:
        return ("support.ticket.resolved", {"ticketId": ticket}) if current == "solved" else None
    if kind == STATUS and previous in DONE and current not in DONE:
        return "support.ticket.reopened", {"ticketId": ticket}
    if kind == PRIORITY and current in PRIORITIES and rank(current) > rank(previous):
        return "support.ticket.escalated", {"ticketId": ticket, "level": current}
    return None


def values(change: Any) -> tuple[str | None, str | None]:
    if not isinstance(change, Mapping):
        return None, None
    current, previous = change.get("current"), change.get("previous")
    return (current.lower() if isinstance(current, str) else None, previous.lower() if isinstance(previous, str) else None)


def rank(priority: str | None) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else PRIORITIES.index("normal")


def csat(ticket: str, detail: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | str:
    score = detail.get("score")
    if isinstance(score, str):
        score = WORDS.get(score.strip().lower(), int(score) if score.strip().isdigit() else None)
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        return f"detail.score must be 1 to 5, good or bad (got {detail.get('score')!r:.40})"
    return "support.csat.recorded", {"score": score, "ticketId": ticket}
