"""What each department still has open with an account at a moment: tickets, opportunities,
unpaid invoices, incidents, and consent opt-outs in force.

Every function reads a `Timeline` (facts up to the moment, in `occurredAt` order) and
returns `OpenItem`s, oldest first.

The item horizon (this project's choice; the spec keeps every id forever): a ticket,
opportunity, invoice or incident that is closed (a ticket resolved or never opened, an
opportunity won, lost or never opened, an invoice with nothing unpaid, an incident
resolved or never started) and has had no event for more than the item horizon (365
days, `projections.item_horizon`) is forgotten. A later event of the same id begins a new item, as if the id had never
been seen: a ticket reopened then has no priority, subject or escalation from before,
an opportunity no stage, an invoice no payments, and each its place among items of the
same instant as a new id. Without it, what the view keeps of an account would grow with
every id it ever had; with it, with the ids of the last year.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

from projections.facts import Fact
from projections.findings import day
from projections.history import Timeline
from projections.item_horizon import forgotten
from projections.rules.collections_during_payment_plan import until_words
from projections.view.model import OpenItem

SERIOUS_PRIORITIES = ("high", "urgent")

Result = TypeVar("Result")


def memoized(function: Callable[..., Result]) -> Callable[..., Result]:
    """Compute once per timeline (and arguments): every part of a view asks for open tickets."""

    @wraps(function)
    def once(timeline: Timeline, *args: Any) -> Result:
        key = (function.__name__, *args)
        if key not in timeline.memo:
            timeline.memo[key] = function(timeline, *args)
        result: Result = timeline.memo[key]
        return list(result) if isinstance(result, list) else result  # type: ignore[return-value]  # a copy

    return once


@memoized
def tickets(timeline: Timeline) -> dict[str, dict[str, Any]]:
    """Every ticket not forgotten: open or not, since, priority, subject, escalated, first escalation, last event."""
    state: dict[str, dict[str, Any]] = {}
    for fact in timeline.of("support.ticket.opened", "support.ticket.reopened", "support.ticket.escalated",
                            "support.ticket.resolved"):
        ticket_id = str(fact.data["ticketId"])
        held = state.get(ticket_id)
        if held is not None and not held["open"] and forgotten(held["last_at"], fact.occurred_at):
            del state[ticket_id]  # a new ticket under the old id, placed as a new id
        ticket = state.setdefault(ticket_id, {"open": False, "escalated": False, "priority": None,
                                              "first_escalated_at": None})
        kind = fact.type.rsplit(".", 1)[1]
        if kind == "opened":
            ticket.update(open=True, since=fact.occurred_at, priority=fact.text("priority"), subject=fact.text("subject"))
        elif kind == "reopened" and not ticket["open"]:
            ticket.update(open=True, since=fact.occurred_at)
        elif kind == "escalated":
            ticket["escalated"] = True
            ticket["first_escalated_at"] = ticket["first_escalated_at"] or fact.occurred_at
        elif kind == "resolved":
            ticket["open"] = False
        ticket["last_at"] = fact.occurred_at
    return state


@memoized
def open_tickets(timeline: Timeline) -> list[OpenItem]:
    """Tickets opened (or reopened) and not resolved since; escalation is kept in the summary."""
    return sorted(
        (ticket_item(ticket_id, ticket) for ticket_id, ticket in tickets(timeline).items() if ticket["open"]),
        key=lambda item: item.since,
    )


def ticket_item(ticket_id: str, ticket: dict[str, object]) -> OpenItem:
    since = ticket["since"]
    assert isinstance(since, datetime)
    priority = str(ticket["priority"]) if ticket["priority"] else None
    words = [f"{priority} ticket {ticket_id}" if priority else f"ticket {ticket_id}"]
    if ticket["escalated"]:
        words.append("escalated")
    if ticket.get("subject"):
        words.append(f"\"{ticket['subject']}\"")
    return OpenItem("ticket", ticket_id, since, f"{', '.join(words)}, open since {day(since)}", priority=priority)


def is_serious(item: OpenItem) -> bool:
    return item.priority in SERIOUS_PRIORITIES or ", escalated" in item.summary


@memoized
def open_opportunities(timeline: Timeline) -> list[OpenItem]:
    """Opportunities opened and neither won nor lost since, with their latest stage."""
    opened: dict[str, Fact] = {}
    stages: dict[str, str] = {}
    last_at: dict[str, datetime] = {}
    for fact in timeline.of("sales.opportunity.opened", "sales.opportunity.stage_changed",
                            "sales.opportunity.won", "sales.opportunity.lost"):
        opportunity = str(fact.data["opportunityId"])
        if opportunity in last_at and opportunity not in opened and forgotten(last_at[opportunity], fact.occurred_at):
            stages.pop(opportunity, None)
        last_at[opportunity] = fact.occurred_at
        if fact.type == "sales.opportunity.opened":
            opened[opportunity] = fact
        elif fact.type == "sales.opportunity.stage_changed":
            stages[opportunity] = str(fact.data["stage"])
        else:
            opened.pop(opportunity, None)
    items = []
    for opportunity, fact in opened.items():
        stage = f", at stage {stages[opportunity]}" if opportunity in stages else ""
        summary = (f"{fact.data['kind']} opportunity {opportunity} of {fact.data['amount']} {fact.data['currency']}"
                   f"{stage}, open since {day(fact.occurred_at)}")
        items.append(OpenItem("opportunity", opportunity, fact.occurred_at, summary,
                              amount=str(fact.data["amount"]), currency=str(fact.data["currency"])))
    return sorted(items, key=lambda item: item.since)


@memoized
def unpaid_invoices(timeline: Timeline, as_of: datetime) -> list[OpenItem]:
    """Invoices (the latest issue of each id) whose payments received so far add up to less than their amount.

    Items of one instant come in the order of their id's first issue."""
    invoices: dict[str, dict[str, Any]] = {}  # id -> its payments, latest issue, rank of first issue, last event
    ranks = 0
    for fact in timeline.of("billing.invoice.issued", "billing.payment.received"):
        invoice_id = str(fact.data["invoiceId"])
        held = invoices.get(invoice_id)
        if held is not None and owed(held) <= 0 and forgotten(held["last_at"], fact.occurred_at):
            del invoices[invoice_id]
        invoice = invoices.setdefault(invoice_id, {"paid": Decimal(0), "issued": None, "rank": None})
        if fact.type == "billing.invoice.issued":
            if invoice["rank"] is None:
                ranks += 1
                invoice["rank"] = ranks
            invoice["issued"] = fact
        else:
            invoice["paid"] += fact.amount()
        invoice["last_at"] = fact.occurred_at
    items = []
    for invoice_id, held in sorted(invoices.items(), key=lambda each: each[1]["rank"] or 0):
        unpaid = owed(held)
        if unpaid <= 0:
            continue
        issue: Fact = held["issued"]
        due = issue.instant("dueAt")
        overdue = max(0, (as_of - due).days) if as_of > due else 0
        late = f", {overdue} days overdue" if overdue else f", due {day(due)}"
        summary = f"invoice {invoice_id} of {issue.data['amount']} {issue.data['currency']}, {unpaid} unpaid{late}"
        items.append(OpenItem("invoice", invoice_id, issue.occurred_at, summary, amount=str(unpaid),
                              currency=str(issue.data["currency"]), days_overdue=overdue))
    return sorted(items, key=lambda item: item.since)


