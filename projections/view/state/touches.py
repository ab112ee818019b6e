"""Each department's touches: its latest event, and the instants of its events of the last 90 days.

Also the account's first event (a prospect's `since`), its latest name and its latest
marketing engagement. Instants 90 days or more before the latest fact taken are out of
every window a later reading can ask (7, 30, 90 days), so they are dropped.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.catalogue import DEPARTMENTS, OUTBOUND_TOUCHES
from projections.facts import Fact, drop_through
from projections.state_codec import state
from projections.view.model import DepartmentSummary, OpenItem, RecentTouch, WindowCounts

WINDOWS = (7, 30, 90)
KEPT = timedelta(days=max(WINDOWS))


@state(version=1)
@dataclass(slots=True)
class Department:
    last_at: datetime
    last_type: str
    events: list[datetime] = field(default_factory=list)  # of the last 90 days, in order
    outbound: list[datetime] = field(default_factory=list)

    def take(self, fact: Fact) -> None:
        self.last_at, self.last_type = fact.occurred_at, fact.type
        self.events.append(fact.occurred_at)
        if fact.type in OUTBOUND_TOUCHES:
            self.outbound.append(fact.occurred_at)

    def forget_before(self, horizon: datetime) -> None:
        """Drop the instants at or before `horizon`: out of every window from now on."""
        drop_through(self.events, horizon)
        drop_through(self.outbound, horizon)

    def summary(self, department: str, as_of: datetime, items: list[OpenItem]) -> DepartmentSummary:
        return DepartmentSummary(department, self.last_at, self.last_type, counts(self.events, as_of),
                                 counts(self.outbound, as_of), tuple(items))


@state(version=1)
@dataclass(slots=True)
class Touches:
    departments: dict[str, Department] = field(default_factory=dict)
    first: tuple[datetime, str] | None = None  # the account's first event: when, and its type
    name: str | None = None  # the latest name given by `sales.account.updated`
    engagement: Fact | None = None  # the latest `marketing.engagement.recorded`

    def take(self, fact: Fact) -> None:
        if self.first is None:
            self.first = (fact.occurred_at, fact.type)
        if fact.type == "sales.account.updated" and fact.data.get("name"):
            self.name = fact.text("name")
        elif fact.type == "marketing.engagement.recorded":
            self.engagement = fact
        department = self.departments.get(fact.department)
        if department is None:
            department = self.departments[fact.department] = Department(fact.occurred_at, fact.type)
        department.take(fact)
        horizon = fact.occurred_at - KEPT
        for each in self.departments.values():
            if each.events and each.events[0] <= horizon:  # most facts drop nothing (outbound instants are events')
                each.forget_before(horizon)

    def seen(self, department: str) -> bool:
        return department in self.departments

    def this_week(self, as_of: datetime) -> tuple[RecentTouch, ...]:
        """Each department's latest event, if it happened within the last 7 days."""
        return tuple(RecentTouch(name, each.last_type, each.last_at) for name in DEPARTMENTS
                     if (each := self.departments.get(name)) is not None and each.last_at > as_of - timedelta(days=7))


def counts(instants: list[datetime], as_of: datetime) -> WindowCounts:
    """How many of the instants (none after `as_of`) lie within the last 7, 30 and 90 days."""
    within = [len(instants) - bisect_right(instants, as_of - timedelta(days=days)) for days in WINDOWS]
    return WindowCounts(*within)
