"""`Query.handling`: the chief customer officer's view of how each department handles its findings."""

from __future__ import annotations

from typing import Optional

import strawberry

from service.access.scopes import VIEWS_READ
from service.api.context import Info
from service.api.findings import DetectedFrom, DetectedTo, detection_range
from service.api.permissions import needs
from service.api.types import Department
from service.handling.reads import HandlingCount


@strawberry.type(description="Who is on a department's open findings, and how many of them.")
class AssigneeLoad:
    assignee: Optional[str] = strawberry.field(description="The person (assigned, or owner of the first department of a "
                                                           "finding nobody assigned); null: nobody is.")
    open: int = strawberry.field(description="Open findings they are on.")
    overdue: int = strawberry.field(description="Of those, the overdue ones.")


@strawberry.type(description="How one department (or a pair of them) handles the findings detected in a range. "
                             "Times run from a finding's detection; durations are in seconds, null when none.")
class DepartmentHandling:
    departments: list[Department] = strawberry.field(description="The department, or the pair.")
    findings: int = strawberry.field(description="Findings detected in the range that name them.")
    open: int = strawberry.field(description="Of those, the ones the rules still hold and people have not closed.")
    acknowledged: int = strawberry.field(description="Of those, the ones someone took on (acknowledged, assigned, "
                                                     "snoozed or closed).")
    overdue: int = strawberry.field(description="Of those, the ones nobody took on by their deadline while the rules "
                                                "hold them.")
    median_seconds_to_acknowledge: Optional[float] = strawberry.field(description="Median time to take one on.")
    p90_seconds_to_acknowledge: Optional[float] = strawberry.field(description="90th percentile time to take one on.")
    median_seconds_to_close: Optional[float] = strawberry.field(description="Median time until people closed one.")
    p90_seconds_to_close: Optional[float] = strawberry.field(description="90th percentile time until people closed one.")
    assignees: list[AssigneeLoad] = strawberry.field(description="Who is on the open ones, the busiest first.")

    @staticmethod
    def from_count(count: HandlingCount) -> DepartmentHandling:
        return DepartmentHandling(
            departments=[Department(name) for name in count.departments], findings=count.findings, open=count.open,
            acknowledged=count.acknowledged, overdue=count.overdue,
            median_seconds_to_acknowledge=count.acknowledge_median, p90_seconds_to_acknowledge=count.acknowledge_p90,
            median_seconds_to_close=count.close_median, p90_seconds_to_close=count.close_p90,
            assignees=[AssigneeLoad(assignee=each.assignee, open=each.open, overdue=each.overdue) for each in count.assignees],
        )


@strawberry.type
class HandlingQuery:
    @strawberry.field(
        description="Per department, then per pair of departments: the findings detected between `from` and `to` "
        "(both included; open-ended when omitted), how many are open, taken on and overdue, and how fast they are "
        "taken on and closed.",
        extensions=needs(VIEWS_READ),
    )
    async def handling(
        self,
        info: Info,
        from_: DetectedFrom = None,
        to: DetectedTo = None,
    ) -> list[DepartmentHandling]:
        report = await info.context.handling_reads.report(*detection_range(from_, to))
        return [DepartmentHandling.from_count(count) for count in report]
