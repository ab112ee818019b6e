"""`sales-pressure-during-escalation`: sales pushes while a serious ticket is open (HIGH, sales and support).

A ticket is serious from its opening when its priority is high or urgent, or from its
first escalation at any priority. It is open from `opened` (or `reopened`) until
`resolved`. Events of one ticket at the same instant take effect in the order that
lets each of them: a ticket opened and resolved at one instant was open for no time
(a push then or later does not fire), and one resolved and reopened at one instant is
open again. Key: the ticket; a push in a later reopening joins the same finding, which
is open again until the ticket is resolved again. Evidence: the ticket's opening, each
of its escalations and reopenings, and every push while it was open and serious.

As a fold (`Escalations`), each ticket keeps its lifecycle events and the spans of the
account's pushes that joined it; a push that joined a ticket is kept once, however many
tickets it joined, and one that joined none is not kept. The events of the current
instant wait until a later one comes, as they take effect together. No finding is ever
final: rules.md keys the finding by the ticket and lets any later event of it change it
(an escalation or reopening joins the evidence, a push in a reopening opens it again),
with no end in time, so every ticket stays, with all its evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby
from operator import attrgetter

from projections.facts import Fact
from projections.findings import Finding, Moment, article, day, finding
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

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
            yield finding_of(timeline.account_id, ticket.id, ticket.priority, ticket.stretches[0][0], ticket.events,
                             during, moment.resolved_at(resolved_at))


def finding_of(account_id: str, ticket_id: str, priority: str | None, first_opened: datetime, events: list[Fact],
               pushes: list[Fact], resolved_at: datetime | None) -> Finding:
    first = pushes[0]
    seriousness = f"{priority} ticket" if priority in ("high", "urgent") else "escalated ticket"
    summary = (
        f"Sales sent {push_words(first)} on {day(first.occurred_at)} while {seriousness} {ticket_id} "
        f"was open (since {day(first_opened)})"
    )
    if len(pushes) > 1:
        summary += f"; {len(pushes) - 1} more sales push{'es' if len(pushes) > 2 else ''} followed while it was open"
    return finding(
        account_id,
        ID,
        ticket_id,
        severity="HIGH",
        departments=("sales", "support"),
        evidence=[*events, *pushes],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


@state(version=2)
@dataclass(slots=True)
class Watched:
    """One ticket as the fold keeps it: what a later push, reopening or read needs of it."""

    id: str
    priority: str | None = None
    serious: bool = False  # from a serious opening or an escalation on, for good
    first_opened: datetime | None = None  # the start of its first open stretch
    is_open: bool = False
    events: list[Fact] = field(default_factory=list)  # openings, escalations and reopenings (evidence)
    joined: list[tuple[int, int]] = field(default_factory=list)  # [first, stop) spans of the account's `pushes`
    pushed_now: bool = False  # a push joined in the current open stretch
    resolved_at: datetime | None = None  # the end of the last stretch a push joined

    def copy(self) -> Watched:
        return replace(self, events=list(self.events), joined=list(self.joined))

    def join(self, stop: int) -> None:
        """The push just kept (at `stop` - 1 in the account's pushes) joins: it extends the ticket's latest span."""
        if self.joined and self.joined[-1][1] == stop - 1:
            self.joined[-1] = (self.joined[-1][0], stop)
        else:
            self.joined.append((stop - 1, stop))


@state(version=2)
@dataclass(slots=True)
class Escalations:
    """The account's tickets, open ones apart, and the facts of the current instant.

    A push joins only the tickets open and serious at its instant, so `open` (the tickets
    open now) is all a push looks at; `resolved` keeps every other ticket compactly, as
    its finding if it has one and what a reopening would need (its priority, whether it
    is serious, when it first opened, its evidence): rules.md lets a ticket be reopened at
    any time, so a resolved ticket is never forgotten. `pushes` holds each push that joined
    a ticket once, in order: a ticket open and serious takes every push until it is
    resolved, so its pushes are a span of them per stretch. Pushes that joined no ticket
    are not kept. `pending` holds the ticket events and pushes of the latest instant: they take
    effect together (`in_effect_order`) once a later instant comes, or when read.
    """

    account_id: str
    open: dict[str, Watched] = field(default_factory=dict)
    resolved: dict[str, Watched] = field(default_factory=dict)  # and those never opened, only escalated
    pushes: list[Fact] = field(default_factory=list)  # the pushes that joined a ticket, each once
    pending: list[Fact] = field(default_factory=list)  # lifecycle events and pushes at the last instant


def start(account_id: str, thresholds: Thresholds) -> Escalations:
    return Escalations(account_id)


def step(escalations: Escalations, fact: Fact, thresholds: Thresholds) -> Escalations:
    """Facts of one instant wait together; a later instant lets them take effect."""
    if escalations.pending and escalations.pending[0].occurred_at != fact.occurred_at:
        settle(escalations, thresholds, copying=False)
    if fact.type in LIFECYCLE or is_push(fact, thresholds):
        escalations.pending.append(fact)
    return escalations


def settle(escalations: Escalations, thresholds: Thresholds, copying: bool) -> None:
    """The pending instant takes effect: each ticket's events in effect order, then the pushes.

    `copying` leaves the tickets it changes untouched (it changes copies), for a read.
    """
    by_ticket: dict[str, list[Fact]] = {}
    for fact in escalations.pending:
        if fact.type in LIFECYCLE:
            by_ticket.setdefault(str(fact.data["ticketId"]), []).append(fact)
    for ticket_id, facts in by_ticket.items():
        ticket = escalations.open.pop(ticket_id, None) or escalations.resolved.pop(ticket_id, None) or Watched(ticket_id)
        ticket = ticket.copy() if copying else ticket
        for fact in in_effect_order(facts, ticket.is_open):
            advance(ticket, fact, thresholds)
        (escalations.open if ticket.is_open else escalations.resolved)[ticket_id] = ticket
    copied = set(by_ticket)
    serious = [ticket_id for ticket_id, ticket in escalations.open.items() if ticket.serious]
    for push in (fact for fact in escalations.pending if fact.type not in LIFECYCLE and serious):
        escalations.pushes.append(push)
        for ticket_id in serious:
            ticket = escalations.open[ticket_id]
            if copying and ticket_id not in copied:
                ticket = escalations.open[ticket_id] = ticket.copy()
                copied.add(ticket_id)
            ticket.join(len(escalations.pushes))
            ticket.pushed_now, ticket.resolved_at = True, None
    escalations.pending = []


def advance(ticket: Watched, fact: Fact, thresholds: Thresholds) -> None:
    """One event of the ticket, as `take` does: a resolution ends its open stretch, an opening starts one."""
    kind = kind_of(fact)
    if kind == "resolved":
        if ticket.pushed_now:  # only while open
            ticket.resolved_at, ticket.pushed_now = fact.occurred_at, False
        ticket.is_open = False
        return
    ticket.events.append(fact)
    if kind == "opened":
        ticket.priority = fact.text("priority")
    if kind in ("opened", "reopened") and not ticket.is_open:
        ticket.is_open = True
        if ticket.first_opened is None:
            ticket.first_opened = fact.occurred_at
    ticket.serious = ticket.serious or kind == "escalated" or ticket.priority in thresholds.serious_priorities


def read(escalations: Escalations, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    if escalations.pending:
        escalations = Escalations(escalations.account_id, dict(escalations.open), dict(escalations.resolved),
                                  list(escalations.pushes), list(escalations.pending))
        settle(escalations, thresholds, copying=True)
    for ticket in [*escalations.open.values(), *escalations.resolved.values()]:
        if ticket.joined and ticket.first_opened is not None:
            pushes = [push for first, stop in ticket.joined for push in escalations.pushes[first:stop]]
            yield finding_of(escalations.account_id, ticket.id, ticket.priority, ticket.first_opened, ticket.events,
                             pushes, moment.resolved_at(ticket.resolved_at))


FOLD = Fold(frozenset({*LIFECYCLE, "sales.outreach.sent", "sales.opportunity.opened"}), start, step, read)
RULE = Rule(ID, Thresholds(), detect, FOLD)
