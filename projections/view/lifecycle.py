"""The lifecycle stage of an account, by these rules checked in this order:

1. **Customer.** The definition of `rules.md` (Terms), shared with the rules
   (`projections.customers`): the account is a customer at T when its latest
   `billing.subscription.changed` before T (`occurredAt` earlier than T) is not a
   `cancel`, or it won a deal (`sales.opportunity.won`) within the `customer_won_days`
   days before T (T - customer_won_days days <= won < T; the operator threshold of
   `prospecting-a-customer`, 365 by default). So events at `as_of` itself do not count
   yet: a subscription is in force just after its change, and a won deal keeps the
   account a customer from just after the win up to `customer_won_days` days after it,
   that instant included. A *customer spell* is a stretch (start, end] in which the
   account is a customer without a break: from just after `start` up to `end`.
2. **churned**: not a customer now, but was one before. Since: when the last spell ended,
   the cancel or the moment the won deal turned `customer_won_days` days old.
3. **prospect**: never a customer. Since: the account's first event (None without events).
4. **onboarding**: a customer whose current spell began within the last 90 days
   (`as_of - 90 days < start`). Since: the start of the spell, the first subscription
   change or won deal after the last churn (or ever), so a churned account that signs
   again goes back to onboarding.
5. **at_risk**: a customer with at least one current risk signal:
   - an open serious ticket (`open_items.is_serious`: priority high or urgent, or
     escalated), a signal from its opening, or from its first escalation if only that
     makes it serious;
   - an unpaid invoice more than 30 whole days past its `dueAt`, a signal from its 31st
     day overdue;
   - the service suspended and not restored since, a signal from the first suspension
     after the last restoration;
   - a detractor (NPS 0-6) as the account's latest NPS response, within the last 90 days,
     a signal from that response;
   - the latest `product.usage.recorded` with activeUsers / seats below 0.3 (records
     without seats are no signal), a signal from the first of the latest run of low records.
   Since: the earliest of the current signals, but not before the spell began.
6. **active**: any other customer. Since: the start of the customer spell.

The `reason` is one sentence naming the facts that decided the stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.catalogue import CATALOGUE
from projections.customers import CHANGES, WINS, WON_DAYS, latest_before, reason
from projections.facts import Fact
from projections.findings import day
from projections.history import Timeline
from projections.view.model import Lifecycle
from projections.view.open_items import (
    SERIOUS_PRIORITIES,
    is_serious,
    latest_by,
    open_tickets,
    tickets,
    unpaid_invoices,
)

RESOLUTION = timedelta(microseconds=1)  # the clock's: "just after" a moment is this much later
ONBOARDING_DAYS = timedelta(days=90)
OVERDUE_DAYS = 30
DETRACTOR_MAX = 6
RECENT_NPS_DAYS = timedelta(days=90)
LOW_USAGE = Decimal("0.3")
CHANGED = {"start": "started", "upgrade": "upgraded", "downgrade": "downgraded", "renew": "renewed"}


@dataclass(frozen=True)
class Spell:
    """A stretch (start, end] in which the account was a customer; end None: it still is."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Signal:
    since: datetime
    words: str


def lifecycle(timeline: Timeline, as_of: datetime, customer_won_days: int = WON_DAYS) -> Lifecycle:
    spells = customer_spells(timeline, as_of, customer_won_days)
    if not spells:
        return prospect(timeline)
    current = spells[-1]
    if current.end is not None:
        return churned(timeline, current.start, current.end, customer_won_days)
    customer = f"a customer since {day(current.start)} ({start_words(timeline, current.start)})"
    if current.start > as_of - ONBOARDING_DAYS:
        back = f", back after churning on {day(spells[-2].end)}" if len(spells) > 1 and spells[-2].end else ""
        return Lifecycle("onboarding", current.start, f"Onboarding: {customer}, less than 90 days ago{back}.")
    signals = risk_signals(timeline, as_of)
    if signals:
        since = max(current.start, min(signal.since for signal in signals))
        words = "; ".join(signal.words for signal in signals)
        return Lifecycle("at_risk", since, f"At risk: {customer}, with {words}.")
    return Lifecycle("active", current.start, f"Active: {customer}, with no risk signal.")


def customer_spells(timeline: Timeline, as_of: datetime, won_days: int = WON_DAYS) -> list[Spell]:
    """The customer spells before `as_of`, oldest first.

    Being a customer reads the latest subscription change and the latest win before the
    moment, so it changes only just after a change, a win, or the instant a win turns
    `won_days` days old: the status is judged just after each of those before `as_of`.
    """
    changes, wins = timeline.of(CHANGES), timeline.of(WINS)
    won_span = timedelta(days=won_days)
    moments = {fact.occurred_at for fact in changes} | {fact.occurred_at + span for fact in wins
                                                         for span in (timedelta(0), won_span)}
    spells: list[Spell] = []
    for moment in sorted(moment for moment in moments if moment < as_of):
        after = moment + RESOLUTION
        customer = reason(latest_before(changes, after), latest_before(wins, after), after, won_days) is not None
        if customer and (not spells or spells[-1].end is not None):
            spells.append(Spell(moment))
        elif not customer and spells and spells[-1].end is None:
            spells[-1] = Spell(spells[-1].start, moment)
    return spells


