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

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "abrupt-suspension"


@dataclass(frozen=True)
class Thresholds:
    grace_days: int = 15
    min_tenure_days: int = 365
    clean_days: int = 365


def episode_start(timeline: Timeline, suspended_at: datetime) -> Fact | None:
    """The first failure or dunning, by the suspension, of an invoice still unpaid at the suspension."""
    received = timeline.of("billing.payment.received")
    paid = {str(fact.data["invoiceId"]) for fact in received if fact.occurred_at <= suspended_at}
    return next(
        (
            fact
            for fact in timeline.of("billing.payment.failed", "billing.dunning.sent")
            if fact.occurred_at <= suspended_at and str(fact.data["invoiceId"]) not in paid
        ),
        None,
    )


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


@state(version=1)
@dataclass(slots=True)
class Arrears:
    """What judging a suspension to come reads, the suspensions of the last instant, and the findings.

    Bounded: the tenure is one fact; `unpaid` holds the account's unpaid invoices (one
    fact each, dropped when paid); `failures` the failed payments of the last
    `grace_days + clean_days` (an episode a suspension to come can start no earlier than
    `grace_days` ago, and looks back `clean_days` from it); `pending` the suspensions of
    the last instant; `open` the findings not restored yet, and `closed` those restored, until
    `take_final` takes them (at once). `paid` is the one set that grows with the
    account's history, by one invoice id per paid invoice: rules.md has a payment at any
    time before the suspension keep that invoice out of every later episode.
    """

    account_id: str
    tenure: Fact | None = None  # the earliest subscription start or won deal
    unpaid: dict[str, Fact] = field(default_factory=dict)  # invoice id -> its first failure or dunning
    paid: set[str] = field(default_factory=set)  # invoices with a payment received
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
    elif fact.type == "billing.payment.received":
        arrears.paid.add(invoice)
        arrears.unpaid.pop(invoice, None)
    elif fact.type in ("billing.payment.failed", "billing.dunning.sent"):
        if fact.type == "billing.payment.failed":
            arrears.failures.append(fact.occurred_at)
        if invoice not in arrears.paid:
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
