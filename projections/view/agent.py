"""What a support agent reads before a call: the serious tickets, the billing standing in one line,
what not to say and why, and what each department did this week."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from domain.catalogue import CATALOGUE, DEPARTMENTS
from projections.facts import Fact, within
from projections.findings import Finding, day
from projections.history import Timeline
from projections.rules.collections_during_payment_plan import until_words
from projections.view.health import capitalized
from projections.view.model import AgentContext, OpenItem, RecentTouch, Warning
from projections.view.open_items import (
    SERIOUS_PRIORITIES,
    is_serious,
    open_incidents,
    open_tickets,
    opt_outs,
    plan_in_force,
    standing_words,
    suspended_since,
    unpaid_invoices,
)

TYPES_OF_DEPARTMENTS = {
    department: tuple(name for name in CATALOGUE if name.startswith(f"{department}.")) for department in DEPARTMENTS
}
VERBS = {"email": "email", "phone": "call", "sms": "text", "all": "contact"}


def agent_context(timeline: Timeline, as_of: datetime, open_findings: Sequence[Finding]) -> AgentContext:
    """The agent's context as of `as_of`.

    The open findings are served beside it (`AgentContext` has no field for them), so they
    are taken for a uniform signature and do not change what is returned.
    """
    tickets = [ticket for ticket in open_tickets(timeline) if is_serious(ticket)]
    unpaid = unpaid_invoices(timeline, as_of)
    plan = plan_in_force(timeline, as_of)
    donts = (
        *ticket_donts(tickets),
        *opt_out_donts(opt_outs(timeline)),
        *plan_donts(plan, unpaid),
        *incident_donts(open_incidents(timeline)),
        *detractor_donts(timeline, as_of),
    )
    return AgentContext(tuple(tickets), billing_line(timeline, unpaid, plan), donts, this_week(timeline, as_of))


def billing_line(timeline: Timeline, unpaid: list[OpenItem], plan: Fact | None) -> str:
    words = standing_words(suspended_since(timeline), unpaid, plan)
    return capitalized("; ".join(words)) + "." if words else "In good standing: nothing unpaid."


def ticket_donts(tickets: list[OpenItem]) -> Iterator[Warning]:
    for ticket in tickets:
        kind = f"{ticket.priority} ticket" if ticket.priority in SERIOUS_PRIORITIES else "escalated ticket"
        yield Warning(f"Don't pitch an upgrade or a renewal: {kind} {ticket.id} open since {day(ticket.since)}", "ticket")


def opt_out_donts(withdrawals: list[OpenItem]) -> Iterator[Warning]:
    for withdrawal in withdrawals:
        channel = withdrawal.id
        verb = VERBS.get(channel, "contact")
        what = "every channel" if channel == "all" else channel
        if withdrawal.contact_id:
            text = f"Don't {verb} {withdrawal.contact_id}: opted out of {what} on {day(withdrawal.since)}"
        else:
            text = f"Don't {verb} anyone at the account: the account opted out of {what} on {day(withdrawal.since)}"
        yield Warning(text, "opt_out")


def plan_donts(plan: Fact | None, unpaid: list[OpenItem]) -> Iterator[Warning]:
    if plan is None:
        return
    reason = f"payment plan in force until {until_words(plan)}"
    for invoice in unpaid:
        yield Warning(f"Don't chase invoice {invoice.id}: {reason}", "payment_plan")
    if not unpaid:
        yield Warning(f"Don't chase payments: {reason}", "payment_plan")


def incident_donts(incidents: list[OpenItem]) -> Iterator[Warning]:
    for incident in incidents:
        yield Warning(f"Don't say the service is unaffected: {incident.priority} incident {incident.id} "
                      f"open since {day(incident.since)}", "incident")


def detractor_donts(timeline: Timeline, as_of: datetime) -> Iterator[Warning]:
    """A contact whose latest NPS response, within the last 30 days, is a detractor's (0-6)."""
    latest: dict[str | None, Fact] = {}
    for response in timeline.of("marketing.nps.responded"):
        latest[response.contact_id] = response
    recent = sorted((response for response in latest.values()
                     if int(response.data["score"]) <= 6 and within(response, as_of, 30)), key=lambda fact: fact.order)
    for response in recent:
        who = response.contact_id or "the account"
        yield Warning(f"Don't upsell {who}: NPS of {response.data['score']} on {day(response.occurred_at)}", "detractor")


def this_week(timeline: Timeline, as_of: datetime) -> tuple[RecentTouch, ...]:
    """Each department's latest event, if it happened within the last 7 days."""
    touches = []
    for department in DEPARTMENTS:
        facts = timeline.of(*TYPES_OF_DEPARTMENTS[department])
        if facts and within(facts[-1], as_of, 7):
            touches.append(RecentTouch(department, facts[-1].type, facts[-1].occurred_at))
    return tuple(touches)
