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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.history import Timeline
from projections.rules.rule import Rule

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


RULE = Rule(ID, Thresholds(), detect)
