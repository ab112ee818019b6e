"""The ordinary history of an account's year, told around its planted contradictions."""

from __future__ import annotations

import random
from decimal import Decimal

from service.demo.contradictions import PLANTS
from service.demo.story import (
    CAMPAIGNS,
    COMPANIES,
    COUNTRIES,
    CUSTOMER_INTENTS,
    ENGAGEMENT,
    FEATURES,
    HELP,
    HORIZON,
    INCIDENTS,
    INDUSTRIES,
    KINDS,
    SUBJECTS,
    TIERS,
    At,
    Story,
    campaign_id,
    collect,
    issue,
    message,
    money,
    nps,
    pay,
)


def tell(index: int, seed: int) -> Story:
    """One account's year: its contradictions first, then the ordinary history around them."""
    s = begin(index, seed)
    for plant, places in PLANTS:
        for day in (day for account, day in places if account == index):
            plant(s, day)
    for chapter in (profile, marketing, sales, support, product, billing):
        chapter(s)
    return s


def begin(index: int, seed: int) -> Story:
    """The account's profile and the dates of its life cycle."""
    rng = random.Random(f"cx360-demo-{seed}-{index}")
    slug = COMPANIES[index] if index < len(COMPANIES) else f"acct-{index:03d}"
    country, currency = rng.choice(COUNTRIES)
    tier = rng.choice(("enterprise", "mid-market", "mid-market", "smb", "smb"))
    contacts = [f"c-{slug}-{k}" for k in range(1, rng.randint(2, 4) + 1)]
    s = Story(index, slug, KINDS[index % len(KINDS)], rng, country, currency, tier,
              rng.randint(*TIERS[tier][:2]), contacts)
    if s.kind == "new":
        s.won, s.discount = rng.uniform(70, 200), rng.choice((0, 5, 10, 15))
        s.start = s.won + rng.uniform(1, 5)
    elif s.kind != "prospect":
        s.start = rng.uniform(0.01, 20)
    if s.kind == "churn":
        s.cancel = rng.uniform(180, 300)
    if s.kind == "existing" and rng.random() < 0.4:
        s.upgrade = rng.uniform(120, 230)
    return s


def profile(s: Story) -> None:
    """The CRM record, first of all; some contacts (never the first, the champion) opt out of a channel."""
    name = s.slug.replace("-", " ").title() if s.index < len(COMPANIES) else f"Account {s.index:03d}"
    record = {"name": name, "industry": s.rng.choice(INDUSTRIES), "tier": s.tier, "country": s.country, "owner": s.rep}
    s.add(s.rng.uniform(0.0, 0.02), "sales.account.updated", record, actor=s.rep)
    for contact in s.contacts[1:]:
        if s.rng.random() < 0.35:
            channel = s.rng.choice(("email", "sms", "phone"))
            s.add(s.rng.uniform(5, 60), "marketing.consent.changed", {"channel": channel, "granted": False}, contact)
        elif s.rng.random() < 0.4:
            s.add(s.rng.uniform(1, 40), "marketing.consent.changed", {"channel": "email", "granted": True}, contact)


def marketing(s: Story) -> None:
    """Two NPS waves for customers, a campaign every few weeks, a retention push before a churn."""
    for wave, day in (("nps-wave-1", 95.0), ("nps-wave-2", 275.0)):
        for contact in s.contacts[:2]:
            t = day + s.rng.uniform(0, 8)
            if s.customer(t) and s.free(t - 3, t + 10) and s.rng.random() < 0.7:
                respond(s, t, wave, contact)
    t = ((s.start or 0.0) if s.kind in ("existing", "churn") else 0.0) + s.rng.uniform(2, 12)
    while t < HORIZON:
        campaign(s, t, s.rng.choice(CUSTOMER_INTENTS if s.customer(t) else ("acquisition", "nurture")))
        t += s.rng.uniform(14, 28)
    if s.cancel is not None:
        campaign(s, s.cancel - s.rng.uniform(20, 35), "retention")


def respond(s: Story, t: float, wave: str, contact: str) -> None:
    """An NPS response; a detractor is called back within days (and never answered just before an expansion)."""
    score = s.rng.choice((10, 10, 9, 9, 9, 8, 8, 7, 6, 5, 3))
    if s.upgrade is not None and t <= s.upgrade - 30 <= t + 36:
        score = max(score, 7)
    comment = "Love it." if score >= 9 else "Solid, some rough edges." if score >= 7 else "Outages, slow support."
    nps(s, t, score, contact, comment, wave)
    if score <= 6:
        message(s, t + s.rng.uniform(0.5, 4), "support", "call", "detractor_follow_up", contact)


