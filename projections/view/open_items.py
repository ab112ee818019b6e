"""What each department still has open with an account at a moment: tickets, opportunities,
unpaid invoices, incidents, and consent opt-outs in force.

Every function reads a `Timeline` (facts up to the moment, in `occurredAt` order) and
returns `OpenItem`s, oldest first.
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
def open_tickets(timeline: Timeline) -> list[OpenItem]:
    """Tickets opened (or reopened) and not resolved since; escalation is kept in the summary."""
    state: dict[str, dict[str, object]] = {}
    for fact in timeline.of("support.ticket.opened", "support.ticket.reopened", "support.ticket.escalated",
                            "support.ticket.resolved"):
        ticket = state.setdefault(str(fact.data["ticketId"]), {"open": False, "escalated": False, "priority": None})
        kind = fact.type.rsplit(".", 1)[1]
        if kind == "opened":
            ticket.update(open=True, since=fact.occurred_at, priority=fact.text("priority"), subject=fact.text("subject"))
        elif kind == "reopened" and not ticket["open"]:
            ticket.update(open=True, since=fact.occurred_at)
        elif kind == "escalated":
            ticket["escalated"] = True
        elif kind == "resolved":
            ticket["open"] = False
    return sorted(
        (ticket_item(ticket_id, ticket) for ticket_id, ticket in state.items() if ticket["open"]),
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
    for fact in timeline.of("sales.opportunity.opened", "sales.opportunity.stage_changed",
                            "sales.opportunity.won", "sales.opportunity.lost"):
        opportunity = str(fact.data["opportunityId"])
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
    """Invoices whose payments received so far add up to less than their amount."""
    paid: dict[str, Decimal] = {}
    for payment in timeline.of("billing.payment.received"):
        invoice_id = str(payment.data["invoiceId"])
        paid[invoice_id] = paid.get(invoice_id, Decimal(0)) + payment.amount()
    items = []
    for invoice in latest_by(timeline.of("billing.invoice.issued"), "invoiceId").values():
        invoice_id = str(invoice.data["invoiceId"])
        owed = invoice.amount() - paid.get(invoice_id, Decimal(0))
        if owed <= 0:
            continue
        due = invoice.instant("dueAt")
        overdue = max(0, (as_of - due).days) if as_of > due else 0
        late = f", {overdue} days overdue" if overdue else f", due {day(due)}"
        summary = f"invoice {invoice_id} of {invoice.data['amount']} {invoice.data['currency']}, {owed} unpaid{late}"
        items.append(OpenItem("invoice", invoice_id, invoice.occurred_at, summary, amount=str(owed),
                              currency=str(invoice.data["currency"]), days_overdue=overdue))
    return sorted(items, key=lambda item: item.since)


@memoized
def open_incidents(timeline: Timeline) -> list[OpenItem]:
    """Incidents started and not resolved since."""
    started = latest_by(timeline.of("product.incident.started"), "incidentId")
    resolved = latest_by(timeline.of("product.incident.resolved"), "incidentId")
    items = [
        OpenItem("incident", incident, fact.occurred_at,
                 f"{fact.data['severity']} incident {incident}, open since {day(fact.occurred_at)}",
                 priority=str(fact.data["severity"]))
        for incident, fact in started.items()
        if incident not in resolved or resolved[incident].occurred_at < fact.occurred_at
    ]
    return sorted(items, key=lambda item: item.since)


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
