"""How long each fact can still change an account's view: the working set a view `asOf` reads.

The view at T is computed from the facts that had happened by T, and most of them stop
mattering after a while: a touch older than every window, a ticket closed for good, a
usage record superseded. `expiries` gives each fact the moment from which it can no
longer change the view at any later T (None: it may always matter), so that

    view(facts with occurredAt <= T < expiry, T) == view(facts with occurredAt <= T, T)

for every T (property-tested in `tests/unit/view/test_relevance.py`). A view asked for
as of a past moment then reads the facts relevant at that moment, not the account's
whole history. An expiry depends on later facts (a ticket is closed for good only when
nothing reopens it), so the projector computes them again whenever an account changes.

What each fact is kept for, in the view's own terms (every rule errs on keeping):
- every fact: the department windows (90 days) and its department's last touch (until
  the next fact of that department); the account's first fact always (prospect since);
- names, consent, engagement, usage records, follow-ups: until the next one that
  supersedes them; NPS and CSAT responses: 365 days;
- tickets, opportunities, incidents, invoices with their payments: until the last fact
  of the item, when it ends closed (paid); else always;
- suspensions and restorations: until the next restoration; payment plans: until their end;
- subscription changes and won deals: always (the lifecycle's customer spells);
- usage records also while they start the current run of low usage, or are the record
  28 days before the latest one (the usage trend);
and then as long again as the health trend looks back (a week per point).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from projections.facts import Fact
from projections.view import health, lifecycle
from projections.view.satisfaction import FOLLOW_UP_INTENTS

WINDOW = timedelta(days=90)  # the longest department window, and support's and billing's counts
YEAR = timedelta(days=365)  # NPS and CSAT
USAGE_TREND = timedelta(days=28)
FOREVER = None

Until = datetime | None  # None: forever


class Keeper:
    """The latest moment each fact is needed until, raised by each reason to keep it."""

    def __init__(self, facts: Sequence[Fact]) -> None:
        self.until: dict[int, Until] = {fact.position: fact.occurred_at + WINDOW for fact in facts}

    def keep(self, fact: Fact, until: Until) -> None:
        current = self.until[fact.position]
        if current is not None:
            self.until[fact.position] = None if until is None else max(current, until)

    def keep_each_until_next(self, facts: Sequence[Fact]) -> None:
        """Each fact until the next one (which supersedes it); the last one always."""
        for index, fact in enumerate(facts):
            self.keep(fact, facts[index + 1].occurred_at if index + 1 < len(facts) else FOREVER)

    def keep_item(self, facts: Sequence[Fact], closed: bool) -> None:
        """An item's facts until its last one if it ends closed, else always; and all as long as any.

        An item is judged from all its facts together: an opening kept for another reason
        (the account's first fact) without the resolution that followed would reopen it.
        """
        self.keep(facts[-1], facts[-1].occurred_at if closed else FOREVER)
        end = self.latest(facts)
        for fact in facts:
            self.keep(fact, end)

    def keep_ender(self, facts: Sequence[Fact], ends: Callable[[Fact], bool]) -> None:
        """Each fact that `ends` what came before it (a restoration ends a suspension) is kept as
        long as any fact since the previous one: otherwise what it ended would seem to go on."""
        since: list[Fact] = []
        for fact in facts:
            if ends(fact):
                if since:
                    self.keep(fact, self.latest(since))
                since = []
            else:
                since.append(fact)

    def latest(self, facts: Iterable[Fact]) -> Until:
        untils = [self.until[fact.position] for fact in facts]
        return None if None in untils else max(untils)  # type: ignore[type-var]


def expiries(facts: Sequence[Fact], trend_weeks: int = 12) -> dict[int, datetime | None]:
    """For each fact (by position), when it stops mattering to the view; `facts` in `occurredAt` order."""
    keeper = Keeper(facts)
    if facts:
        keeper.keep(facts[0], FOREVER)
    by_type: dict[str, list[Fact]] = defaultdict(list)
    by_department: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_type[fact.type].append(fact)
        by_department[fact.department].append(fact)
    for department_facts in by_department.values():
        keeper.keep_each_until_next(department_facts)
    keeper.keep_each_until_next([fact for fact in by_type["sales.account.updated"] if fact.data.get("name")])
    for group in grouped(by_type["marketing.consent.changed"], lambda fact: (fact.contact_id, str(fact.data["channel"]))):
        keeper.keep_each_until_next(group)
    keeper.keep_each_until_next(by_type["marketing.engagement.recorded"])
    keeper.keep_each_until_next(merged(by_type, "support.contact.made", "sales.outreach.sent", keep=is_follow_up))
    for fact in (*by_type["marketing.nps.responded"], *by_type["support.csat.recorded"]):
        keeper.keep(fact, fact.occurred_at + YEAR)
    for fact in (*by_type["billing.subscription.changed"], *by_type["sales.opportunity.won"]):
        keeper.keep(fact, FOREVER)
    for plan in by_type["billing.payment_plan.granted"]:
        keeper.keep(plan, plan.instant("until"))
    keep_items(keeper, by_type)
    keep_suspensions(keeper, merged(by_type, "billing.service.suspended", "billing.service.restored"))
    keep_usage(keeper, by_type["product.usage.recorded"])
    slack = timedelta(weeks=max(trend_weeks, 0), hours=1)  # the trend's points look back up to this far
    return {position: None if until is None else until + slack for position, until in keeper.until.items()}


def keep_items(keeper: Keeper, by_type: dict[str, list[Fact]]) -> None:
    """Tickets, opportunities, incidents and invoices: their facts while the item may be open."""
    tickets = merged(by_type, *(f"support.ticket.{kind}" for kind in ("opened", "reopened", "escalated", "resolved")))
    for group in grouped(tickets, lambda fact: str(fact.data["ticketId"])):
        keeper.keep_item(group, closed=not ticket_open(group))
    opportunities = merged(by_type, *(f"sales.opportunity.{kind}" for kind in ("opened", "stage_changed", "won", "lost")))
    for group in grouped(opportunities, lambda fact: str(fact.data["opportunityId"])):
        keeper.keep_item(group, closed=not opportunity_open(group))
    incidents = merged(by_type, "product.incident.started", "product.incident.resolved")
    for group in grouped(incidents, lambda fact: str(fact.data["incidentId"])):
        keeper.keep_item(group, closed=not incident_open(group))
    invoices = merged(by_type, "billing.invoice.issued", "billing.payment.received")
    for group in grouped(invoices, lambda fact: str(fact.data["invoiceId"])):
        keeper.keep_item(group, closed=not invoice_unpaid(group))


def ticket_open(facts: list[Fact]) -> bool:
    """As `open_items.open_tickets` folds them."""
    is_open = False
    for fact in facts:
        kind = fact.type.rsplit(".", 1)[1]
        if kind in ("opened", "reopened"):
            is_open = True
        elif kind == "resolved":
            is_open = False
    return is_open


def opportunity_open(facts: list[Fact]) -> bool:
    """As `open_items.open_opportunities` folds them: opened and neither won nor lost since."""
    is_open = False
    for fact in facts:
        if fact.type == "sales.opportunity.opened":
            is_open = True
        elif fact.type in ("sales.opportunity.won", "sales.opportunity.lost"):
            is_open = False
    return is_open


def incident_open(facts: list[Fact]) -> bool:
    """As `open_items.open_incidents`: the latest start is not followed by a resolution."""
    started = [fact for fact in facts if fact.type == "product.incident.started"]
    resolved = [fact for fact in facts if fact.type == "product.incident.resolved"]
    return bool(started) and (not resolved or resolved[-1].occurred_at < started[-1].occurred_at)


def invoice_unpaid(facts: list[Fact]) -> bool:
    """As `open_items.unpaid_invoices`: the latest issue's amount exceeds every payment received."""
    issued = [fact for fact in facts if fact.type == "billing.invoice.issued"]
    paid = sum((fact.amount() for fact in facts if fact.type == "billing.payment.received"), Decimal(0))
    return bool(issued) and issued[-1].amount() - paid > 0


def keep_suspensions(keeper: Keeper, facts: list[Fact]) -> None:
    """A suspension (or restoration) matters until the next restoration ends whatever came before."""
    next_restoration: Until = FOREVER
    for fact in reversed(facts):
        keeper.keep(fact, next_restoration)
        if fact.type == "billing.service.restored":
            next_restoration = fact.occurred_at


def keep_usage(keeper: Keeper, records: list[Fact]) -> None:
    """Usage records: the latest, the start of the current low run, and the one the trend compares with."""
    keeper.keep_each_until_next(records)
    reset: Until = FOREVER  # the next record that ends a run of low usage
    for record in reversed(records):
        if is_low(record):
            keeper.keep(record, reset)
        else:
            reset = record.occurred_at
    seated = [record for record in records if health.usage_ratio(record) is not None]
    keeper.keep_each_until_next(seated)  # the latest with seats is what the usage component reads
    for index, record in enumerate(seated):
        if not any(each.occurred_at >= record.occurred_at + USAGE_TREND for each in seated[index + 1:]):
            continue  # no latest record is 28 days after it: never the one compared with
        following = seated[index + 1] if index + 1 < len(seated) else None
        # no longer the comparison once a record 28 days after the next one is the latest
        later = following and next((each for each in seated[index + 1:]
                                    if each.occurred_at >= following.occurred_at + USAGE_TREND), None)
        keeper.keep(record, later.occurred_at if later else FOREVER)
    keeper.keep_ender(records, lambda record: not is_low(record))


def is_low(record: Fact) -> bool:
    """As the lifecycle's low-usage signal reads a record: below 30 % of the seats in use."""
    ratio = lifecycle.usage_ratio(record)
    return ratio is not None and ratio < lifecycle.LOW_USAGE


def is_follow_up(fact: Fact) -> bool:
    return fact.type == "support.contact.made" or fact.data.get("intent") in FOLLOW_UP_INTENTS


def merged(by_type: dict[str, list[Fact]], *types: str, keep: object = None) -> list[Fact]:
    facts = sorted((fact for kind in types for fact in by_type.get(kind, ())), key=lambda fact: fact.order)
    return [fact for fact in facts if keep is None or keep(fact)]  # type: ignore[operator]


def grouped(facts: Iterable[Fact], key: object) -> list[list[Fact]]:
    groups: dict[object, list[Fact]] = defaultdict(list)
    for fact in facts:
        groups[key(fact)].append(fact)  # type: ignore[operator]
    return list(groups.values())


def relevant_at(facts: Sequence[Fact], expiry: dict[int, datetime | None], as_of: datetime) -> list[Fact]:
    """The facts that had happened by `as_of` and still matter then (the working set of the view at `as_of`)."""
    return [fact for fact in facts
            if fact.occurred_at <= as_of and ((until := expiry.get(fact.position)) is None or until > as_of)]