def campaign(s: Story, t: float, intent: str) -> None:
    """A campaign to a contact who allows its channel: no upsell after a detractor, no help next to dunning."""
    if intent == "upsell" and s.has("marketing.nps.responded", "score", range(7), t - 31, t):
        intent = "nurture"
    collections = s.find("billing.dunning.sent", "billing.service.suspended", lo=t - 15, hi=t + 15)
    if intent in HELP and (collections or not s.free(t, t)):
        intent = "announcement"
    channel = s.rng.choice(CAMPAIGNS[intent][1])
    contact = s.contact_for(t, channel)
    if contact and message(s, t, "marketing", channel, intent, contact, optional=True) and s.rng.random() < 0.5:
        data = {"campaignId": campaign_id(intent, t), "channel": channel, "action": ENGAGEMENT[channel]}
        s.add(t + s.rng.uniform(0.05, 2), "marketing.engagement.recorded", data, contact)


def sales(s: Story) -> None:
    """The deal that makes a customer; check-ins each quarter, maybe an expansion, the renewal."""
    if s.kind in ("new", "prospect"):
        pursue(s)
    if s.start is None:
        return
    t = s.start + s.rng.uniform(20, 40)
    while t < s.stop:
        channel = s.rng.choice(("email", "meeting"))
        if s.free(t, t) and (contact := s.contact_for(t, channel)):
            message(s, t, "sales", channel, "check_in", contact, optional=True)
        t += s.rng.uniform(80, 100)
    if s.upgrade is not None:
        expansion(s)
    if s.kind in ("existing", "churn"):
        renewal(s)


def opportunity(s: Story, suffix: str, kind: str, opened: float, amount: Decimal, stages: tuple[str, ...]) -> str:
    """A deal opened and moved through its stages, eight days apart; its id."""
    opp = f"OPP-{s.slug}-{suffix}"
    deal = {"opportunityId": opp, "kind": kind, "amount": money(amount), "currency": s.currency}
    s.add(opened, "sales.opportunity.opened", deal, s.contacts[0], s.rep)
    for k, stage in enumerate(stages, 1):
        s.add(opened + 8 * k, "sales.opportunity.stage_changed", {"opportunityId": opp, "stage": stage}, actor=s.rep)
    return opp


def close(s: Story, t: float, opp: str, amount: Decimal | None, reason: str = "") -> None:
    """The deal won for the amount, or (no amount) lost for the reason."""
    if amount is None:
        s.add(t, "sales.opportunity.lost", {"opportunityId": opp, "reason": reason}, actor=s.rep)
    else:
        won = {"opportunityId": opp, "amount": money(amount), "currency": s.currency}
        s.add(t, "sales.opportunity.won", won, s.contacts[0], s.rep)


def pursue(s: Story) -> None:
    """Prospecting, then a new-business deal: won by a new customer, lost or still open for a prospect."""
    opened = s.won - s.rng.uniform(40, 65) if s.won is not None else s.rng.uniform(60, 250)
    s.trial = opened + 3
    cadence(s, max(1.0, opened - 20), "prospecting", ("email", "linkedin", "call", "email"))
    opp = opportunity(s, "1", "new", opened, s.mrr(0) * 12, ("discovery", "demo", "proposal", "negotiation"))
    if s.discount:
        offer = {"opportunityId": opp, "percent": s.discount, "validUntil": At(opened + 60)}
        s.add(opened + 33, "sales.discount.offered", offer, actor=s.rep)
    if s.won is not None:
        close(s, s.won, opp, s.deal())
    elif s.rng.random() < 0.6:
        close(s, opened + s.rng.uniform(45, 70), opp, None, s.rng.choice(("budget", "no decision", "competitor")))


def cadence(s: Story, t: float, intent: str, channels: tuple[str, ...]) -> None:
    """Outreach steps three days apart, skipping a step that would be out of place."""
    for step, channel in enumerate(channels, 1):
        when = t + 3 * (step - 1)
        contact = s.contact_for(when, channel)
        if contact is not None and not s.serious_open(when, when):
            message(s, when, "sales", channel, intent, contact, optional=True, step=step)


