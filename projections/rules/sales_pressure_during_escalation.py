"""`sales-pressure-during-escalation`: sales pushes while a serious ticket is open (HIGH, sales and support).

A ticket is serious from its opening when its priority is high or urgent, or from its
first escalation at any priority. It is open from `opened` (or `reopened`) until
`resolved`. Events of one ticket at the same instant take effect in the order that
lets each of them: a ticket opened and resolved at one instant was open for no time
(a push then or later does not fire), and one resolved and reopened at one instant is
open again. Key: the ticket; a push in a later reopening joins the same finding, which
is open again until the ticket is resolved again. Evidence: the ticket's opening, each
of its escalations and reopenings, and every push while it was open and serious.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter

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

    @property
    def is_open(self) -> bool:
        return bool(self.stretches) and self.stretches[-1][1] is None


LIFECYCLE = ("support.ticket.opened", "support.ticket.reopened", "support.ticket.escalated", "support.ticket.resolved")


def kind_of(fact: Fact) -> str:
    return fact.type.rsplit(".", 1)[1]


def tickets_of(timeline: Timeline, thresholds: Thresholds) -> dict[str, Ticket]:
    tickets: dict[str, Ticket] = {}
    for _, simultaneous in groupby(timeline.of(*LIFECYCLE), key=attrgetter("occurred_at")):
        by_ticket: dict[str, list[Fact]] = {}
        for fact in simultaneous:
            by_ticket.setdefault(str(fact.data["ticketId"]), []).append(fact)
        for ticket_id, facts in by_ticket.items():
            ticket = tickets.setdefault(ticket_id, Ticket(ticket_id))
            for fact in in_effect_order(facts, ticket.is_open):
                take(ticket, fact, thresholds)
    return tickets


def in_effect_order(facts: list[Fact], is_open: bool) -> list[Fact]:
    """One ticket's events of one instant, in an order in which each can take effect.

    Simultaneous events have no order of their own (ties break by content), but only a
    resolution changes an open ticket and only an opening a closed one: taken
    alternately from the ticket's state, a ticket opened and resolved at one instant
    ends closed, whichever way the tie broke.
    """
    ordered = [fact for fact in facts if kind_of(fact) == "escalated"]
    resolutions = [fact for fact in facts if kind_of(fact) == "resolved"]
    openings = [fact for fact in facts if kind_of(fact) in ("opened", "reopened")]
    while turn := (resolutions if is_open else openings):
        ordered.append(turn.pop(0))
        is_open = not is_open
    return [*ordered, *openings, *resolutions]


def take(ticket: Ticket, fact: Fact, thresholds: Thresholds) -> None:
    """One event of the ticket: a resolution ends its open stretch, an opening starts one."""
    kind = kind_of(fact)
    if kind == "resolved":
        if ticket.is_open:
            ticket.stretches[-1] = (ticket.stretches[-1][0], fact.occurred_at)
        return
    ticket.events.append(fact)
    if kind == "opened":
        ticket.priority = fact.text("priority")
    if kind in ("opened", "reopened") and not ticket.is_open:
        ticket.stretches.append((fact.occurred_at, None))
    is_serious = kind == "escalated" or ticket.priority in thresholds.serious_priorities
    if is_serious and ticket.serious_since is None:
        ticket.serious_since = fact.occurred_at


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
