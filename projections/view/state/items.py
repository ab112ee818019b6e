"""What each department has open with the account, kept as the facts come.

Open items are read as the reference (`view.open_items`) reads them from every fact: its
sequences and ties included (items of the same `since` come in the order their id was
first seen, a dict's order there, hence the `rank`s kept here).

- tickets: one small record per ticket id (open or not, since, priority, subject,
  escalated, first escalation), since a ticket reopened later keeps its priority,
  subject and escalation;
- opportunities: the open ones (their opening), and the latest stage of every id, which
  a later opening of the same id shows;
- invoices: per id the payments received so far (they count against a later issue of
  the same id) and the latest issue while something of it is unpaid;
- incidents: the open ones, the resolutions at the latest instant (a start at that same
  instant is resolved already), and each id's rank;
- consents: per (contact, channel) the latest withdrawal in force, and the key's rank;
- billing: the start of a suspension not restored, the payment plan running longest,
  the instants of failed payments of the last 90 days; support: the instants of
  escalations, openings and reopenings of the last 90 days.

The records by id are a few values each, never growing with the facts about them, and
hold the ids of about the last year: a closed item with no event for more than the item
horizon (`projections.item_horizon`) is forgotten, as the reference forgets it. Each
record keeps its last event's instant for that; a later event of a forgotten id finds
no record and begins a new one. Forgetting is checked when an id's event comes (the
reference's rule), and the records are swept every `SWEEP_EVERY` of the account's time,
so an account's ids of long ago leave its state even if never seen again.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from projections.facts import Fact, drop_through
from projections.findings import day
from projections.item_horizon import forgotten
from projections.state_codec import state
from projections.view.model import OpenItem
from projections.view.open_items import ticket_item

RECENT = timedelta(days=90)
SWEEP_EVERY = timedelta(days=30)
RECENT_KINDS = ("support.ticket.escalated", "support.ticket.opened", "support.ticket.reopened",
                "billing.payment.failed")


@state(version=2)
@dataclass(slots=True)
class Ticket:
    rank: int
    last_at: datetime
    open: bool = False
    since: datetime | None = None
    priority: str | None = None
    subject: str | None = None
    escalated: bool = False
    first_escalated_at: datetime | None = None

    def take(self, kind: str, fact: Fact) -> None:
        if kind == "opened":
            self.open, self.since = True, fact.occurred_at
            self.priority, self.subject = fact.text("priority"), fact.text("subject")
        elif kind == "reopened" and not self.open:
            self.open, self.since = True, fact.occurred_at
        elif kind == "escalated":
            self.escalated = True
            self.first_escalated_at = self.first_escalated_at or fact.occurred_at
        elif kind == "resolved":
            self.open = False
        self.last_at = fact.occurred_at

    def item(self, ticket_id: str) -> OpenItem:
        return ticket_item(ticket_id, {"since": self.since, "priority": self.priority, "subject": self.subject,
                                       "escalated": self.escalated})


@state(version=2)
@dataclass(slots=True)
class Invoice:
    last_at: datetime
    rank: int | None = None  # the order of its first issue
    paid: Decimal = Decimal(0)
    issued: Fact | None = None  # its latest issue, while something of it is unpaid

    def owed(self) -> Decimal:
        return Decimal(0) if self.issued is None else self.issued.amount() - self.paid


@state(version=2)
@dataclass(slots=True)
class Items:
    ranks: int = 0  # ranks given so far: the next one
    tickets: dict[str, Ticket] = field(default_factory=dict)
    opportunities: dict[str, tuple[int, Fact]] = field(default_factory=dict)  # open: rank, opening
    stages: dict[str, str] = field(default_factory=dict)
    opportunity_seen: dict[str, datetime] = field(default_factory=dict)  # each id's last event
    invoices: dict[str, Invoice] = field(default_factory=dict)
    incidents: dict[str, Fact] = field(default_factory=dict)  # open: the latest start
    incident_ranks: dict[str, int] = field(default_factory=dict)
    incident_seen: dict[str, datetime] = field(default_factory=dict)  # each id's last event
    resolved_now: dict[str, datetime] = field(default_factory=dict)  # resolutions at the latest instant
    consents: dict[tuple[str | None, str], tuple[int, Fact | None]] = field(default_factory=dict)  # withdrawal
    suspended_since: datetime | None = None
    plan: Fact | None = None  # the plan granted whose `until` is the latest (the first of equals)
    recent: dict[str, list[datetime]] = field(default_factory=dict)  # RECENT_KINDS: instants, last 90 days
    swept_at: datetime | None = None  # when the records were last swept of forgotten ids

    def take(self, fact: Fact) -> None:
        kind = fact.type
        if kind.startswith("support.ticket."):
            self.ticket(str(fact.data["ticketId"]), fact.occurred_at).take(kind.rsplit(".", 1)[1], fact)
        elif kind.startswith("sales.opportunity."):
            self.take_opportunity(fact)
        elif kind in ("billing.invoice.issued", "billing.payment.received"):
            self.take_invoice(fact)
        elif kind.startswith("product.incident."):
            self.take_incident(fact)
        elif kind == "marketing.consent.changed":
            key = (fact.contact_id, str(fact.data["channel"]))
            rank = self.consents[key][0] if key in self.consents else self.next_rank()
            self.consents[key] = (rank, fact if fact.data.get("granted") is False else None)
        elif kind == "billing.service.suspended":
            self.suspended_since = self.suspended_since or fact.occurred_at
        elif kind == "billing.service.restored":
            self.suspended_since = None
        elif kind == "billing.payment_plan.granted" and (
                self.plan is None or fact.instant("until") > self.plan.instant("until")):
            self.plan = fact
        if kind in RECENT_KINDS:
            self.recent.setdefault(kind, []).append(fact.occurred_at)
        self.forget_before(fact.occurred_at)

    def next_rank(self) -> int:
        self.ranks += 1
        return self.ranks

    def ticket(self, ticket_id: str, at: datetime) -> Ticket:
        held = self.tickets.get(ticket_id)
        if held is None or (not held.open and forgotten(held.last_at, at)):
            held = self.tickets[ticket_id] = Ticket(self.next_rank(), at)
        return held

    def take_opportunity(self, fact: Fact) -> None:
        opportunity = str(fact.data["opportunityId"])
        seen = self.opportunity_seen.get(opportunity)
        if seen is not None and opportunity not in self.opportunities and forgotten(seen, fact.occurred_at):
            self.stages.pop(opportunity, None)
        self.opportunity_seen[opportunity] = fact.occurred_at
        if fact.type == "sales.opportunity.opened":
            held = self.opportunities.get(opportunity)
            self.opportunities[opportunity] = (self.next_rank() if held is None else held[0], fact)
        elif fact.type == "sales.opportunity.stage_changed":
            self.stages[opportunity] = str(fact.data["stage"])
        elif fact.type in ("sales.opportunity.won", "sales.opportunity.lost"):
            self.opportunities.pop(opportunity, None)

    def take_invoice(self, fact: Fact) -> None:
        invoice_id = str(fact.data["invoiceId"])
        invoice = self.invoices.get(invoice_id)
        if invoice is None or (invoice.owed() <= 0 and forgotten(invoice.last_at, fact.occurred_at)):
            invoice = self.invoices[invoice_id] = Invoice(fact.occurred_at)
        invoice.last_at = fact.occurred_at
        if fact.type == "billing.invoice.issued":
            invoice.rank = self.next_rank() if invoice.rank is None else invoice.rank
            invoice.issued = fact
        else:
            invoice.paid += fact.amount()
        if invoice.owed() <= 0:
            invoice.issued = None  # nothing unpaid: only a later issue can owe again

    def take_incident(self, fact: Fact) -> None:
        incident = str(fact.data["incidentId"])
        seen = self.incident_seen.get(incident)
        if seen is not None and incident not in self.incidents and forgotten(seen, fact.occurred_at):
            self.incident_ranks.pop(incident, None)
        self.incident_seen[incident] = fact.occurred_at
        if fact.type == "product.incident.started":
            if incident not in self.incident_ranks:
                self.incident_ranks[incident] = self.next_rank()
            if self.resolved_now.get(incident) == fact.occurred_at:
                self.incidents.pop(incident, None)
            else:
                self.incidents[incident] = fact
        elif fact.type == "product.incident.resolved":
            self.incidents.pop(incident, None)
            self.resolved_now[incident] = fact.occurred_at

    def forget_before(self, now: datetime) -> None:
        horizon = now - RECENT
        for instants in self.recent.values():
            drop_through(instants, horizon)
        if self.resolved_now:
            self.resolved_now = {incident: at for incident, at in self.resolved_now.items() if at == now}
        if self.swept_at is None or now - self.swept_at >= SWEEP_EVERY:
            self.sweep(now)

    def sweep(self, now: datetime) -> None:
        """Drop the records of closed ids forgotten by `now` (a later event of one finds none, as if checked)."""
        self.swept_at = now
        self.tickets = {ticket_id: ticket for ticket_id, ticket in self.tickets.items()
                        if ticket.open or not forgotten(ticket.last_at, now)}
        self.invoices = {invoice_id: invoice for invoice_id, invoice in self.invoices.items()
                         if invoice.owed() > 0 or not forgotten(invoice.last_at, now)}
        for seen, open_ids, records in ((self.opportunity_seen, self.opportunities, (self.stages,)),
                                        (self.incident_seen, self.incidents, (self.incident_ranks,))):
            for key in [key for key, at in seen.items() if key not in open_ids and forgotten(at, now)]:
                del seen[key]
                for held in records:
                    held.pop(key, None)

    # reading, as of a moment no earlier than the latest fact taken

    def open_ticket_priorities(self) -> list[str | None]:
        """The priorities of `open_tickets` (in no order), without building them: what the support load's value
        needs. The explanation reads `open_tickets`: the two select the same tickets (the view's property checks)."""
        return [ticket.priority for ticket in self.tickets.values() if ticket.open]

    def unpaid_days_overdue(self, as_of: datetime) -> list[int]:
        """The days overdue of `unpaid_invoices` (in no order), without building them: what the billing standing's
        value needs. An invoice owes nothing until issued (`issued is not None` is for the type checker)."""
        return [overdue_days(invoice.issued, as_of) for invoice in self.invoices.values()
                if invoice.issued is not None and invoice.owed() > 0]

    def open_tickets(self) -> list[OpenItem]:
        held = sorted((ticket for ticket in self.tickets.items() if ticket[1].open),
                      key=lambda each: (each[1].since, each[1].rank))
        return [ticket.item(ticket_id) for ticket_id, ticket in held]

    def open_opportunities(self) -> list[OpenItem]:
        items = []
        for opportunity, (_, fact) in sorted(self.opportunities.items(), key=lambda each: (each[1][1].occurred_at,
                                                                                          each[1][0])):
            stage = f", at stage {self.stages[opportunity]}" if opportunity in self.stages else ""
            summary = (f"{fact.data['kind']} opportunity {opportunity} of {fact.data['amount']} "
                       f"{fact.data['currency']}{stage}, open since {day(fact.occurred_at)}")
            items.append(OpenItem("opportunity", opportunity, fact.occurred_at, summary,
                                  amount=str(fact.data["amount"]), currency=str(fact.data["currency"])))
        return items

    def unpaid_invoices(self, as_of: datetime) -> list[OpenItem]:
        unpaid = sorted(((invoice_id, invoice) for invoice_id, invoice in self.invoices.items() if invoice.owed() > 0),
                        key=lambda each: (each[1].issued.occurred_at if each[1].issued else as_of, each[1].rank))
        return [invoice_item(invoice_id, invoice, as_of) for invoice_id, invoice in unpaid]

    def open_incidents(self) -> list[OpenItem]:
        held = sorted(self.incidents.items(), key=lambda each: (each[1].occurred_at, self.incident_ranks[each[0]]))
        return [OpenItem("incident", incident, fact.occurred_at,
                         f"{fact.data['severity']} incident {incident}, open since {day(fact.occurred_at)}",
                         priority=str(fact.data["severity"])) for incident, fact in held]

    def opt_outs(self) -> list[OpenItem]:
        held = sorted(((key, rank, fact) for key, (rank, fact) in self.consents.items() if fact is not None),
                      key=lambda each: (each[2].occurred_at, each[1]))
        items = []
        for (contact, channel), _, fact in held:
            who = f"contact {contact}" if contact else "the whole account"
            items.append(OpenItem("opt_out", channel, fact.occurred_at,
                                  f"{who} opted out of {channel} on {day(fact.occurred_at)}", contact_id=contact))
        return items

    def plan_in_force(self, as_of: datetime) -> Fact | None:
        return self.plan if self.plan is not None and self.plan.instant("until") > as_of else None

    def recent_count(self, kind: str, as_of: datetime) -> int:
        """How many facts of the kind happened within the last 90 days (none is after `as_of`)."""
        instants = self.recent.get(kind, [])
        return len(instants) - bisect_right(instants, as_of - RECENT)


def overdue_days(issued: Fact, as_of: datetime) -> int:
    """Whole days past the issue's `dueAt` at `as_of` (0 until then)."""
    due = issued.instant("dueAt")
    return max(0, (as_of - due).days) if as_of > due else 0


def invoice_item(invoice_id: str, invoice: Invoice, as_of: datetime) -> OpenItem:
    issued = invoice.issued
    assert issued is not None
    owed = invoice.owed()
    due = issued.instant("dueAt")
    overdue = overdue_days(issued, as_of)
    late = f", {overdue} days overdue" if overdue else f", due {day(due)}"
    summary = f"invoice {invoice_id} of {issued.data['amount']} {issued.data['currency']}, {owed} unpaid{late}"
    return OpenItem("invoice", invoice_id, issued.occurred_at, summary, amount=str(owed),
                    currency=str(issued.data["currency"]), days_overdue=overdue)