def expansion(s: Story) -> None:
    """An upsell call and an expansion deal, won a month later; dropped near a detractor or an escalation."""
    assert s.upgrade is not None
    opened, amount = s.upgrade - 30, (s.mrr(366) - s.mrr(0)) * 12
    detractor = s.has("marketing.nps.responded", "score", range(7), opened - 36, opened)
    if detractor or s.serious_open(opened - 6, opened) or not s.free(opened - 6, opened):
        s.upgrade = None
        return
    message(s, opened - 5, "sales", "call", "upsell", s.contacts[0])
    close(s, s.upgrade - 2, opportunity(s, "X", "expansion", opened, amount, ("proposal",)), amount)


def renewal(s: Story) -> None:
    """The yearly renewal deal and its cadence: won, or lost before a churner cancels."""
    assert s.start is not None
    opened = s.cancel - 50 if s.cancel is not None else s.start + 290
    while s.serious_open(opened - 1, opened + 10):
        opened += 4
    opp = opportunity(s, "R", "renewal", opened, s.mrr(opened) * 12, ("proposal", "negotiation"))
    cadence(s, opened + 2, "renewal", ("email", "call", "meeting"))
    if s.cancel is None:
        close(s, s.start + 345, opp, s.mrr(opened) * 12)
    else:
        close(s, s.cancel - 3, opp, None, "budget cuts")


def support(s: Story) -> None:
    """An onboarding meeting for a new customer, then a ticket every few weeks."""
    if s.start is None:
        return
    if s.kind == "new" and s.free(s.start + 2, s.start + 2):
        message(s, s.start + 2, "support", "meeting", "onboarding", s.contacts[0], optional=True)
    t = s.start + s.rng.uniform(5, 40)
    while t < s.stop:
        ticket(s, t)
        t += s.rng.uniform(18, 55)


def ticket(s: Story, t: float) -> None:
    """A ticket, high or urgent only if no sales push falls while it is open; sometimes reopened; rated."""
    category, subject = s.rng.choice(SUBJECTS)
    priority = s.rng.choices(("low", "normal", "high", "urgent"), weights=(30, 45, 18, 7))[0]
    length = {"low": 4.0, "normal": 2.5, "high": 1.2, "urgent": 0.5}[priority] * s.rng.uniform(0.3, 1.6)
    reopened = s.rng.random() < 0.12
    done = t + length + (2 if reopened else 0)
    if priority in ("high", "urgent") and s.pushes(t - 1, done + 1):
        priority = "normal"
    tid, who, agent = f"T-{s.index:03d}{s.told:04d}", s.rng.choice(s.contacts), f"agent-{s.rng.randint(1, 9)}"
    s.add(t, "support.ticket.opened", {"ticketId": tid, "priority": priority, "category": category,
                                       "subject": subject}, who, agent)
    if priority in ("high", "urgent") and s.rng.random() < 0.4:
        s.add(t + length / 3, "support.ticket.escalated", {"ticketId": tid, "level": "tier-2"}, actor=agent)
    s.add(t + length, "support.ticket.resolved", {"ticketId": tid}, actor=agent)
    if reopened:
        s.add(t + length + 1, "support.ticket.reopened", {"ticketId": tid}, who)
        s.add(done, "support.ticket.resolved", {"ticketId": tid}, actor=agent)
    if s.rng.random() < 0.6:
        score = s.rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 2, 5, 8))[0]
        s.add(done + 0.3, "support.csat.recorded", {"score": score, "ticketId": tid}, who)


def product(s: Story) -> None:
    """A trial before a deal; usage every week (enterprise) or month; features; the incidents that hit it."""
    for t in ([] if s.trial is None else [s.trial + 7 * k for k in range(6)]):
        usage(s, t, 10)
    if s.start is None:
        return
    step = 7.0 if s.tier == "enterprise" else 30.0
    for k in range(1, int((s.stop - s.start) / step) + 1):
        usage(s, s.start + step * k, s.seats_at(s.start + step * k))
    for feature in s.rng.sample(FEATURES, s.rng.randint(1, 4)):
        t = s.rng.uniform(s.start + 3, s.stop)
        s.add(t, "product.feature.adopted", {"feature": feature}, s.rng.choice(s.contacts), "usage-sync")
    for day, incident, severity, hours, impact in INCIDENTS:
        if s.customer(day) and s.rng.random() < 0.5:
            outage(s, day, incident, severity, hours, impact)