def start_words(timeline: Timeline, start: datetime) -> str:
    """What made the account a customer at `start`: the subscription change there, else the win."""
    changes = [fact for fact in timeline.of("billing.subscription.changed") if fact.occurred_at <= start]
    if changes and changes[-1].occurred_at == start and changes[-1].data.get("change") != "cancel":
        change = str(changes[-1].data["change"])
        return f"subscription to plan {changes[-1].data['plan']} {CHANGED.get(change, change)}"
    won = [fact for fact in timeline.of("sales.opportunity.won") if fact.occurred_at == start]
    return f"deal {won[-1].data['opportunityId']} won"


def churned(timeline: Timeline, start: datetime, end: datetime, won_days: int = WON_DAYS) -> Lifecycle:
    """The last spell ended at `end` by a cancel there, else by a won deal turning `won_days` days old."""
    spell = f"ending a customer spell that began on {day(start)}"
    cancels = [fact for fact in timeline.of("billing.subscription.changed") if fact.occurred_at == end]
    if cancels and cancels[-1].data.get("change") == "cancel":
        plan = cancels[-1].data["plan"]
        reason = f"Churned: the subscription to plan {plan} was cancelled on {day(end)}, {spell}."
        return Lifecycle("churned", end, reason)
    won = [fact for fact in timeline.of(WINS) if fact.occurred_at + timedelta(days=won_days) == end][-1]
    return Lifecycle("churned", end, f"Churned: deal {won.data['opportunityId']} won on {day(won.occurred_at)} "
                                     f"aged out on {day(end)} with no subscription in force, {spell}.")


def prospect(timeline: Timeline) -> Lifecycle:
    firsts = [facts[0] for name in CATALOGUE if (facts := timeline.of(name))]
    if not firsts:
        return Lifecycle("prospect", None, "Prospect: no events yet.")
    first = min(firsts, key=lambda fact: fact.order)
    return Lifecycle("prospect", first.occurred_at, "Prospect: never a customer (no subscription and no won deal), "
                                                    f"first seen on {day(first.occurred_at)} ({first.type}).")


def risk_signals(timeline: Timeline, as_of: datetime) -> list[Signal]:
    return [*serious_tickets(timeline), *overdue_invoices(timeline, as_of), *suspension(timeline),
            *recent_detractor(timeline, as_of), *low_usage(timeline)]


def serious_tickets(timeline: Timeline) -> list[Signal]:
    held = tickets(timeline)
    signals = []
    for item in filter(is_serious, open_tickets(timeline)):
        since = item.since
        if item.priority not in SERIOUS_PRIORITIES:  # serious from its first escalation (since the id was new)
            since = max(since, held[item.id]["first_escalated_at"] or since)
        signals.append(Signal(since, item.summary))
    return signals


def overdue_invoices(timeline: Timeline, as_of: datetime) -> list[Signal]:
    issued = latest_by(timeline.of("billing.invoice.issued"), "invoiceId")
    first_day = timedelta(days=OVERDUE_DAYS + 1)
    return [Signal(issued[item.id].instant("dueAt") + first_day, item.summary)
            for item in unpaid_invoices(timeline, as_of) if (item.days_overdue or 0) > OVERDUE_DAYS]


def suspension(timeline: Timeline) -> list[Signal]:
    suspended: Fact | None = None
    for fact in timeline.of("billing.service.suspended", "billing.service.restored"):
        if fact.type == "billing.service.restored":
            suspended = None
        elif suspended is None:
            suspended = fact
    return [] if suspended is None else [Signal(suspended.occurred_at,
                                                f"the service suspended since {day(suspended.occurred_at)}")]


def recent_detractor(timeline: Timeline, as_of: datetime) -> list[Signal]:
    responses = timeline.of("marketing.nps.responded")
    if not responses or responses[-1].occurred_at <= as_of - RECENT_NPS_DAYS:
        return []
    latest = responses[-1]
    if int(latest.data["score"]) > DETRACTOR_MAX:
        return []
    who = f" from contact {latest.contact_id}" if latest.contact_id else ""
    return [Signal(latest.occurred_at,
                   f"a detractor NPS score of {latest.data['score']}{who} on {day(latest.occurred_at)}")]


def low_usage(timeline: Timeline) -> list[Signal]:
    records = timeline.of("product.usage.recorded")
    first_low: Fact | None = None
    for fact in records:
        ratio = usage_ratio(fact)
        first_low = (first_low or fact) if ratio is not None and ratio < LOW_USAGE else None
    if first_low is None:
        return []
    latest = records[-1]
    percent = round(100 * (usage_ratio(latest) or 0))
    return [Signal(first_low.occurred_at, f"{latest.data['activeUsers']} of {latest.data['seats']} seats "
                                          f"active ({percent}%) on {day(latest.occurred_at)}")]


def usage_ratio(fact: Fact) -> Decimal | None:
    """Active users per seat, None without seats."""
    seats = fact.amount("seats")
    return fact.amount("activeUsers") / seats if seats > 0 else None
