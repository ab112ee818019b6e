"""`sales-pressure-during-escalation`: sales pushes while a serious ticket is open (HIGH, sales and support).

A ticket is serious from its opening when its priority is high or urgent, or from its
first escalation at any priority. It is open from `opened` (or `reopened`) until
`resolved`. Events of one ticket at the same instant take effect in the order that
lets each of them: a ticket opened and resolved at one instant was open for no time
(a push then or later does not fire), and one resolved and reopened at one instant is
open again. Key: the ticket; a push in a later reopening joins the same finding, which
is open again until the ticket is resolved again. Evidence: the ticket's opening, each
of its escalations and reopenings, and the pushes while it was open and serious.

Pushes as evidence (this project's choice over the spec's "every push", `docs/rules.md`):
a finding's first `evidence_first` pushes and its latest `evidence_latest` (20 and 80),
which is every push of a finding of up to 100; the summary counts them all. A serious
ticket left open for months while sales keeps its cadence would otherwise give a finding
that takes every push for as long as the ticket stays open, and with it the fold's state.

Reopening horizon (this project's choice over the spec's, `docs/rules.md`): a resolved
finding can be changed by a later event of its ticket (an opening, escalation or
reopening joining the evidence, a push opening it again) only up to `reopen_days` after
it resolved, that instant included. A push after that, while the ticket is open and
serious, opens a new finding instead, keyed `<ticket>@<source>/<id of that push>` (the
push that makes it true, its `detectedAt`); its evidence is the ticket's events after
the horizon, with the opening of the stretch it was open in at the horizon, if any, and
its "since" is the start of that stretch (or of the first one after). The ticket stays
serious, as it was. A ticket that never had a finding has no horizon.

Item horizon (this project's choice, as the view's open items, `projections.item_horizon`):
a ticket that is not open and has had no event for more than a year (or for more than
`reopen_days`, if an operator set that longer) is forgotten, and a
later event of its id begins a new ticket: no priority, not serious, none of its events as
evidence. Its findings take the plain key unless a finding of that id already took it,
then they are keyed by their first push. Without it, the fold kept every ticket id the
account ever had.

As a fold (`Escalations`), each ticket keeps its lifecycle events and the first and
latest pushes that joined its finding, with how many did; a push that joined several
tickets is one object, which a checkpoint writes once, and one that joined none is not
kept. The events of the current instant wait until a later one comes, as they take
effect together. A resolved finding is final at the first of the rule's facts after its
horizon: `take_final` gives it up, and its ticket keeps only what a later episode needs
(priority, seriousness, the opening of the stretch it is in if open, and that a finding
already took its plain key).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import groupby
from operator import attrgetter

from projections.facts import Fact
from projections.findings import Finding, Moment, article, day, finding
from projections.fold import Fold
from projections.history import Timeline
from projections.item_horizon import ITEM_HORIZON, forgotten
from projections.rules.capped_evidence import Kept, first_and_latest, shown_words
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "sales-pressure-during-escalation"


@dataclass(frozen=True)
class Thresholds:
    serious_priorities: tuple[str, ...] = ("high", "urgent")
    push_intents: tuple[str, ...] = ("prospecting", "upsell", "renewal")
    push_opportunity_kinds: tuple[str, ...] = ("expansion", "renewal")
    reopen_days: int = 30
    evidence_first: int = 20  # a finding's first pushes kept as evidence (its first one always)
    evidence_latest: int = 80  # and its latest


@dataclass
class Ticket:
    id: str
    events: list[Fact] = field(default_factory=list)
    serious_since: datetime | None = None
    # (opened, resolved or None) for every stretch the ticket was open, and the event that opened each
    stretches: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    openers: list[Fact] = field(default_factory=list)
    priority: str | None = None
    last_at: datetime | None = None  # its latest event of any kind: the item horizon counts from it

    @property
    def is_open(self) -> bool:
        return bool(self.stretches) and self.stretches[-1][1] is None

    def priority_at(self, instant: datetime | None) -> str | None:
        """The priority of its latest opening at or before the instant (None: the latest of all)."""
        openings = [fact for fact in self.events if kind_of(fact) == "opened"
                    and (instant is None or fact.occurred_at <= instant)]
        return openings[-1].text("priority") if openings else None


LIFECYCLE = ("support.ticket.opened", "support.ticket.reopened", "support.ticket.escalated", "support.ticket.resolved")


def kind_of(fact: Fact) -> str:
    return fact.type.rsplit(".", 1)[1]


def tickets_of(timeline: Timeline, thresholds: Thresholds) -> list[Ticket]:
    """Every ticket, in the order of their first events: a ticket id forgotten (the item horizon) and seen again is
    a new ticket, after the one it was."""
    tickets: list[Ticket] = []
    current: dict[str, Ticket] = {}
    horizon = item_horizon(thresholds)
    for at, simultaneous in groupby(timeline.of(*LIFECYCLE), key=attrgetter("occurred_at")):
        by_ticket: dict[str, list[Fact]] = {}
        for fact in simultaneous:
            by_ticket.setdefault(str(fact.data["ticketId"]), []).append(fact)
        for ticket_id, facts in by_ticket.items():
            ticket = current.get(ticket_id)
            if ticket is None or (not ticket.is_open and ticket.last_at is not None
                                  and forgotten(ticket.last_at, at, horizon)):
                ticket = current[ticket_id] = Ticket(ticket_id)
                tickets.append(ticket)
            for fact in in_effect_order(facts, ticket.is_open):
                take(ticket, fact, thresholds)
    return tickets


def item_horizon(thresholds: Thresholds) -> timedelta:
    """How long a closed ticket stays known: the item horizon, or the reopening horizon if an operator set it longer
    (a ticket is never forgotten while a later event of it can still change its finding)."""
    return max(ITEM_HORIZON, timedelta(days=thresholds.reopen_days))


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
    ticket.last_at = fact.occurred_at
    if kind == "resolved":
        if ticket.is_open:
            ticket.stretches[-1] = (ticket.stretches[-1][0], fact.occurred_at)
        return
    ticket.events.append(fact)
    if kind == "opened":
        ticket.priority = fact.text("priority")
    if kind in ("opened", "reopened") and not ticket.is_open:
        ticket.stretches.append((fact.occurred_at, None))
        ticket.openers.append(fact)
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


def episodes_of(ticket: Ticket, pushes: list[Fact], horizon: timedelta) -> list[list[tuple[int, Fact]]]:
    """The pushes that count for the ticket, each with its stretch, by finding: a push in a later stretch
    more than the horizon after the finding so far resolved starts the next one."""
    assert ticket.serious_since is not None
    episodes: list[list[tuple[int, Fact]]] = []
    for index, (opened, resolved) in enumerate(ticket.stretches):
        start = max(opened, ticket.serious_since)
        for push in (push for push in pushes if start <= push.occurred_at and (resolved is None or push.occurred_at < resolved)):
            latest = episodes[-1][-1][0] if episodes else None
            ended = ticket.stretches[latest][1] if latest is not None and latest != index else None
            if latest is None or (ended is not None and push.occurred_at > ended + horizon):
                episodes.append([])
            episodes[-1].append((index, push))
    return episodes


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    pushes = [fact for fact in timeline.of("sales.outreach.sent", "sales.opportunity.opened") if is_push(fact, thresholds)]
    horizon = timedelta(days=thresholds.reopen_days)
    keyed: set[str] = set()  # the ticket ids whose plain key a finding took
    for ticket in tickets_of(timeline, thresholds):
        if ticket.serious_since is None:
            continue
        since: datetime | None = None  # the horizon of the finding before, if any
        for episode in episodes_of(ticket, pushes, horizon):
            resolved_at = ticket.stretches[episode[-1][0]][1]
            until = None if resolved_at is None else resolved_at + horizon
            events = [event for event in ticket.events if (since is None or event.occurred_at > since)
                      and (until is None or event.occurred_at <= until)]
            first = episode[0][1]
            key = ticket.id if since is None and ticket.id not in keyed else f"{ticket.id}@{first.source}/{first.event_id}"
            keyed.add(ticket.id)
            # the stretch it was open in at the horizon before (its opening is evidence), or the first after
            stretch = 0 if since is None else next(index for index, (_, resolved) in enumerate(ticket.stretches)
                                                   if resolved is None or resolved > since)
            joined = [push for _, push in episode]
            shown = first_and_latest(joined, thresholds.evidence_first, thresholds.evidence_latest)
            yield finding_of(timeline.account_id, ticket.id, key, ticket.priority_at(until), ticket.stretches[stretch][0],
                             [*events, ticket.openers[stretch]], shown, len(joined), moment.resolved_at(resolved_at))
            since = until


def finding_of(account_id: str, ticket_id: str, key: str, priority: str | None, first_opened: datetime,
               events: list[Fact], pushes: list[Fact], count: int, resolved_at: datetime | None) -> Finding:
    """`pushes`: the first and latest pushes; `count`: how many there were."""
    first = pushes[0]
    seriousness = f"{priority} ticket" if priority in ("high", "urgent") else "escalated ticket"
    summary = (
        f"Sales sent {push_words(first)} on {day(first.occurred_at)} while {seriousness} {ticket_id} "
        f"was open (since {day(first_opened)})"
    )
    if count > 1:
        summary += f"; {count - 1} more sales push{'es' if count > 2 else ''} followed while it was open"
        summary += shown_words(count, len(pushes), "pushes")
    return finding(
        account_id,
        ID,
        key,
        severity="HIGH",
        departments=("sales", "support"),
        evidence=[*events, *pushes],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


@state(version=5)
@dataclass(slots=True)
class Watched:
    """One ticket as the fold keeps it: what a later push, reopening or read needs of it."""

    id: str
    priority: str | None = None
    serious: bool = False  # from a serious opening or an escalation on, for good
    first_opened: datetime | None = None  # the start of its first open stretch (since its last finding was final)
    is_open: bool = False
    events: list[Fact] = field(default_factory=list)  # openings, escalations and reopenings (evidence)
    pushes: Kept | None = None  # the first and latest pushes that joined its finding, and how many; None before one
    pushed_now: bool = False  # a push joined in the current open stretch
    resolved_at: datetime | None = None  # the end of the last stretch a push joined
    opened_by: Fact | None = None  # the event that opened its current stretch, while open
    renewed: bool = False  # a finding of the ticket was final: the next one is keyed by its first push
    last_at: datetime | None = None  # its latest event of any kind (the item horizon counts from it)

    def copy(self) -> Watched:
        return replace(self, events=list(self.events), pushes=None if self.pushes is None else self.pushes.copy())

    def join(self, push: Fact, thresholds: Thresholds) -> None:
        """A push while it is open and serious: evidence if among the first or latest, and its finding open again."""
        if self.pushes is None:
            self.pushes = Kept()
        self.pushes.take(push, thresholds.evidence_first, thresholds.evidence_latest)
        self.pushed_now, self.resolved_at = True, None

    def renew(self) -> None:
        """Its finding is final: it keeps what a later one needs, as if it were opened again now if open."""
        self.events = [self.opened_by] if self.is_open and self.opened_by is not None else []
        self.first_opened = self.opened_by.occurred_at if self.is_open and self.opened_by is not None else None
        self.opened_by = self.opened_by if self.is_open else None
        self.pushes, self.pushed_now, self.resolved_at, self.renewed = None, False, None, True


@state(version=5)
@dataclass(slots=True)
class Escalations:
    """The account's tickets, open ones apart, and the facts of the current instant.

    A push joins only the tickets open and serious at its instant, so `open` (the tickets
    open now) is all a push looks at; `resolved` keeps the closed tickets with a finding
    not final or evidence for one to come, as what a reopening would need (its priority,
    whether it is serious, its evidence so far). A resolved finding stays until the first
    fact after its horizon (`due` is the earliest such horizon, or earlier), when
    `take_final` gives it up; a closed ticket with nothing since is then only its priority
    and last event in `done`, and one that was only ever resolved is not kept. A closed
    ticket past the item horizon is forgotten, when its id comes again or when swept
    (`sweep`, every `SWEEP_EVERY` of the account's time): of one whose finding took the
    plain key, only the id stays, in `keyed`. A ticket forgotten has no finding left to
    read: its finding was final a reopening horizon after it was resolved, which is never
    later (`item_horizon`). A ticket open and serious
    takes every push until it is resolved, keeping its first and latest as evidence.
    `pending` holds the ticket events and pushes of the latest instant: they take effect
    together (`in_effect_order`) once a later instant comes, or when read.
    """

    account_id: str
    open: dict[str, Watched] = field(default_factory=dict)
    resolved: dict[str, Watched] = field(default_factory=dict)  # and those never opened, only escalated
    pending: list[Fact] = field(default_factory=list)  # lifecycle events and pushes at the last instant
    due: datetime | None = None  # no resolved finding's horizon is earlier
    # closed tickets with nothing since a final finding: their priority and latest event
    done: dict[str, tuple[str | None, datetime | None]] = field(default_factory=dict)
    keyed: set[str] = field(default_factory=set)  # tickets forgotten whose plain key a finding took
    swept_at: datetime | None = None

    def ticket(self, ticket_id: str, at: datetime, horizon: timedelta) -> Watched:
        """The ticket, taken out to be changed at `at` (`file` puts it back); one never seen, or forgotten by then
        (`horizon`, the rule's `item_horizon`), is a new one."""
        if ticket_id in self.done:  # serious, as its finding was; the next one is keyed by its first push
            priority, last_at = self.done.pop(ticket_id)
            if last_at is not None and forgotten(last_at, at, horizon):
                return Watched(ticket_id, renewed=True)
            return Watched(ticket_id, priority, serious=True, renewed=True, last_at=last_at)
        if ticket_id in self.keyed:
            self.keyed.discard(ticket_id)
            return Watched(ticket_id, renewed=True)
        held = self.open.pop(ticket_id, None) or self.resolved.pop(ticket_id, None)
        if held is not None and is_forgotten(held, at, horizon):
            return Watched(ticket_id, renewed=held.renewed)
        return held or Watched(ticket_id)

    def file(self, ticket: Watched) -> None:
        """The ticket back in its place: open, closed with a finding or evidence, only its priority (a serious one
        whose finding took the plain key), only that its plain key was taken, or nothing."""
        if ticket.is_open:
            self.open[ticket.id] = ticket
        elif ticket.events or ticket.pushes:
            self.resolved[ticket.id] = ticket
        elif ticket.renewed and ticket.serious:
            self.done[ticket.id] = (ticket.priority, ticket.last_at)
        elif ticket.renewed:  # a ticket begun again after its id was forgotten, so far only resolved
            self.keyed.add(ticket.id)

    def sweep(self, now: datetime, horizon: timedelta) -> None:
        """Forget the closed tickets past `horizon` by `now` (their ids may never come again)."""
        if self.swept_at is not None and now - self.swept_at < SWEEP_EVERY:
            return
        self.swept_at = now
        for ticket in [each for each in self.resolved.values() if is_forgotten(each, now, horizon)]:
            del self.resolved[ticket.id]
            if ticket.renewed:
                self.keyed.add(ticket.id)
        for ticket_id in [key for key, (_, last_at) in self.done.items()
                          if last_at is not None and forgotten(last_at, now, horizon)]:
            del self.done[ticket_id]
            self.keyed.add(ticket_id)


SWEEP_EVERY = timedelta(days=30)


def is_forgotten(ticket: Watched, at: datetime, horizon: timedelta) -> bool:
    """Closed, with no finding left to read, and no event for more than `horizon` by `at`."""
    return (not ticket.is_open and ticket.pushes is None and ticket.last_at is not None
            and forgotten(ticket.last_at, at, horizon))


def start(account_id: str, thresholds: Thresholds) -> Escalations:
    return Escalations(account_id)


def step(escalations: Escalations, fact: Fact, thresholds: Thresholds) -> Escalations:
    """Facts of one instant wait together; a later instant lets them take effect."""
    if escalations.pending and escalations.pending[0].occurred_at != fact.occurred_at:
        settle(escalations, thresholds, copying=False)
    if not escalations.pending:  # (every ticket as of the instants before this one)
        escalations.sweep(fact.occurred_at, item_horizon(thresholds))
    if fact.type in LIFECYCLE or is_push(fact, thresholds):
        escalations.pending.append(fact)
    return escalations


def settle(escalations: Escalations, thresholds: Thresholds, copying: bool) -> None:
    """The pending instant takes effect: each ticket's events in effect order, then the pushes.

    `copying` leaves the tickets it changes untouched (it changes copies), for a read.
    Findings past their horizon were given up before (`take_final`, after the step that
    brought the pending instant), so what happens now starts a ticket's next finding.
    """
    by_ticket: dict[str, list[Fact]] = {}
    for fact in escalations.pending:
        if fact.type in LIFECYCLE:
            by_ticket.setdefault(str(fact.data["ticketId"]), []).append(fact)
    forgetting = item_horizon(thresholds)
    for ticket_id, facts in by_ticket.items():
        ticket = escalations.ticket(ticket_id, facts[0].occurred_at, forgetting)
        ticket = ticket.copy() if copying else ticket
        for fact in in_effect_order(facts, ticket.is_open):
            advance(ticket, fact, thresholds)
        escalations.file(ticket)
        if ticket.resolved_at is not None:
            horizon = ticket.resolved_at + timedelta(days=thresholds.reopen_days)
            escalations.due = horizon if escalations.due is None else min(escalations.due, horizon)
    copied = set(by_ticket)
    serious = [ticket_id for ticket_id, ticket in escalations.open.items() if ticket.serious]
    for push in (fact for fact in escalations.pending if fact.type not in LIFECYCLE and serious):
        for ticket_id in serious:
            ticket = escalations.open[ticket_id]
            if copying and ticket_id not in copied:
                ticket = escalations.open[ticket_id] = ticket.copy()
                copied.add(ticket_id)
            ticket.join(push, thresholds)
    escalations.pending = []


def advance(ticket: Watched, fact: Fact, thresholds: Thresholds) -> None:
    """One event of the ticket, as `take` does: a resolution ends its open stretch, an opening starts one."""
    kind = kind_of(fact)
    ticket.last_at = fact.occurred_at
    if kind == "resolved":
        if ticket.pushed_now:  # only while open
            ticket.resolved_at, ticket.pushed_now = fact.occurred_at, False
        ticket.is_open, ticket.opened_by = False, None
        return
    ticket.events.append(fact)
    if kind == "opened":
        ticket.priority = fact.text("priority")
    if kind in ("opened", "reopened") and not ticket.is_open:
        ticket.is_open, ticket.opened_by = True, fact
        if ticket.first_opened is None:
            ticket.first_opened = fact.occurred_at
    ticket.serious = ticket.serious or kind == "escalated" or ticket.priority in thresholds.serious_priorities


def read(escalations: Escalations, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    if escalations.pending:
        escalations = Escalations(escalations.account_id, dict(escalations.open), dict(escalations.resolved),
                                  list(escalations.pending), escalations.due, dict(escalations.done),
                                  set(escalations.keyed), escalations.swept_at)
        settle(escalations, thresholds, copying=True)
    for ticket in [*escalations.open.values(), *escalations.resolved.values()]:
        if ticket.pushes:
            yield finding_as_read(escalations, ticket, moment)


def finding_as_read(escalations: Escalations, ticket: Watched, moment: Moment) -> Finding:
    assert ticket.first_opened is not None and ticket.pushes is not None  # a push joins only an open ticket
    pushes = ticket.pushes.shown
    key = f"{ticket.id}@{pushes[0].source}/{pushes[0].event_id}" if ticket.renewed else ticket.id
    return finding_of(escalations.account_id, ticket.id, key, ticket.priority, ticket.first_opened, ticket.events,
                      pushes, ticket.pushes.count, moment.resolved_at(ticket.resolved_at))


def take_final(escalations: Escalations, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The resolved findings whose horizon is before `now`: no later event of their ticket can change them."""
    if escalations.due is None or now <= escalations.due:
        return []
    horizon, moment, final = timedelta(days=thresholds.reopen_days), Moment(now), []
    escalations.due = None
    for ticket in [*escalations.open.values(), *escalations.resolved.values()]:
        if ticket.pushes is None or ticket.resolved_at is None:
            continue
        if ticket.resolved_at + horizon < now:
            final.append(finding_as_read(escalations, ticket, moment))
            ticket.renew()
            del (escalations.open if ticket.is_open else escalations.resolved)[ticket.id]
            escalations.file(ticket)
        else:
            ends = ticket.resolved_at + horizon
            escalations.due = ends if escalations.due is None else min(escalations.due, ends)
    return final


FOLD = Fold(frozenset({*LIFECYCLE, "sales.outreach.sent", "sales.opportunity.opened"}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
