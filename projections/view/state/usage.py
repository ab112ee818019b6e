"""Product usage: the records health compares (28 days apart) and the lifecycle's latest run of low usage.

Health reads the latest record with seats and the latest one at least 28 days before
it: every record with seats within 28 days before the latest is kept (one of them may
become the comparison when a later record comes), and the latest one before those.
The lifecycle reads the latest record and the first of the run of low records it ends.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import timedelta
from operator import attrgetter

from projections.facts import Fact
from projections.history import Timeline
from projections.state_codec import state
from projections.view import health, lifecycle

COMPARED = timedelta(days=28)
OCCURRED_AT = attrgetter("occurred_at")


@state(version=1)
@dataclass(slots=True)
class Usage:
    seated: list[Fact] = field(default_factory=list)  # with seats: since the latest 28 days or more before the last
    latest: Fact | None = None
    first_low: Fact | None = None  # the first of the latest run of low records, if the latest is low

    def take(self, fact: Fact) -> None:
        if fact.type != "product.usage.recorded":
            return
        ratio = lifecycle.usage_ratio(fact)
        low = ratio is not None and ratio < lifecycle.LOW_USAGE
        self.first_low = (self.first_low or fact) if low else None
        self.latest = fact
        if health.usage_ratio(fact) is not None:
            self.seated.append(fact)  # in fold order, so by `occurredAt`: the latest compared one found by bisection
            compared = bisect_right(self.seated, fact.occurred_at - COMPARED, key=OCCURRED_AT) - 1
            if compared > 0:
                del self.seated[:compared]

    def seated_timeline(self, account_id: str) -> Timeline:
        return Timeline(account_id, self.seated)

    def run_timeline(self, account_id: str) -> Timeline:
        """The latest record and the first of its low run: `lifecycle.low_usage` reads the same from them."""
        run = [self.first_low] if self.first_low is not None and self.first_low != self.latest else []
        return Timeline(account_id, [*run, *([self.latest] if self.latest else [])])
