"""`abrupt-suspension`: a long-standing, clean customer is cut off days into arrears (HIGH, billing and sales).

For a `billing.service.suspended` at s, the current unpaid episode starts at the
earliest `billing.payment.failed` or `billing.dunning.sent` at or before s for an
invoice with no `billing.payment.received` at or before s (no such event: no finding).
The suspension is abrupt when s - episode start < 15 days (strictly), the tenure
(from the earliest `billing.subscription.changed` with change `start` or
`sales.opportunity.won`) began at least 365 days before s, and there was no
`billing.payment.failed` in [episode start - 365 days, episode start).

Key: the suspension. Detected at s; closes at the first `billing.service.restored`
at or after s. A restore at s itself means the finding never held: there is none.

Item horizon (this project's choice, as the view's invoices, `projections.item_horizon`):
an invoice paid, with no payment, failure or dunning of its id for more than a year, is
forgotten; a later failure or dunning of that id is of a new invoice, unpaid until paid.
Without it, every invoice id the account ever paid stays in the fold's state.

As a fold (`Arrears`), a suspension is judged once every fact of its instant is in (a
payment, a failure or a restore at s counts, whatever their order); the state keeps
only what that judgement of a suspension still to come can read, and the findings not
restored yet. A restore closes them for good (their evidence was complete when judged):
`take_final` gives them up at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from operator import attrgetter

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.fold import Fold
from projections.history import Timeline
from projections.item_horizon import forgotten
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "abrupt-suspension"


@dataclass(frozen=True)
class Thresholds:
    grace_days: int = 15
    min_tenure_days: int = 365
    clean_days: int = 365


INVOICE_EVENTS = ("billing.payment.received", "billing.payment.failed", "billing.dunning.sent")


def episode_start(timeline: Timeline, suspended_at: datetime) -> Fact | None:
    """The first failure or dunning, by the suspension, of an invoice still unpaid at the suspension.

    Each invoice id's events by then, in order: an id paid and quiet for more than the item horizon is forgotten
    at its next event (of an instant), which begins a new invoice."""
    invoices: dict[str, tuple[bool, datetime, Fact | None]] = {}  # id -> (paid, last event, first failure or dunning)
    for at, simultaneous in groupby(timeline.of(*INVOICE_EVENTS), key=attrgetter("occurred_at")):
        if at > suspended_at:
            break
        for fact in simultaneous:
            invoice = str(fact.data["invoiceId"])
            paid, last_at, first = invoices.get(invoice, (False, at, None))
            if paid and last_at != at and forgotten(last_at, at):
                paid, first = False, None  # a new invoice under the old id
            if fact.type == "billing.payment.received":
                paid = True
            elif first is None:
                first = fact
            invoices[invoice] = (paid, at, first)
    unpaid = [first for paid, _, first in invoices.values() if not paid and first is not None]
    return min(unpaid, key=lambda each: each.order, default=None)


def tenure_start(timeline: Timeline) -> Fact | None:
    """The earliest subscription start or won deal: when the account became a customer."""
    for fact in timeline.of("billing.subscription.changed", "sales.opportunity.won"):
        if fact.type == "sales.opportunity.won" or fact.data.get("change") == "start":
            return fact
    return None


def is_abrupt(timeline: Timeline, suspension: Fact, first: Fact, tenure: Fact, thresholds: Thresholds) -> bool:
    suspended_at, unpaid_since = suspension.occurred_at, first.occurred_at
    clean_since = unpaid_since - timedelta(days=thresholds.clean_days)
    return (
        suspended_at - unpaid_since < timedelta(days=thresholds.grace_days)
        and tenure.occurred_at <= suspended_at - timedelta(days=thresholds.min_tenure_days)
        and not any(clean_since <= fact.occurred_at < unpaid_since for fact in timeline.of("billing.payment.failed"))
    )


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    tenure = tenure_start(timeline)
    for suspension in timeline.of("billing.service.suspended"):
        first = episode_start(timeline, suspension.occurred_at)
        if tenure is None or first is None or not is_abrupt(timeline, suspension, first, tenure, thresholds):
            continue
        restored = restoration(timeline, suspension)
        if held(suspension.occurred_at, restored):
            yield finding_of(timeline.account_id, suspension, first, tenure, thresholds, moment.resolved_at(restored))


def restoration(timeline: Timeline, suspension: Fact) -> datetime | None:
    """When the service was first restored at or after the suspension (a restore before it ended an earlier one)."""
    return next((each.occurred_at for each in timeline.of("billing.service.restored")
                 if each.occurred_at >= suspension.occurred_at), None)


@state(version=1)
@dataclass(slots=True)
class Abrupt:
    """An abrupt suspension (a finding), the first event of its episode, and its restore once it comes."""

    suspension: Fact
    first: Fact
    restored_at: datetime | None = None


@state(version=2)
@dataclass(slots=True)
class Arrears:
    """What judging a suspension to come reads, the suspensions of the last instant, and the findings.

    Bounded: the tenure is one fact; `unpaid` holds the account's unpaid invoices (one
    fact each, dropped when paid); `paid` the invoices paid, each with its last event,
    for the item horizon (swept every `SWEEP_EVERY` of the account's time); `failures`
    the failed payments of the last `grace_days + clean_days` (an episode a suspension
    to come can start no earlier than `grace_days` ago, and looks back `clean_days` from
    it); `pending` the suspensions of the last instant; `open` the findings not restored
    yet, and `closed` those restored, until `take_final` takes them (at once).
    """

    account_id: str
    tenure: Fact | None = None  # the earliest subscription start or won deal
    unpaid: dict[str, Fact] = field(default_factory=dict)  # invoice id -> its first failure or dunning
    paid: dict[str, datetime] = field(default_factory=dict)  # invoices with a payment received -> their last event
    swept_at: datetime | None = None
    failures: list[datetime] = field(default_factory=list)  # failed payments a clean check may still read
    restored_at: datetime | None = None  # the last restore: one at a suspension's instant means it never held
    pending: list[Fact] = field(default_factory=list)  # suspensions of the last instant, not judged yet
    open: list[Abrupt] = field(default_factory=list)  # findings not restored yet
    closed: list[Abrupt] = field(default_factory=list)  # findings restored, until `take_final` takes them


def start(account_id: str, thresholds: Thresholds) -> Arrears:
    return Arrears(account_id)


def step(arrears: Arrears, fact: Fact, thresholds: Thresholds) -> Arrears:
    """Judge the suspensions of an instant that is over, then take the fact."""
    settle(arrears, fact.occurred_at, thresholds)
    invoice = str(fact.data.get("invoiceId"))
    if fact.type == "billing.service.suspended":
        arrears.pending.append(fact)
    elif fact.type == "billing.service.restored":
        arrears.restored_at = fact.occurred_at
        for each in arrears.open:
            each.restored_at = fact.occurred_at
        arrears.closed.extend(arrears.open)
        arrears.open.clear()
    elif fact.type in INVOICE_EVENTS:
        last_at = arrears.paid.get(invoice)
        if last_at is not None and last_at != fact.occurred_at and forgotten(last_at, fact.occurred_at):
            del arrears.paid[invoice]  # a new invoice under the old id
        if fact.type == "billing.payment.received":
            arrears.paid[invoice] = fact.occurred_at
            arrears.unpaid.pop(invoice, None)
            return arrears
        if fact.type == "billing.payment.failed":
            arrears.failures.append(fact.occurred_at)
        if invoice in arrears.paid:
            arrears.paid[invoice] = fact.occurred_at
        else:
            arrears.unpaid.setdefault(invoice, fact)
    elif arrears.tenure is None and (fact.type == "sales.opportunity.won" or fact.data.get("change") == "start"):
        arrears.tenure = fact
    return arrears


def settle(arrears: Arrears, now: datetime, thresholds: Thresholds) -> None:
    """Judge the suspensions of an earlier instant, and forget the failures no suspension to come reads."""
    if arrears.pending and arrears.pending[0].occurred_at < now:
        arrears.open.extend(filter(None, (judged(arrears, each, thresholds) for each in arrears.pending)))
        arrears.pending.clear()
    horizon = now - timedelta(days=thresholds.grace_days + thresholds.clean_days)
    arrears.failures = [each for each in arrears.failures if each > horizon]
    if arrears.swept_at is None or now - arrears.swept_at >= SWEEP_EVERY:  # the paid invoices past the item horizon
        arrears.swept_at = now
        arrears.paid = {invoice: last_at for invoice, last_at in arrears.paid.items() if not forgotten(last_at, now)}


SWEEP_EVERY = timedelta(days=30)


def judged(arrears: Arrears, suspension: Fact, thresholds: Thresholds) -> Abrupt | None:
    """The finding of a suspension of the last instant (every fact up to it taken), if abrupt and it held."""
    suspended_at, tenure = suspension.occurred_at, arrears.tenure
    first = min(arrears.unpaid.values(), key=lambda each: each.order, default=None)
    if tenure is None or first is None or arrears.restored_at == suspended_at:
        return None
    unpaid_since = first.occurred_at
    clean_since = unpaid_since - timedelta(days=thresholds.clean_days)
    abrupt = (
        suspended_at - unpaid_since < timedelta(days=thresholds.grace_days)
        and tenure.occurred_at <= suspended_at - timedelta(days=thresholds.min_tenure_days)
        and not any(clean_since <= each < unpaid_since for each in arrears.failures)
    )
    return Abrupt(suspension, first) if abrupt else None


def read(arrears: Arrears, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    pending = (judged(arrears, each, thresholds) for each in arrears.pending)
    for each in [*arrears.closed, *arrears.open, *filter(None, pending)]:
        assert arrears.tenure is not None  # every finding has one
        yield finding_of(arrears.account_id, each.suspension, each.first, arrears.tenure, thresholds,
                         moment.resolved_at(each.restored_at))


def take_final(arrears: Arrears, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings restored: the first restore after a suspension closes it, and its evidence was fixed when judged."""
    moment, tenure = Moment(now), arrears.tenure
    final = [finding_of(arrears.account_id, each.suspension, each.first, tenure, thresholds,
                        moment.resolved_at(each.restored_at)) for each in arrears.closed] if tenure is not None else []
    arrears.closed.clear()
    return final


def first_words(fact: Fact) -> str:
    if fact.type == "billing.payment.failed":
        return f"the failed payment of invoice {fact.data['invoiceId']}"
    return f"the level {fact.data.get('level')} dunning notice for invoice {fact.data['invoiceId']}"


def gap_words(gap: timedelta) -> str:
    if gap.days == 0:
        return "less than a day"
    return f"{gap.days} day{'s' if gap.days > 1 else ''}"


def finding_of(
    account_id: str, suspension: Fact, first: Fact, tenure: Fact, thresholds: Thresholds, resolved_at: datetime | None
) -> Finding:
    summary = (
        f"Billing suspended the service on {day(suspension.occurred_at)}, "
        f"{gap_words(suspension.occurred_at - first.occurred_at)} after {first_words(first)} on {day(first.occurred_at)}, "
        f"for a customer since {day(tenure.occurred_at)} with no failed payment in the {thresholds.clean_days} days before."
    )
    return finding(
        account_id,
        ID,
        f"{suspension.source}/{suspension.event_id}",
        severity="HIGH",
        departments=("billing", "sales"),
        evidence=[suspension, first, tenure],
        detected_at=suspension.occurred_at,
        resolved_at=resolved_at,
        summary=summary,
    )


FOLD = Fold(frozenset({"billing.service.suspended", "billing.service.restored", "billing.payment.received",
                       "billing.payment.failed", "billing.dunning.sent", "billing.subscription.changed",
                       "sales.opportunity.won"}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
