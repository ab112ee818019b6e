"""The demo's vocabulary: companies, plans, campaigns, and the `Story` an account's year is told in."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.catalogue import OUTBOUND_TOUCHES

Data = dict[str, Any]
HORIZON = 365 + 1439 / 1440  # the last minute of `end`, in days after the anchor
KINDS = ("existing", "existing", "new", "existing", "prospect", "existing", "churn", "new")
COMPANIES = """acme globex initech umbrella hooli stark wayne wonka tyrell cyberdyne soylent oscorp aperture
    black-mesa vandelay dunder-mifflin pied-piper massive-dynamic gringotts monarch nakatomi weyland duff krusty
    sterling-cooper bluth oceanic virtucon rekall spacely cogswell yoyodyne buy-n-large omni octan ingen sirius
    veidt lacuna genco primatech strickland contoso fabrikam northwind tailspin zorg gekko prestige
    los-pollos""".split()
COUNTRIES = (("US", "USD"), ("GB", "GBP"), ("DE", "EUR"), ("FR", "EUR"), ("NL", "EUR"), ("US", "USD"), ("IE", "EUR"))
INDUSTRIES = ("software", "retail", "manufacturing", "healthcare", "financial services", "logistics", "media")
TIERS = {"enterprise": (150, 600, "Enterprise", "38.00"), "mid-market": (30, 140, "Growth", "29.00"),
         "smb": (5, 25, "Starter", "19.00")}  # seats from, to; plan; price per seat and month
FEATURES = ("sso", "dashboards", "api-access", "workflows", "audit-log", "mobile-app", "data-export", "ai-assistant")
INCIDENTS = ((47.3, "INC-2031", "sev2", 0.12, "degraded"), (121.6, "INC-2058", "sev1", 0.2, "outage"),
             (203.4, "INC-2090", "sev3", 0.08, "degraded"), (288.7, "INC-2117", "sev2", 0.15, "degraded"))
SUBJECTS = (("login", "Users cannot sign in with SSO"), ("billing", "Question about our last invoice"),
            ("bug", "Dashboard shows stale numbers"), ("how-to", "How do I export a report?"),
            ("integration", "CRM sync fails every night"), ("performance", "Pages load slowly"))
CAMPAIGNS = {"acquisition": ("Free trial: see it in action", ("email", "ads", "social")),
             "nurture": ("Monthly product digest", ("email", "webinar", "social")),
             "upsell": ("Unlock Analytics Pro", ("email", "in_app")),
             "announcement": ("What's new this quarter", ("email", "in_app", "event")),
             "supportive": ("We're here to help: meet your success team", ("email", "webinar")),
             "retention": ("Your year with us, and what's next", ("email", "direct_mail"))}
ENGAGEMENT = {"email": "open", "webinar": "attend", "event": "attend", "ads": "click", "social": "click",
              "direct_mail": "visit", "in_app": "click"}
SOURCES = {"sales": "salesforce", "support": "zendesk", "billing": "stripe"}
CONSENT_OF = {"email": "email", "call": "phone", "sms": "sms"}  # message channel: consent channel
HELP = ("supportive", "retention")
CUSTOMER_INTENTS = ("nurture", "announcement", "upsell", "nurture", "supportive")


@dataclass(frozen=True)
class At:
    """A moment inside `data` (dueAt, until, periodEnd), in days after the anchor."""

    t: float


@dataclass(frozen=True)
class Draft:
    n: int  # the event's number in its account's story, which makes its id
    t: float
    type: str
    data: Data
    contact: str | None
    actor: str | None


@dataclass
class Story:
    """One account's year as it is told: its profile, the dates of its life cycle, the drafts so far."""

    index: int
    slug: str
    kind: str  # existing, new, churn or prospect
    rng: random.Random
    country: str
    currency: str
    tier: str
    seats: int
    contacts: list[str]
    start: float | None = None  # of the subscription
    won: float | None = None  # a new customer's first deal
    cancel: float | None = None
    upgrade: float | None = None
    trial: float | None = None
    discount: int = 0
    list_price_invoice: bool = False  # invoice-exceeds-deal: billing ignores the discount
    clean: bool = False  # abrupt-suspension: no failed payment but the planted one
    drafts: list[Draft] = field(default_factory=list)
    reserved: list[tuple[float, float]] = field(default_factory=list)
    told: int = 0

    @property
    def rep(self) -> str:
        return f"rep-{101 + self.index % 9}"

    @property
    def stop(self) -> float:
        return min(self.cancel or HORIZON, HORIZON)

    def add(self, t: float, type: str, data: Data, contact: str | None = None, actor: str | None = None) -> None:
        """Tell one event; one that would happen after `end` is counted but left out."""
        self.told += 1
        if 0 <= t <= HORIZON:
            self.drafts.append(Draft(self.told, t, type, data, contact, actor))

    def touch(self, t: float, type: str, data: Data, contact: str | None, actor: str) -> bool:
        """An optional outbound touch, left out where the account is already contacted a lot."""
        crowded = len(self.find(*OUTBOUND_TOUCHES, lo=t - 7, hi=t + 7)) >= 4
        if not crowded:
            self.add(t, type, data, contact, actor)
        return not crowded

    def find(self, *types: str, lo: float = 0, hi: float = HORIZON) -> list[Draft]:
        return [d for d in self.drafts if d.type in types and lo <= d.t <= hi]

    def has(self, type: str, key: str, values: Any, lo: float, hi: float) -> bool:
        return any(d.data[key] in values for d in self.find(type, lo=lo, hi=hi))

    def free(self, lo: float, hi: float) -> bool:
        """No planted contradiction near: ordinary but risky events may happen in [lo, hi]."""
        return all(hi < r_lo or lo > r_hi for r_lo, r_hi in self.reserved)

    def customer(self, t: float) -> bool:
        """rules.md's customer: a live subscription, or a deal won within the year."""
        subscribed = self.start is not None and self.start < t and (self.cancel is None or t <= self.cancel)
        return subscribed or (self.won is not None and self.won < t)

    def seats_at(self, t: float) -> int:
        return self.seats * 13 // 10 if self.upgrade is not None and t >= self.upgrade else self.seats

    def mrr(self, t: float) -> Decimal:
        return Decimal(TIERS[self.tier][3]) * self.seats_at(t)

    def deal(self) -> Decimal:
        return self.mrr(0) * 12 * (100 - self.discount) / 100

    def contact_for(self, t: float, channel: str) -> str | None:
        """A contact whose latest consent change before t, for the channel or `all`, is no withdrawal."""
        changes = sorted((d for d in self.find("marketing.consent.changed", hi=t) if d.t < t
                          and d.data["channel"] in (CONSENT_OF.get(channel), "all")), key=lambda d: d.t)
        latest = {c: [d.data["granted"] for d in changes if d.contact in (c, None)][-1:] for c in self.contacts}
        allowed = [c for c in self.contacts if latest[c] != [False]]
        return self.rng.choice(allowed) if allowed else None

    def serious_open(self, lo: float, hi: float) -> bool:
        """Whether a high or urgent ticket is open at some time in [lo, hi]."""
        for opened in self.find("support.ticket.opened", hi=hi):
            ends = [d.t for d in self.find("support.ticket.resolved", lo=opened.t, hi=366)
                    if d.data["ticketId"] == opened.data["ticketId"]]
            if opened.data["priority"] in ("high", "urgent") and max(ends, default=366) >= lo:
                return True
        return False

    def pushes(self, lo: float, hi: float) -> bool:
        """Whether sales pushes (prospecting, upsell or renewal; an expansion or renewal deal) in [lo, hi]."""
        return self.has("sales.outreach.sent", "intent", ("prospecting", "upsell", "renewal"), lo, hi) or self.has(
            "sales.opportunity.opened", "kind", ("expansion", "renewal"), lo, hi)


