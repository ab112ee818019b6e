"""`prospecting-a-customer`: prospecting an account that is already a customer (LOW, the sender and billing).

A prospecting message is a `marketing.campaign.sent` with intent acquisition or a
`sales.outreach.sent` with intent prospecting. The account is a customer at the
message's time T if its latest `billing.subscription.changed` before T is not a
`cancel`, or it won a deal (`sales.opportunity.won`) in the 365 days before T
(T - 365 days <= won < T). Messages to an account that is not a customer are ignored.

Key: the sending department (`marketing` or `sales`): one finding per department.
Evidence: the latest event that made the account a customer before the department's
first prospecting message to it (the later of the two when both hold), and the messages:
the first `evidence_first` and the latest `evidence_latest` (20 and 80, every message of
a finding of up to 100; the summary counts them all). A monthly acquisition newsletter
that keeps reaching a customer is one finding for as long as it keeps coming; with every
message as evidence it, and the fold's state, would grow for as long (`docs/rules.md`).
Detected at the first message; closes 30 days (`close_days`) after the last one. A message more than 30 days after the department's previous one (the finding
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
an `@` key). So the state is four facts and at most two findings, each with at most
`evidence_first + evidence_latest` messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, money
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.capped_evidence import Kept, first_and_latest, shown_words
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "prospecting-a-customer"

CHANGED = {"start": "started", "upgrade": "upgraded", "downgrade": "downgraded", "renew": "renewed"}


@dataclass(frozen=True)
class Thresholds:
    customer_won_days: int = 365
    close_days: int = 30
    reopen_days: int = 30  # a message reopens the finding at most this long after it resolved
    evidence_first: int = 20  # a finding's first messages kept as evidence (its first one always)
    evidence_latest: int = 80  # and its latest


@dataclass
class Episode:
    """One finding of a department as the reference finds it: every message of it."""

    key: str  # the department, or `<department>@<source>/<id>` for a finding opened after the horizon
    reason: Fact  # the latest event that made the account a customer before the first message
    messages: list[Fact]


@state(version=3)
@dataclass(slots=True)
class Prospected:
    """One finding of a department as the fold keeps it: the customer-making event, and the messages kept."""

    key: str
    reason: Fact
    messages: Kept  # the first and latest, and how many there were
    last: Fact  # the latest message, which times the finding (kept apart: `evidence_latest` may be 0)


def closes_at(last_message: Fact, thresholds: Thresholds) -> datetime:
    """When the finding resolves if no message joins it: `close_days` after its last message."""
    return last_message.occurred_at + timedelta(days=thresholds.close_days)


def horizon(last_message: Fact, thresholds: Thresholds) -> datetime:
    """The last instant at which a message still joins (or reopens) the finding: `reopen_days` after it resolves."""
    return closes_at(last_message, thresholds) + timedelta(days=thresholds.reopen_days)


def key_of(message: Fact, first: bool) -> str:
    """A finding's key: its department, or after the department's first finding, with the message that opened it."""
    return message.department if first else f"{message.department}@{message.source}/{message.event_id}"


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


def prospected_of(timeline: Timeline, thresholds: Thresholds) -> list[Episode]:
    """Every finding: each department's prospecting messages to a customer, a new finding after each horizon."""
    found: list[Episode] = []
    latest: dict[str, Episode] = {}  # by department
    for message in timeline.of("marketing.campaign.sent", "sales.outreach.sent"):
        if not is_prospecting(message):
            continue
        reason = customer_reason(timeline, message.occurred_at, thresholds)
        if reason is None:
            continue
        current = latest.get(message.department)
        if current is not None and message.occurred_at <= horizon(current.messages[-1], thresholds):
            current.messages.append(message)
        else:
            latest[message.department] = Episode(key_of(message, first=current is None), reason, [message])
            found.append(latest[message.department])
    return found


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for episode in prospected_of(timeline, thresholds):
        shown = first_and_latest(episode.messages, thresholds.evidence_first, thresholds.evidence_latest)
        yield finding_of(timeline.account_id, episode.key, episode.reason, shown, len(episode.messages),
                         episode.messages[-1], moment.resolved_at(closes_at(episode.messages[-1], thresholds)))


@state(version=2)
@dataclass(slots=True)
class Customer:
    """What makes the account a customer, and each department's prospecting of it.

    Bounded: two facts of each customer-making type (the latest, and the latest of an
    earlier instant, for a message at the latest one's own instant), per department its
    latest finding (its first and latest messages), and the findings past their horizon
    until `take_final` gives them up.
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
    if current is None or message.occurred_at > horizon(current.last, thresholds):
        if current is not None:
            customer.over.append(current)
        first = current is None and department not in customer.final_departments
        current = customer.prospected[department] = Prospected(key_of(message, first), reason, Kept(), message)
    current.messages.take(message, thresholds.evidence_first, thresholds.evidence_latest)
    current.last = message


def folded_finding(customer: Customer, prospected: Prospected, moment: Moment, thresholds: Thresholds) -> Finding:
    kept = prospected.messages
    return finding_of(customer.account_id, prospected.key, prospected.reason, kept.shown, kept.count, prospected.last,
                      moment.resolved_at(closes_at(prospected.last, thresholds)))


def read(customer: Customer, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for prospected in [*customer.over, *customer.prospected.values()]:
        yield folded_finding(customer, prospected, moment, thresholds)


def take_final(customer: Customer, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings past their horizon at `now`: no later message can join them, so they are resolved for good."""
    ended = [department for department, prospected in customer.prospected.items()
             if now > horizon(prospected.last, thresholds)]
    final = [*customer.over, *(customer.prospected.pop(department) for department in ended)]
    customer.over.clear()
    customer.final_departments.extend(department for department in ended if department not in customer.final_departments)
    moment = Moment(now)
    return [folded_finding(customer, prospected, moment, thresholds) for prospected in final]


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


def finding_of(account_id: str, key: str, reason: Fact, messages: list[Fact], count: int, last: Fact,
               resolved_at: datetime | None) -> Finding:
    """`messages`: the first and latest messages shown; `count`: how many there were; `last`: the latest."""
    first, more = messages[0], count - 1
    summary = (
        f"{first.department.capitalize()} sent {message_words(first)} on {day(first.occurred_at)} "
        f"to an account that is already a customer ({reason_words(reason)})"
    )
    if more:
        latest = f", the latest on {day(last.occurred_at)}" if more > 1 else f" on {day(last.occurred_at)}"
        summary += f"; {more} more prospecting message{'s' if more > 1 else ''} followed{latest}"
        summary += shown_words(count, len(messages), "messages")
    return finding(
        account_id,
        ID,
        key,
        severity="LOW",
        departments=(first.department, "billing"),
        evidence=[reason, *messages],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"billing.subscription.changed", "sales.opportunity.won", "marketing.campaign.sent",
                       "sales.outreach.sent"}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
