"""Generated workloads for the benchmarks: valid events of every department, many rules in play."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

Data = Callable[[random.Random], dict[str, Any]]


def pick(*options: Any) -> Callable[[random.Random], Any]:
    return lambda rng: rng.choice(options)


def amount(rng: random.Random) -> str:
    return f"{rng.randint(100, 20000)}.{rng.randint(0, 99):02d}"


KINDS: list[tuple[str, int, Data]] = [  # (type, weight, data)
    ("marketing.campaign.sent", 12, lambda r: {"campaignId": f"C-{r.randrange(40)}", "channel": pick("email", "ads", "webinar")(r),
                                               "intent": pick("acquisition", "nurture", "upsell", "retention", "supportive")(r)}),
    ("marketing.engagement.recorded", 8, lambda r: {"campaignId": f"C-{r.randrange(40)}", "channel": "email", "action": pick("open", "click")(r)}),
    ("marketing.nps.responded", 3, lambda r: {"score": r.randint(0, 10)}),
    ("marketing.consent.changed", 1, lambda r: {"channel": pick("email", "phone", "all")(r), "granted": r.random() < 0.5}),
    ("sales.outreach.sent", 10, lambda r: {"channel": pick("email", "call")(r),
                                           "intent": pick("prospecting", "follow_up", "upsell", "renewal", "check_in")(r)}),
    ("sales.opportunity.opened", 2, lambda r: {"opportunityId": f"O-{r.randrange(5)}", "kind": pick("new", "expansion", "renewal")(r),
                                               "amount": amount(r), "currency": "EUR"}),
    ("sales.opportunity.won", 1, lambda r: {"opportunityId": f"O-{r.randrange(5)}", "amount": amount(r), "currency": "EUR"}),
    ("product.usage.recorded", 10, lambda r: {"activeUsers": r.randint(1, 90), "seats": 100}),
    ("product.feature.adopted", 3, lambda r: {"feature": pick("export", "sso", "api")(r)}),
    ("product.incident.started", 1, lambda r: {"incidentId": f"INC-{r.randrange(5)}", "severity": "sev2"}),
    ("product.status.published", 1, lambda r: {"incidentId": f"INC-{r.randrange(5)}", "impact": pick("none", "degraded")(r)}),
    ("product.incident.resolved", 1, lambda r: {"incidentId": f"INC-{r.randrange(5)}"}),
    ("support.ticket.opened", 6, lambda r: {"ticketId": f"T-{r.randrange(30)}", "priority": pick("low", "normal", "high", "urgent")(r)}),
    ("support.ticket.escalated", 1, lambda r: {"ticketId": f"T-{r.randrange(30)}"}),
    ("support.ticket.resolved", 5, lambda r: {"ticketId": f"T-{r.randrange(30)}"}),
    ("support.csat.recorded", 2, lambda r: {"score": r.randint(1, 5)}),
    ("support.contact.made", 3, lambda r: {"channel": pick("email", "call")(r)}),
    ("billing.subscription.changed", 1, lambda r: {"change": pick("start", "renew", "upgrade", "cancel")(r), "plan": "pro",
                                                   "mrr": amount(r), "currency": "EUR"}),
    ("billing.invoice.issued", 4, lambda r: {"invoiceId": f"I-{r.randrange(12)}", "amount": amount(r), "currency": "EUR",
                                             "dueAt": "2026-04-30", "opportunityId": f"O-{r.randrange(5)}"}),
    ("billing.payment.received", 4, lambda r: {"invoiceId": f"I-{r.randrange(12)}", "amount": amount(r), "currency": "EUR"}),
    ("billing.payment.failed", 1, lambda r: {"invoiceId": f"I-{r.randrange(12)}"}),
    ("billing.dunning.sent", 1, lambda r: {"invoiceId": f"I-{r.randrange(12)}", "level": r.randint(1, 3)}),
    ("billing.payment_plan.granted", 1, lambda r: {"until": "2026-06-30"}),
    ("billing.credit.issued", 1, lambda r: {"amount": amount(r), "currency": "EUR"}),
]
TYPES = [kind for kind, _, _ in KINDS]
WEIGHTS = [weight for _, weight, _ in KINDS]
DATA = {kind: data for kind, _, data in KINDS}


ENTITY_KEYS = ("ticketId", "opportunityId", "incidentId", "invoiceId", "campaignId")
# With entity_days, an opening is followed by its closing (type, key, days later at most), as real tickets,
# incidents, invoices (paid in full) and deals end; those closings are not drawn at random.
CLOSINGS = {
    "support.ticket.opened": ("support.ticket.resolved", "ticketId", 10),
    "product.incident.started": ("product.incident.resolved", "incidentId", 2),
    "billing.invoice.issued": ("billing.payment.received", "invoiceId", 30),  # paid in full
    "sales.opportunity.opened": ("sales.opportunity.won", "opportunityId", 45),
}
CLOSING_TYPES = {closing for closing, _, _ in CLOSINGS.values()}


def events(count: int, accounts: int, *, seed: int, run: str, end: datetime | None = None,
           days: int = 365, account_prefix: str | None = None, entity_days: int | None = None) -> list[dict[str, Any]]:
    """`count` events over `accounts` accounts and the `days` before `end` (now by default).

    Event ids start with `run`; account ids with `account_prefix` (by default `run` too).
    Tickets, opportunities, incidents, invoices and campaigns come from small pools of
    ids, each event of a type drawn at random. With `entity_days`, as over years of
    history: each pool is new every that many days (ticket T-3 of one period is not that
    of the next), and a ticket, an incident, an invoice or an opportunity is closed some
    days after it opens (resolved, paid in full, won) rather than by a closing drawn at
    random, which seldom meets an open item: open items would pile up for good.
    """
    prefix = account_prefix or run
    rng = random.Random(seed)
    last = end or datetime.now(timezone.utc)
    if entity_days is None:
        kinds = rng.choices(TYPES, WEIGHTS, k=count)
        return [
            {
                "id": f"{run}-{n}", "source": "bench", "type": kind,
                "accountId": f"{prefix}-account-{rng.randrange(accounts)}", "contactId": f"c-{rng.randrange(5)}",
                "occurredAt": (last - timedelta(seconds=rng.randrange(days * 86400))).isoformat(),
                "data": DATA[kind](rng),
            }
            for n, kind in enumerate(kinds)
        ]
    made: list[dict[str, Any]] = []
    while len(made) < count:
        kind = rng.choices(TYPES, WEIGHTS)[0]
        if kind in CLOSING_TYPES:
            continue
        ago = rng.randrange(days * 86400)
        data = DATA[kind](rng)
        account = f"{prefix}-account-{rng.randrange(accounts)}"
        period = ago // (entity_days * 86400)
        data = {key: f"{value}.{period}" if key in ENTITY_KEYS else value for key, value in data.items()}
        made.append(event(run, len(made), kind, account, rng, last - timedelta(seconds=ago), data))
        if kind in CLOSINGS and len(made) < count:
            closing, key, within = CLOSINGS[kind]
            later = last - timedelta(seconds=ago) + timedelta(seconds=rng.randrange(3600, within * 86400))
            if later < last:
                closed = {**DATA[closing](rng), key: data[key]}
                if kind == "billing.invoice.issued":
                    closed["amount"] = data["amount"]
                made.append(event(run, len(made), closing, account, rng, later, closed))
    return made


def event(run: str, n: int, kind: str, account: str, rng: random.Random, at: datetime,
          data: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{run}-{n}", "source": "bench", "type": kind, "accountId": account,
            "contactId": f"c-{rng.randrange(5)}", "occurredAt": at.isoformat(), "data": data}
