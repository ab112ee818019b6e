"""Per-department summaries: each department's last touch, its activity over the last 7, 30
and 90 days, and what it still has open with the account.

"Within the last N days" is `as_of - N days < occurredAt <= as_of`. Outbound touches are
the messages our side sent (`OUTBOUND_TOUCHES`: campaigns, sales outreach, support
contacts, dunning letters).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.catalogue import CATALOGUE, DEPARTMENTS, OUTBOUND_TOUCHES
from projections.facts import Fact, within
from projections.history import Timeline
from projections.view.model import DepartmentSummary, OpenItem, WindowCounts
from projections.view.open_items import (
    open_incidents,
    open_opportunities,
    open_tickets,
    opt_outs,
    unpaid_invoices,
)

TYPES_OF_DEPARTMENT = {
    department: tuple(name for name in CATALOGUE if name.split(".", 1)[0] == department) for department in DEPARTMENTS
}

OPEN_ITEMS: dict[str, Callable[[Timeline, datetime], list[OpenItem]]] = {
    "marketing": lambda timeline, as_of: opt_outs(timeline),
    "sales": lambda timeline, as_of: open_opportunities(timeline),
    "product": lambda timeline, as_of: open_incidents(timeline),
    "support": lambda timeline, as_of: open_tickets(timeline),
    "billing": unpaid_invoices,
}


def department_summaries(timeline: Timeline, as_of: datetime) -> tuple[DepartmentSummary, ...]:
    """One summary per department with at least one event, in the catalogue's department order."""
    summaries = []
    for department in DEPARTMENTS:
        facts = timeline.of(*TYPES_OF_DEPARTMENT[department])
        if facts:
            summaries.append(summary_of(department, facts, timeline, as_of))
    return tuple(summaries)


def summary_of(department: str, facts: list[Fact], timeline: Timeline, as_of: datetime) -> DepartmentSummary:
    """`facts` are the department's events in `occurredAt` order, so the last one is its last touch."""
    last = facts[-1]
    return DepartmentSummary(
        department=department,
        last_touch_at=last.occurred_at,
        last_touch_type=last.type,
        events=window_counts(facts, as_of),
        outbound_touches=window_counts([fact for fact in facts if fact.type in OUTBOUND_TOUCHES], as_of),
        open_items=tuple(OPEN_ITEMS[department](timeline, as_of)),
    )


def window_counts(facts: list[Fact], as_of: datetime) -> WindowCounts:
    return WindowCounts(
        days_7=count_within(facts, as_of, 7),
        days_30=count_within(facts, as_of, 30),
        days_90=count_within(facts, as_of, 90),
    )


def count_within(facts: list[Fact], as_of: datetime, days: int) -> int:
    """How many of `facts` happened within the last `days` days: in (as_of - days, as_of]."""
    return sum(1 for fact in facts if within(fact, as_of, days))
