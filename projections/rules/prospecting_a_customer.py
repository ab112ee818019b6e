"""`prospecting-a-customer`: prospecting an account that is already a customer (LOW, the sender and billing).

A prospecting message is a `marketing.campaign.sent` with intent acquisition or a
`sales.outreach.sent` with intent prospecting. The account is a customer at the
message's time T if its latest `billing.subscription.changed` before T is not a
`cancel`, or it won a deal (`sales.opportunity.won`) in the 365 days before T
(T - 365 days <= won < T). Messages to an account that is not a customer are ignored.

Key: the sending department (`marketing` or `sales`): one finding per department.
Evidence: all of that department's prospecting messages to the customer, and the latest
event that made the account a customer before the first of them (the later of the two
when both hold). Detected at the first message; closes 30 days (`close_days`) after the
last one. A message more than 30 days after the department's previous one (the finding
had closed) reopens the same finding: `resolvedAt` is null again, `detectedAt` and the
evidence so far stay, and the new message joins the evidence, as a ticket's later
reopening does for `sales-pressure-during-escalation`.

Reopening horizon (the code's choice over the spec's, `docs/rules.md`, rule 8): a
message reopens the finding only if it comes at most `reopen_days` (30) after the
finding resolved, i.e. at most `close_days + reopen_days` after its last message. A
later one opens a new finding of the department instead, keyed
`<department>@<source>/<id of that message>`, with its own customer-making event and
messages; the old finding keeps its `resolvedAt` and evidence for good.

As a fold (`Customer`), the state keeps the latest subscription change and won deal
(each with the latest one of an earlier instant, since "before T" is strict), and each
department's latest finding. A finding is final once a fact of the rule comes after its
horizon (no message can join it any more): `take_final` gives it up and the state
forgets it, keeping only that the department has had a finding (so its next one takes
an `@` key). So the state is four facts and at most two findings, whose evidence is the
messages of one episode of prospecting.
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
    reopen_days: int = 30  # a message reopens the finding at most this long after it resolved


@state(version=2)
@dataclass
class Prospected:
    """One finding of a department: what made the account a customer at its first message, and its messages."""

    key: str  # the department, or `<department>@<source>/<id>` for a finding opened after the horizon
    reason: Fact  # the latest event that made the account a customer before the first message
    messages: list[Fact]


def closes_at(prospected: Prospected, thresholds: Thresholds) -> datetime:
    """When the finding resolves if no message joins it: `close_days` after its last message."""
    return prospected.messages[-1].occurred_at + timedelta(days=thresholds.close_days)


def horizon(prospected: Prospected, thresholds: Thresholds) -> datetime:
    """The last instant at which a message still joins (or reopens) the finding: `reopen_days` after it resolves."""
    return closes_at(prospected, thresholds) + timedelta(days=thresholds.reopen_days)


def opened(message: Fact, reason: Fact, first: bool) -> Prospected:
    """The finding a message opens: keyed by its department, or after the department's first, by the message too."""
    key = message.department if first else f"{message.department}@{message.source}/{message.event_id}"
    return Prospected(key, reason, [message])


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


def prospected_of(timeline: Timeline, thresholds: Thresholds) -> list[Prospected]:
    """Every finding: each department's prospecting messages to a customer, a new finding after each horizon."""
    found: list[Prospected] = []
    latest: dict[str, Prospected] = {}  # by department
    for message in timeline.of("marketing.campaign.sent", "sales.outreach.sent"):
        if not is_prospecting(message):
            continue
        reason = customer_reason(timeline, message.occurred_at, thresholds)
        if reason is None:
            continue
        current = latest.get(message.department)
        if current is not None and message.occurred_at <= horizon(current, thresholds):
            current.messages.append(message)
        else:
            latest[message.department] = opened(message, reason, first=current is None)
            found.append(latest[message.department])
    return found


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for prospected in prospected_of(timeline, thresholds):
        yield finding_of(timeline.account_id, prospected, moment.resolved_at(closes_at(prospected, thresholds)))


@state(version=2)
@dataclass(slots=True)
class Customer:
    """What makes the account a customer, and each department's prospecting of it.

    Bounded: two facts of each customer-making type (the latest, and the latest of an
    earlier instant, for a message at the latest one's own instant), per department its
    latest finding (its messages are all its evidence), and the findings past their
    horizon until `take_final` gives them up.
    """

    account_id: str
    change: Fact | None = None  # the latest `billing.subscription.changed` taken
    change_before: Fact | None = None  # the latest one at an instant before `change`'s
    won: Fact | None = None  # the latest `sales.opportunity.won` taken
    won_before: Fact | None = None  # the latest one at an instant before `won`'s
    prospected: dict[str, Prospected] = field(default_factory=dict)  # by department: its latest finding
    over: list[Prospected] = field(default_factory=list)  # findings a message came after the horizon of
    final_departments: list[str] = field(default_factory=list)  # departments whose latest finding was given up


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
        prospect(customer, fact, reason, thresholds)
    return customer


def prospect(customer: Customer, message: Fact, reason: Fact, thresholds: Thresholds) -> None:
    """The message joins its department's finding, or after that finding's horizon opens a new one."""
    department = message.department
    current = customer.prospected.get(department)
    if current is not None and message.occurred_at <= horizon(current, thresholds):
        current.messages.append(message)
        return
    if current is not None:
        customer.over.append(current)
    first = current is None and department not in customer.final_departments
    customer.prospected[department] = opened(message, reason, first)


def read(customer: Customer, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for prospected in [*customer.over, *customer.prospected.values()]:
        yield finding_of(customer.account_id, prospected, moment.resolved_at(closes_at(prospected, thresholds)))


def take_final(customer: Customer, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings past their horizon at `now`: no later message can join them, so they are resolved for good."""
    ended = [department for department, prospected in customer.prospected.items()
             if now > horizon(prospected, thresholds)]
    final = [*customer.over, *(customer.prospected.pop(department) for department in ended)]
    customer.over.clear()
    customer.final_departments.extend(department for department in ended if department not in customer.final_departments)
    moment = Moment(now)
    return [finding_of(customer.account_id, prospected, moment.resolved_at(closes_at(prospected, thresholds)))
            for prospected in final]


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


def finding_of(account_id: str, prospected: Prospected, resolved_at: datetime | None) -> Finding:
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
        prospected.key,
        severity="LOW",
        departments=(first.department, "billing"),
        evidence=[prospected.reason, *prospected.messages],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"billing.subscription.changed", "sales.opportunity.won", "marketing.campaign.sent",
                       "sales.outreach.sent"}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
