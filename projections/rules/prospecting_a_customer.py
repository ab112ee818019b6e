"""`prospecting-a-customer`: prospecting an account that is already a customer (LOW, the sender and billing).

A prospecting message is a `marketing.campaign.sent` with intent acquisition or a
`sales.outreach.sent` with intent prospecting. The account is a customer at the
message's time T if its latest `billing.subscription.changed` before T is not a
`cancel`, or it won a deal (`sales.opportunity.won`) in the 365 days before T
(T - 365 days <= won < T). Messages to an account that is not a customer are ignored.

Each sending department has its own episodes: a prospecting message to a customer at
most 30 days (both ends included) after that department's previous one joins the open
finding, which closes 30 days after the last; a later one opens a new finding. Key:
the department for its first episode, `department#n` for its n-th (n >= 2), counted
in `occurredAt` order. Evidence: the episode's messages and the latest event that made
the account a customer at its first message (the later of the two when both hold).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, money
from projections.history import Timeline
from projections.rules.rule import Rule

ID = "prospecting-a-customer"

CHANGED = {"start": "started", "upgrade": "upgraded", "downgrade": "downgraded", "renew": "renewed"}


@dataclass(frozen=True)
class Thresholds:
    customer_won_days: int = 365
    close_days: int = 30


@dataclass
class Episode:
    reason: Fact  # the latest event that made the account a customer at the first message
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


def episodes_of(timeline: Timeline, thresholds: Thresholds) -> dict[str, list[Episode]]:
    """Every department's episodes of prospecting messages to a customer, in `occurredAt` order."""
    episodes: dict[str, list[Episode]] = {}
    gap = timedelta(days=thresholds.close_days)
    for message in timeline.of("marketing.campaign.sent", "sales.outreach.sent"):
        if not is_prospecting(message):
            continue
        reason = customer_reason(timeline, message.occurred_at, thresholds)
        if reason is None:
            continue
        mine = episodes.setdefault(message.department, [])
        if mine and message.occurred_at <= mine[-1].messages[-1].occurred_at + gap:
            mine[-1].messages.append(message)
        else:
            mine.append(Episode(reason, [message]))
    return episodes


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for department, episodes in episodes_of(timeline, thresholds).items():
        for n, episode in enumerate(episodes, start=1):
            key = department if n == 1 else f"{department}#{n}"
            end = episode.messages[-1].occurred_at + timedelta(days=thresholds.close_days)
            yield finding_of(timeline.account_id, key, episode, moment.resolved_at(end))


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


def finding_of(account_id: str, key: str, episode: Episode, resolved_at: datetime | None) -> Finding:
    first, more = episode.messages[0], len(episode.messages) - 1
    summary = (
        f"{first.department.capitalize()} sent {message_words(first)} on {day(first.occurred_at)} "
        f"to an account that is already a customer ({reason_words(episode.reason)})"
    )
    if more:
        summary += f"; {more} more prospecting message{'s' if more > 1 else ''} followed"
    return finding(
        account_id,
        ID,
        key,
        severity="LOW",
        departments=(first.department, "billing"),
        evidence=[episode.reason, *episode.messages],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


RULE = Rule(ID, Thresholds(), detect)