def usage(s: Story, t: float, seats: int) -> None:
    data = {"activeUsers": int(seats * s.rng.uniform(0.45, 0.97)), "seats": seats, "periodEnd": At(t)}
    s.add(t, "product.usage.recorded", data, actor="usage-sync")


def outage(s: Story, day: float, incident: str, severity: str, hours: float, impact: str) -> None:
    """A platform incident as this account saw it, honestly stated; an SLA credit for a sev1 at enterprise."""
    s.add(day, "product.incident.started", {"incidentId": incident, "severity": severity}, actor="oncall")
    words = {"degraded": "Some requests are slow; we are on it.", "outage": "The service is down; we are restoring it."}
    status = {"incidentId": incident, "impact": impact, "message": words[impact]}
    s.add(day + 0.02, "product.status.published", status, actor="oncall")
    s.add(day + hours, "product.incident.resolved", {"incidentId": incident}, actor="oncall")
    if severity == "sev1" and s.tier == "enterprise":
        credit = {"amount": money(s.mrr(day) / 10), "currency": s.currency, "reason": f"SLA credit {incident}"}
        s.add(day + 5, "billing.credit.issued", credit, actor="billing-ops")


def billing(s: Story) -> None:
    """The subscription's changes, then monthly invoices, or one annual invoice for a new customer's deal."""
    if s.start is None:
        return
    renew = s.start + 347 if s.kind == "existing" else None
    for t, change in ((s.start, "start"), (s.upgrade, "upgrade"), (renew, "renew"), (s.cancel, "cancel")):
        if t is not None:
            mrr = "0.00" if change == "cancel" else money(s.mrr(t + 0.01))
            data = {"change": change, "plan": TIERS[s.tier][2], "mrr": mrr, "currency": s.currency}
            s.add(t, "billing.subscription.changed", data, actor="stripe")
    if s.kind != "new":
        monthly(s)
        return
    amount = s.mrr(0) * 12 if s.list_price_invoice else s.deal()
    invoice = issue(s, s.start + 0.3, "01", amount, 30, opportunityId=f"OPP-{s.slug}-1")
    pay(s, s.start + s.rng.uniform(8, 28), invoice, s.deal())


def monthly(s: Story) -> None:
    """An invoice every 30 days, paid within days; at most one episode of trouble, away from plants and help."""
    assert s.start is not None
    trouble = None if s.clean else s.rng.choice((None, None, "late", "late", "late", "plan", "suspension"))
    trouble_month, month, t = s.rng.randint(2, 9), 1, s.start + 0.25
    while t <= s.stop:
        amount, due = s.mrr(t), t + 14
        invoice = issue(s, t, f"{month:02d}", amount, 14)
        calm = s.free(due - 16, due + 70) and not s.has("marketing.campaign.sent", "intent", HELP, due - 16, due + 40)
        if trouble and month == trouble_month and calm:
            struggle(s, trouble, invoice, due, amount)
        else:
            pay(s, t + s.rng.uniform(1, 12), invoice, amount)
        month, t = month + 1, t + 30


def struggle(s: Story, trouble: str, invoice: str, due: float, amount: Decimal) -> None:
    """A failed payment and dunning; then paid late, paid in instalments, or suspended until paid."""
    collect(s, due + 0.1, "payment.failed", invoice, reason="card_declined")
    for level in range(1, 4 if trouble == "suspension" else 2):
        collect(s, due + 3 + 7 * (level - 1), "dunning.sent", invoice, level=level, channel="email")
    if trouble == "plan":
        plan = {"until": At(due + 66), "terms": "3 monthly instalments"}
        s.add(due + 6, "billing.payment_plan.granted", plan, actor="billing-ops")
        for k in range(3):
            pay(s, due + 25 + 20 * k, invoice, amount / 3)
    elif trouble == "suspension":
        s.add(due + 24, "billing.service.suspended", {"reason": "unpaid invoice"}, actor="dunning-bot")
        pay(s, due + 26, invoice, amount)
        s.add(due + 26.1, "billing.service.restored", {}, actor="billing-ops")
    else:
        pay(s, due + s.rng.uniform(5, 9), invoice, amount)