def owed(invoice: dict[str, Any]) -> Decimal:
    issued: Fact | None = invoice["issued"]
    return Decimal(0) if issued is None else issued.amount() - invoice["paid"]


@memoized
def open_incidents(timeline: Timeline) -> list[OpenItem]:
    """Incidents started and not resolved since (a resolution at the instant of the latest start resolves it).

    Items of one instant come in the order of their id's first start."""
    started: dict[str, Fact] = {}  # in the order of each id's first start
    resolved: dict[str, Fact] = {}
    last_at: dict[str, datetime] = {}
    for fact in timeline.of("product.incident.started", "product.incident.resolved"):
        incident = str(fact.data["incidentId"])
        if incident in last_at and not is_open(started.get(incident), resolved.get(incident)) \
                and forgotten(last_at[incident], fact.occurred_at):
            started.pop(incident, None)
            resolved.pop(incident, None)
        last_at[incident] = fact.occurred_at
        (started if fact.type == "product.incident.started" else resolved)[incident] = fact
    items = [
        OpenItem("incident", incident, fact.occurred_at,
                 f"{fact.data['severity']} incident {incident}, open since {day(fact.occurred_at)}",
                 priority=str(fact.data["severity"]))
        for incident, fact in started.items() if is_open(fact, resolved.get(incident))
    ]
    return sorted(items, key=lambda item: item.since)


def is_open(start: Fact | None, resolution: Fact | None) -> bool:
    return start is not None and (resolution is None or resolution.occurred_at < start.occurred_at)


@memoized
def opt_outs(timeline: Timeline) -> list[OpenItem]:
    """Consent withdrawals in force: the latest change per (contact, channel) is `granted: false`."""
    latest: dict[tuple[str | None, str], Fact] = {}
    for fact in timeline.of("marketing.consent.changed"):
        latest[(fact.contact_id, str(fact.data["channel"]))] = fact
    items = []
    for (contact, channel), fact in latest.items():
        if fact.data.get("granted") is False:
            who = f"contact {contact}" if contact else "the whole account"
            items.append(OpenItem("opt_out", channel, fact.occurred_at,
                                  f"{who} opted out of {channel} on {day(fact.occurred_at)}", contact_id=contact))
    return sorted(items, key=lambda item: item.since)


def latest_by(facts: list[Fact], key: str) -> dict[str, Fact]:
    """The latest fact for each value of a data field (facts come in `occurredAt` order)."""
    return {str(fact.data[key]): fact for fact in facts}

def standing_words(suspended: datetime | None, unpaid: list[OpenItem], plan: Fact | None) -> list[str]:
    """The billing facts an agent must know: suspension, overdue and unpaid invoices, a plan in force."""
    words = [f"service suspended since {day(suspended)}"] if suspended else []
    overdue = [item for item in unpaid if item.days_overdue]
    if overdue:
        each = "; ".join(f"{item.id}: {item.amount} {item.currency} unpaid, {counted(item.days_overdue or 0, 'day')} "
                         "overdue" for item in overdue)
        words.append(f"{counted(len(overdue), 'invoice')} overdue ({each})")
    if len(unpaid) > len(overdue):
        words.append(f"{counted(len(unpaid) - len(overdue), 'invoice')} unpaid, not yet due")
    if plan:
        words.append(f"payment plan in force until {until_words(plan)}")
    return words

@memoized
def suspended_since(timeline: Timeline) -> datetime | None:
    """The start of a suspension not followed by a restoration."""
    since = None
    for fact in timeline.of("billing.service.suspended", "billing.service.restored"):
        since = (since or fact.occurred_at) if fact.type == "billing.service.suspended" else None
    return since

@memoized
def plan_in_force(timeline: Timeline, as_of: datetime) -> Fact | None:
    """The payment plan granted by `as_of` whose `until` is after it (the one running longest)."""
    plans = [plan for plan in timeline.of("billing.payment_plan.granted") if plan.instant("until") > as_of]
    return max(plans, key=lambda plan: plan.instant("until"), default=None)

def counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
