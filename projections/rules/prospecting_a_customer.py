"""`prospecting-a-customer`: prospecting an account that is already a customer (LOW, the sender and billing).

A prospecting message is a `marketing.campaign.sent` with intent acquisition or a
`sales.outreach.sent` with intent prospecting. The account is a customer at the
message's time T if its latest `billing.subscription.changed` before T is not a
`cancel`, or it won a deal (`sales.opportunity.won`) in the 365 days before T
(T - 365 days <= won < T). Messages to an account that is not a customer are ignored.

Key: the sending department (`marketing` or `sales`): one finding per department.
Evidence: all of that department's prospecting messages to the customer, and the latest
event that made the account a customer before the first of them (the later of the two
when both hold). Detected at the first message; closes 30 days after the last one.
A message more than 30 days after the department's previous one (the finding had
closed) reopens the same finding: `resolvedAt` is null again, `detectedAt` and the
evidence so far stay, and the new message joins the evidence, as a ticket's later
reopening does for `sales-pressure-during-escalation`.

As a fold (`Customer`), the state keeps the latest subscription change and won deal
(each with the latest one of an earlier instant, since "before T" is strict), and each
department's finding. Nothing leaves it and no finding is ever final (no `take_final`):
a department's finding reopens at its next prospecting message to a customer, however
late (`docs/rules.md`, rule 8, "Prospecting again after it closed"), and keeps every
message as evidence. So the state is four facts and at most two findings, whose
evidence grows with the messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, money
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "prospecting-a-customer"

CHANGED = {"start": "started", "upgrade": "upgraded", "downgrade": "downgraded", "renew": "renewed"}


@dataclass(frozen=True)
class Thresholds:
    customer_won_days: int = 365
    close_days: int = 30


@state(version=1)
@dataclass
class Prospected:
    """One department's prospecting of the customer: what made it one at the first message, and every message."""

    reason: Fact  # the latest event that made the account a customer before the first message
    messages: list[Fact]


def is_prospecting(fact: Fact) -> bool:
    wanted = "acquisition" if fact.type == "marketing.campaign.sent" else "prospecting"
    return fact.data.get("intent") == wanted


def customer_reason(timeline: Timeline, instant: datetime, thresholds: Thresholds) -> Fact | None:
    """The latest event that makes the account a customer at `instant`, or None if it is not one."""
    reasons: list[Fact] = []
    changes = [fact for fact in timeline.of("billing.subscription.changed") if fact.occurred_at < instant]
    if changes and changes[-1].data.get("change") != "cancel":
        reasons.append(changes[-1])
    since = instant - timedelta(days=thresholds.customer_won_days)
    won = [fact for fact in timeline.of("sales.opportunity.won") if since <= fact.occurred_at < instant]
    if won:
        reasons.append(won[-1])
    return max(reasons, key=lambda fact: fact.order, default=None)


def prospected_of(timeline: Timeline, thresholds: Thresholds) -> dict[str, Prospected]:
    """Each department's prospecting messages to a customer, in `occurredAt` order."""
    prospected: dict[str, Prospected] = {}
    for message in timeline.of("marketing.campaign.sent", "sales.outreach.sent"):
        if not is_prospecting(message):
            continue
        reason = customer_reason(timeline, message.occurred_at, thresholds)
        if reason is not None:
            prospected.setdefault(message.department, Prospected(reason, [])).messages.append(message)
    return prospected


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for department, prospected in prospected_of(timeline, thresholds).items():
        end = prospected.messages[-1].occurred_at + timedelta(days=thresholds.close_days)
        yield finding_of(timeline.account_id, department, prospected, moment.resolved_at(end))


@state(version=1)
@dataclass(slots=True)
class Customer:
    """What makes the account a customer, and each department's prospecting of it.

    Bounded: two facts of each customer-making type (the latest, and the latest of an
    earlier instant, for a message at the latest one's own instant), and per department
    its one finding, whose messages are all its evidence.
    """

    account_id: str
    change: Fact | None = None  # the latest `billing.subscription.changed` taken
    change_before: Fact | None = None  # the latest one at an instant before `change`'s
    won: Fact | None = None  # the latest `sales.opportunity.won` taken
    won_before: Fact | None = None  # the latest one at an instant before `won`'s
    prospected: dict[str, Prospected] = field(default_factory=dict)  # by department


