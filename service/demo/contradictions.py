"""The planted contradictions: each rule of `rules.md` in at least two accounts (`PLANTS`)."""

from __future__ import annotations

from collections.abc import Callable

from service.demo.story import (
    At,
    Story,
    collect,
    issue,
    message,
    money,
    nps,
    pay,
)


def sales_pressure_during_escalation(s: Story, d: float) -> None:
    """Renewal (late in the year: upsell) outreach while an urgent, escalated ticket is open."""
    s.reserved.append((d - 3, d + 8))
    ticket = f"T-{s.index:03d}-{int(d)}"
    opened = {"ticketId": ticket, "priority": "urgent", "category": "outage", "subject": "Data export fails for all"}
    s.add(d + 0.38, "support.ticket.opened", opened, s.contacts[0], "agent-7")
    s.add(d + 0.5, "support.ticket.escalated", {"ticketId": ticket, "level": "engineering"}, actor="agent-7")
    for step, (t, channel) in enumerate(((d + 1.4, "email"), (d + 3.1, "call")), 1):
        message(s, t, "sales", channel, "renewal" if d < 300 else "upsell", s.contacts[0], step=step)
    s.add(d + 4.2, "support.ticket.resolved", {"ticketId": ticket}, actor="agent-7")


def collections_during_supportive_messaging(s: Story, d: float) -> None:
    """Dunning five days after a "we're here to help" campaign."""
    s.reserved.append((d - 16, d + 16))
    invoice = issue(s, d - 12, "A", s.mrr(d) / 4, 14)
    message(s, d, "marketing", "email", "supportive", s.contacts[0])
    collect(s, d + 2.1, "payment.failed", invoice, reason="card_declined")
    collect(s, d + 5.2, "dunning.sent", invoice, level=1, channel="email")
    pay(s, d + 9.5, invoice, s.mrr(d) / 4)


def upsell_to_detractor(s: Story, d: float) -> None:
    """An upsell (campaign or outreach) ten days after an NPS of 3, although the detractor was called back."""
    s.reserved.append((d - 3, d + 32))
    nps(s, d, 3, s.contacts[0], "Reports time out and nobody seems to care.")
    message(s, d + 1.5, "support", "call", "detractor_follow_up", s.contacts[0])
    message(s, d + 10.3, "marketing" if s.index % 2 else "sales", "email", "upsell", s.contacts[0])


def ignored_detractor(s: Story, d: float) -> None:
    """An NPS of 2 that nobody follows up within 7 days (later on, or never)."""
    s.reserved.append((d - 2, d + 14))
    nps(s, d, 2, s.contacts[0], "Billing errors every month, and nobody calls back.")
    if d < 200:
        message(s, d + 12, "support", "call", "detractor_follow_up", s.contacts[0])


def contact_after_opt_out(s: Story, d: float) -> None:
    """An email campaign after an email opt-out (granted again later), or a call after an opt-out of all."""
    who = s.contacts[1]
    channel = "email" if s.index % 2 == 0 else "all"
    s.add(d, "marketing.consent.changed", {"channel": channel, "granted": False}, who)
    if channel == "email":
        message(s, d + 18, "marketing", "email", "nurture", who)
        s.add(d + 60, "marketing.consent.changed", {"channel": "email", "granted": True}, who)
    else:
        message(s, d + 9, "sales", "call", "follow_up", who)


GAUNTLETS = {  # (department, channel, intent) of each touch
    "prospect": (("marketing", "email", "acquisition"), ("sales", "email", "prospecting"),
                 ("sales", "linkedin", "prospecting"), ("marketing", "webinar", "nurture"),
                 ("sales", "call", "prospecting"), ("marketing", "ads", "acquisition"),
                 ("sales", "email", "follow_up"), ("marketing", "email", "nurture")),
    "customer": (("sales", "email", "renewal"), ("marketing", "email", "announcement"), ("sales", "call", "renewal"),
                 ("support", "call", "check_in"), ("marketing", "webinar", "nurture"), ("sales", "linkedin", "renewal"),
                 ("sales", "meeting", "follow_up")),
}


def contact_pressure(s: Story, d: float) -> None:
    """Seven or eight touches in five days from several departments."""
    s.reserved.append((d - 8, d + 14))
    steps = GAUNTLETS["customer" if s.customer(d) else "prospect"]
    for k, (department, channel, intent) in enumerate(steps):
        message(s, d + 0.7 * k, department, channel, intent, s.contacts[0], step=k + 1)


def collections_during_payment_plan(s: Story, d: float) -> None:
    """A dunning letter in the middle of a granted payment plan."""
    s.reserved.append((d - 25, d + 65))
    amount = s.mrr(d) * 3
    invoice = issue(s, d - 20, "Q", amount, 14)
    collect(s, d - 5.9, "payment.failed", invoice, reason="insufficient_funds")
    collect(s, d - 3, "dunning.sent", invoice, level=1, channel="email")
    plan = {"until": At(d + 60), "terms": "3 monthly instalments"}
    s.add(d, "billing.payment_plan.granted", plan, actor="billing-ops")
    for k in range(3):
        pay(s, d + 19 + 20 * k, invoice, amount / 3)
    collect(s, d + 26, "dunning.sent", invoice, level=2, channel="email")