def money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def campaign_id(intent: str, t: float) -> str:
    return f"cmp-{intent}-{int(t) // 7:02d}"


def message(s: Story, t: float, department: str, channel: str, intent: str, contact: str | None,
            optional: bool = False, step: int = 1) -> bool:
    """A campaign, a sales outreach or a support contact: an outbound touch."""
    data: Data
    if department == "marketing":
        type, actor, data = "marketing.campaign.sent", "marketing-automation", {
            "campaignId": campaign_id(intent, t), "channel": channel, "intent": intent, "name": CAMPAIGNS[intent][0]}
    elif department == "sales":
        type, actor = "sales.outreach.sent", s.rep
        data = {"channel": channel, "intent": intent, "cadenceStep": step}
    else:
        type, actor, data = "support.contact.made", "csm-1", {"channel": channel, "reason": intent}
    if optional:
        return s.touch(t, type, data, contact, actor)
    s.add(t, type, data, contact, actor)
    return True


def nps(s: Story, t: float, score: int, contact: str, comment: str, survey: str = "nps-pulse") -> None:
    s.add(t - s.rng.uniform(1, 3), "marketing.survey.sent", {"surveyId": survey, "kind": "nps"}, contact, "survey-bot")
    s.add(t, "marketing.nps.responded", {"score": score, "surveyId": survey, "comment": comment}, contact)


def issue(s: Story, t: float, suffix: str, amount: Decimal, due_in: float, **extra: str) -> str:
    """An invoice issued (whether and how it is paid, the caller tells); its id."""
    invoice = f"INV-{s.slug}-{suffix}"
    data = {"invoiceId": invoice, "amount": money(amount), "currency": s.currency, "dueAt": At(t + due_in), **extra}
    s.add(t, "billing.invoice.issued", data, actor="stripe")
    return invoice


def collect(s: Story, t: float, type: str, invoice: str, **data: Any) -> None:
    s.add(t, f"billing.{type}", {"invoiceId": invoice, **data}, actor="dunning-bot" if "dunning" in type else "stripe")


def pay(s: Story, t: float, invoice: str, amount: Decimal) -> None:
    collect(s, t, "payment.received", invoice, amount=money(amount), currency=s.currency)

# Planted contradictions, one function per rule of rules.md; `d` is the day it happens.