def start(account_id: str, thresholds: Thresholds) -> Customer:
    return Customer(account_id)


def latest_before(latest: Fact | None, earlier: Fact | None, instant: datetime) -> Fact | None:
    """The latest of the two facts strictly before `instant` (`earlier` is at an instant before `latest`'s)."""
    return latest if latest is not None and latest.occurred_at < instant else earlier


def reason_at(customer: Customer, instant: datetime, thresholds: Thresholds) -> Fact | None:
    """`customer_reason` from the state: the latest event that makes the account a customer at `instant`."""
    reasons: list[Fact] = []
    change = latest_before(customer.change, customer.change_before, instant)
    if change is not None and change.data.get("change") != "cancel":
        reasons.append(change)
    won = latest_before(customer.won, customer.won_before, instant)
    if won is not None and instant - timedelta(days=thresholds.customer_won_days) <= won.occurred_at:
        reasons.append(won)
    return max(reasons, key=lambda fact: fact.order, default=None)


def step(customer: Customer, fact: Fact, thresholds: Thresholds) -> Customer:
    """A customer-making event becomes the latest; a prospecting message to a customer joins its department's."""
    if fact.type == "billing.subscription.changed":
        if customer.change is not None and customer.change.occurred_at < fact.occurred_at:
            customer.change_before = customer.change
        customer.change = fact
    elif fact.type == "sales.opportunity.won":
        if customer.won is not None and customer.won.occurred_at < fact.occurred_at:
            customer.won_before = customer.won
        customer.won = fact
    elif is_prospecting(fact) and (reason := reason_at(customer, fact.occurred_at, thresholds)) is not None:
        customer.prospected.setdefault(fact.department, Prospected(reason, [])).messages.append(fact)
    return customer


def read(customer: Customer, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for department, prospected in customer.prospected.items():
        end = prospected.messages[-1].occurred_at + timedelta(days=thresholds.close_days)
        yield finding_of(customer.account_id, department, prospected, moment.resolved_at(end))


def message_words(fact: Fact) -> str:
    if fact.type == "marketing.campaign.sent":
        return f"acquisition campaign {fact.data['campaignId']} ({fact.data['channel']})"
    return f"a prospecting outreach ({fact.data['channel']})"


def reason_words(fact: Fact) -> str:
    if fact.type == "sales.opportunity.won":
        amount = money(fact.data["amount"], str(fact.data["currency"]))
        return f"deal {fact.data['opportunityId']} of {amount} was won on {day(fact.occurred_at)}"
    change = str(fact.data.get("change"))
    return f"its {fact.data.get('plan')} subscription was {CHANGED.get(change, change)} on {day(fact.occurred_at)}"


def finding_of(account_id: str, department: str, prospected: Prospected, resolved_at: datetime | None) -> Finding:
    first, last, more = prospected.messages[0], prospected.messages[-1], len(prospected.messages) - 1
    summary = (
        f"{first.department.capitalize()} sent {message_words(first)} on {day(first.occurred_at)} "
        f"to an account that is already a customer ({reason_words(prospected.reason)})"
    )
    if more:
        latest = f", the latest on {day(last.occurred_at)}" if more > 1 else f" on {day(last.occurred_at)}"
        summary += f"; {more} more prospecting message{'s' if more > 1 else ''} followed{latest}"
    return finding(
        account_id,
        ID,
        department,
        severity="LOW",
        departments=(first.department, "billing"),
        evidence=[prospected.reason, *prospected.messages],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"billing.subscription.changed", "sales.opportunity.won", "marketing.campaign.sent",
                       "sales.outreach.sent"}), start, step, read)
RULE = Rule(ID, Thresholds(), detect, FOLD)