def prospecting_a_customer(s: Story, d: float) -> None:
    """Marketing sends a free-trial campaign to a paying customer."""
    message(s, max(d, (s.won or 0) + 12), "marketing", "email", "acquisition", s.contacts[0])


def sdr_prospecting_a_customer(s: Story, d: float) -> None:
    """A sales development rep prospects a paying customer."""
    day = max(d, (s.won or 0) + 12)
    message(s, day, "sales", "linkedin", "prospecting", s.contacts[0], step=1)
    message(s, day + 4, "sales", "email", "prospecting", s.contacts[0], step=2)


def incident_denial(s: Story, d: float) -> None:
    """The status page says "no impact" while the account opens two tickets."""
    incident = f"INC-{3000 + s.index}"
    s.add(d + 0.35, "product.incident.started", {"incidentId": incident, "severity": "sev2"}, actor="oncall")
    status = {"incidentId": incident, "impact": "none", "message": "No customer impact; all systems operational."}
    s.add(d + 0.6, "product.status.published", status, actor="oncall")
    for k, (t, subject) in enumerate(((d + 0.5, "Sync jobs stuck since this morning"), (d + 0.9, "API returns 503"))):
        ticket = {"ticketId": f"T-{s.index:03d}-{int(d)}{k}", "priority": "normal", "category": "outage",
                  "subject": subject}
        s.add(t, "support.ticket.opened", ticket, s.contacts[-k], "agent-4")
        s.add(t + 1.1, "support.ticket.resolved", {"ticketId": ticket["ticketId"]}, actor="agent-4")
    s.add(d + 1.3, "product.incident.resolved", {"incidentId": incident}, actor="oncall")


def invoice_exceeds_deal(s: Story, d: float) -> None:
    """The annual invoice bills list price, ignoring the discount won; a credit d days later (0: never)."""
    assert s.start is not None
    s.discount, s.list_price_invoice = max(s.discount, 10), True
    ticket = {"ticketId": f"T-{s.index:03d}-INV", "priority": "normal", "category": "billing",
              "subject": "Invoice does not match our contract"}
    s.add(s.start + 6, "support.ticket.opened", ticket, s.contacts[0], "agent-2")
    if d:
        credit = {"amount": money(s.mrr(0) * 12 - s.deal()), "currency": s.currency, "reason": "discount"}
        s.add(s.start + d, "billing.credit.issued", credit, actor="billing-ops")
        s.add(s.start + d + 0.1, "support.ticket.resolved", {"ticketId": ticket["ticketId"]}, actor="agent-2")


def abrupt_suspension(s: Story, d: float) -> None:
    """A customer of a year who always paid is shut off 13 days after one failed payment; restored d days later."""
    s.clean, s.start = True, s.rng.uniform(0.003, 0.03)
    invoice = issue(s, s.start + 338.3, "RN", s.mrr(0), 14)
    collect(s, s.start + 352.4, "payment.failed", invoice, reason="card_expired")
    collect(s, s.start + 355.3, "dunning.sent", invoice, level=1, channel="email")
    s.add(s.start + 365.01, "billing.service.suspended", {"reason": "unpaid invoice"}, actor="dunning-bot")
    if d:
        pay(s, s.start + 365.01 + d, invoice, s.mrr(0))
        s.add(s.start + 365.02 + d, "billing.service.restored", {}, actor="billing-ops")


Plant = Callable[[Story, float], None]
PLANTS: tuple[tuple[Plant, tuple[tuple[int, float], ...]], ...] = (  # each with its (account index, day)s
    (sales_pressure_during_escalation, ((0, 150.0), (13, 210.0), (33, 363.0))),
    (collections_during_supportive_messaging, ((1, 120.0), (14, 140.0), (41, 260.0))),
    (upsell_to_detractor, ((3, 170.0), (16, 200.0), (27, 140.0))),
    (ignored_detractor, ((5, 130.0), (19, 215.0), (45, 320.0))),
    (contact_after_opt_out, ((8, 100.0), (21, 160.0), (29, 230.0))),
    (contact_pressure, ((4, 90.0), (12, 150.0), (24, 250.0))),
    (collections_during_payment_plan, ((9, 180.0), (35, 290.0))),
    (prospecting_a_customer, ((2, 260.0), (6, 90.0))),
    (sdr_prospecting_a_customer, ((10, 280.0),)),
    (incident_denial, ((11, 110.0), (25, 190.0), (40, 340.0))),
    (invoice_exceeds_deal, ((7, 20.0), (15, 0.0), (23, 35.0))),
    (abrupt_suspension, ((17, 0.3), (32, 0.0), (48, 0.0))),
)
