"""`sales-pressure-during-escalation`: sales pushes while a serious ticket is open (HIGH, sales and support).

A ticket is serious from its opening when its priority is high or urgent, or from its
first escalation at any priority. It is open from `opened` (or `reopened`) until
`resolved`. Key: the ticket; a push in a later reopening joins the same finding, which
is open again until the ticket is resolved again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from projections.facts import Fact
from projections.findings import Finding, Moment, article, day, finding
from projections.history import Timeline
from projections.rules.rule import Rule

ID = "sales-pressure-during-escalation"


@dataclass(frozen=True)
class Thresholds:
    serious_priorities: tuple[str, ...] = ("high", "urgent")
    push_intents: tuple[str, ...] = ("prospecting", "upsell", "renewal")
    push_opportunity_kinds: tuple[str, ...] = ("expansion", "renewal")


@dataclass
class Ticket:
    id: str
    priority: str | None = None
    events: list[Fact] = field(default_factory=list)
    serious_since: datetime | None = None
    # (opened, resolved or None) for every stretch the ticket was open
    stretches: list[tuple[datetime, datetime | None]] = field(default_factory=list)


def tickets_of(timeline: Timeline, thresholds: Thresholds) -> dict[str, Ticket]:
    tickets: dict[str, Ticket] = {}
    for fact in timeline.of("support.ticket.opened", "support.ticket.reopened", "support.ticket.escalated",
                            "support.ticket.resolved"):
        ticket = tickets.setdefault(str(fact.data["ticketId"]), Ticket(str(fact.data["ticketId"])))
        kind = fact.type.rsplit(".", 1)[1]
        if kind == "resolved":
            if ticket.stretches and ticket.stretches[-1][1] is None:
                ticket.stretches[-1] = (ticket.stretches[-1][0], fact.occurred_at)
            continue
        ticket.events.append(fact)
        if kind == "opened":
            ticket.priority = fact.text("priority")
        if kind in ("opened", "reopened") and not (ticket.stretches and ticket.stretches[-1][1] is None):
            ticket.stretches.append((fact.occurred_at, None))
        is_serious = kind == "escalated" or ticket.priority in thresholds.serious_priorities
        if is_serious and ticket.serious_since is None:
            ticket.serious_since = fact.occurred_at
    return tickets


def is_push(fact: Fact, thresholds: Thresholds) -> bool:
    if fact.type == "sales.outreach.sent":
        return fact.data.get("intent") in thresholds.push_intents
    return fact.data.get("kind") in thresholds.push_opportunity_kinds


def push_words(fact: Fact) -> str:
    if fact.type == "sales.outreach.sent":
        return f"{article(fact.data['intent'])} {fact.data['intent']} outreach"
    kind = fact.data["kind"]
    return f"{article(kind)} {kind} opportunity of {fact.data['amount']} {fact.data['currency']}"


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    pushes = [fact for fact in timeline.of("sales.outreach.sent", "sales.opportunity.opened") if is_push(fact, thresholds)]
    for ticket in tickets_of(timeline, thresholds).values():
        if ticket.serious_since is None:
            continue
        during: list[Fact] = []
        resolved_at: datetime | None = None
        for opened, resolved in ticket.stretches:
            start = max(opened, ticket.serious_since)
            inside = [push for push in pushes if start <= push.occurred_at and (resolved is None or push.occurred_at < resolved)]
            if inside:
                during.extend(inside)
                resolved_at = resolved
        if during:
            yield finding_of(timeline.account_id, ticket, during, moment.resolved_at(resolved_at))


def finding_of(account_id: str, ticket: Ticket, pushes: list[Fact], resolved_at: datetime | None) -> Finding:
    first = pushes[0]
    seriousness = f"{ticket.priority} ticket" if ticket.priority in ("high", "urgent") else "escalated ticket"
    summary = (
        f"Sales sent {push_words(first)} on {day(first.occurred_at)} while {seriousness} {ticket.id} "
        f"was open (since {day(ticket.stretches[0][0])})"
    )
    if len(pushes) > 1:
        summary += f"; {len(pushes) - 1} more sales push{'es' if len(pushes) > 2 else ''} followed while it was open"
    return finding(
        account_id,
        ID,
        ticket.id,
        severity="HIGH",
        departments=("sales", "support"),
        evidence=[*ticket.events, *pushes],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


RULE = Rule(ID, Thresholds(), detect)
