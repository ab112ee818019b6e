"""Who is a customer at a moment (`rules.md`, Terms), for the rules and the account view alike.

An account is a customer at T if its latest `billing.subscription.changed` before T
(`occurredAt` earlier than T) is not a `cancel`, or it won a deal (`sales.opportunity.won`)
within the `won_days` days before T: T - won_days days <= won < T (an operator threshold
of `prospecting-a-customer`, 365 by default). An account with neither is not a customer.

Both conditions read only the latest subscription change and the latest win before T,
so whoever follows the account one fact at a time keeps just those two (`reason`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.history import Timeline

WON_DAYS = 365
CHANGES, WINS = "billing.subscription.changed", "sales.opportunity.won"


def reason(change: Fact | None, win: Fact | None, instant: datetime, won_days: int = WON_DAYS) -> Fact | None:
    """What makes the account a customer at `instant`, given its latest subscription change and
    latest win before it: the later of the two that holds, or None if it is not a customer."""
    reasons = []
    if change is not None and change.data.get("change") != "cancel":
        reasons.append(change)
    if win is not None and instant - timedelta(days=won_days) <= win.occurred_at:
        reasons.append(win)
    return max(reasons, key=lambda fact: fact.order, default=None)


def customer_reason(timeline: Timeline, instant: datetime, won_days: int = WON_DAYS) -> Fact | None:
    """The latest event that makes the account a customer at `instant`, or None if it is not one."""
    return reason(latest_before(timeline.of(CHANGES), instant), latest_before(timeline.of(WINS), instant),
                  instant, won_days)


def latest_before(facts: Sequence[Fact], instant: datetime) -> Fact | None:
    """The last of `facts` (in `occurredAt` order) that happened before `instant`."""
    end = bisect_left(facts, instant, key=lambda fact: fact.occurred_at)
    return facts[end - 1] if end else None
