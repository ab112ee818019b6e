"""Findings in GraphQL: `Finding`, its connection and the department matrix."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Optional
from uuid import UUID

import orjson
import strawberry

from projections.rules import RULES
from service.api.context import Info
from service.api.cursors import EPOCH, decode, encode, position_of
from service.api.errors import BadInput, text_argument
from service.api.handling_types import FindingHandling
from service.api.types import Department, Event, PageInfo, page_info
from service.handling.commands import utc_now
from service.handling.shown import FindingFacts, shown
from service.read.findings import DepartmentCount, FindingRecord
from service.stream.logs import ChangeFilter


@strawberry.enum(description="How serious a contradiction is, per rule.")
class Severity(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


@strawberry.enum(description="Which findings to list: still true, no longer true, or both.")
class FindingState(Enum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"
    ALL = "ALL"

    @property
    def open_only(self) -> bool | None:
        return {"OPEN": True, "RESOLVED": False, "ALL": None}[self.value]


@strawberry.enum(description="What happened to a finding, in a findingChanged message.")
class FindingChange(Enum):
    OPENED = "OPENED"
    EVIDENCE_ADDED = "EVIDENCE_ADDED"
    RESOLVED = "RESOLVED"
    WITHDRAWN = "WITHDRAWN"  # a late event, or a rebuild with other rules or thresholds, showed it never held
    HANDLED = "HANDLED"  # someone acted on its handling (see `Finding.handling`)


@strawberry.type(description="A contradiction between departments in how they treat one account (see docs/rules.md).")
class Finding:
    id: strawberry.ID = strawberry.field(description="Stable: derived from the account, the rule and the rule's key.")
    account_id: strawberry.ID = strawberry.field(description="The account the finding is about.")
    rule: str = strawberry.field(description="The rule's id, e.g. sales-pressure-during-escalation.")
    severity: Severity = strawberry.field(description="Per rule: LOW, MEDIUM or HIGH.")
    departments: list[Department] = strawberry.field(description="The departments whose actions conflict.")
    summary: str = strawberry.field(description="One plain sentence a support agent can read aloud.")
    detected_at: datetime = strawberry.field(
        description="When the contradiction became true (for a deadline rule, the deadline)."
    )
    resolved_at: Optional[datetime] = strawberry.field(description="When it stopped being true; null while it holds.")
    evidence_positions: strawberry.Private[tuple[int, ...]]
    change: Optional[FindingChange] = strawberry.field(
        default=None,
        description="In a findingChanged message: opened, evidence added, resolved, withdrawn (a late event, "
        "or a rebuild with other rules or thresholds, showed it never held), or handled (someone acted on its "
        "handling); null elsewhere.",
    )
    change_position: Optional[str] = strawberry.field(
        default=None, description="In a findingChanged message: pass it as `after` to resume after this change."
    )

    @staticmethod
    def from_record(record: FindingRecord) -> Finding:
        return Finding(
            id=strawberry.ID(record.id),
            account_id=strawberry.ID(record.account_id),
            rule=record.rule,
            severity=Severity(record.severity),
            departments=[Department(name) for name in record.departments],
            summary=record.summary,
            detected_at=record.detected_at,
            resolved_at=record.resolved_at,
            evidence_positions=record.evidence,
        )

    @strawberry.field(description="Who is handling it: state, assignee, deadline and every action (docs/handling.md).")
    async def handling(self, info: Info) -> FindingHandling:
        row = await info.context.handling_rows().load(str(self.id))
        return FindingHandling.from_shown(shown(row, self.facts(), info.context.settings.handling, utc_now()))

    def facts(self) -> FindingFacts:
        return FindingFacts(self.severity.value, [department.value for department in self.departments],
                            self.detected_at, self.resolved_at, self.evidence_positions)

    @strawberry.field(description="The events that make the case, in occurredAt order.")
    async def evidence(self, info: Info) -> list[Event]:
        return [Event.from_record(record) for record in await info.context.evidence().load(self.evidence_positions)]


@strawberry.type(description="A finding in a list, with its cursor.")
class FindingEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this finding.")
    node: Finding = strawberry.field(description="The finding.")


@strawberry.type(description="A page of findings, the most recently detected first.")
class FindingConnection:
    edges: list[FindingEdge] = strawberry.field(description="The findings of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the list.")


@strawberry.type(description="How often two departments (or one, for single-department rules) contradicted each other.")
class DepartmentPairCount:
    departments: list[Department] = strawberry.field(description="The pair, or the single department.")
    findings: int = strawberry.field(description="Findings detected in the range.")
    open_findings: int = strawberry.field(description="Of those, the ones still open now.")
    accounts_affected: int = strawberry.field(description="Distinct accounts among those findings.")

    @staticmethod
    def from_count(count: DepartmentCount) -> DepartmentPairCount:
        return DepartmentPairCount(
            departments=[Department(name) for name in count.departments],
            findings=count.findings,
            open_findings=count.open,
            accounts_affected=count.accounts,
        )


DetectedFrom = Annotated[Optional[datetime], strawberry.argument(
    name="from", description="Findings detected at or after this instant; from the start if omitted.")]
DetectedTo = Annotated[Optional[datetime], strawberry.argument(
    description="Findings detected at or before this instant; up to now if omitted.")]


def detection_range(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """`from` and `to` of a range of detections, `from` not after `to`."""
    if start is not None and end is not None and start > end:
        raise BadInput("from", f"must not be after `to` ({start.isoformat()} > {end.isoformat()})")
    return start, end


def finding_cursor(record: FindingRecord) -> str:
    micros = (record.detected_at - EPOCH) // timedelta(microseconds=1)
    return encode("finding", str(micros), record.id)


def finding_after(cursor: str) -> tuple[datetime, str]:
    micros, finding_id = decode("finding", cursor, 2)
    try:
        UUID(finding_id)
        return EPOCH + timedelta(microseconds=int(micros)), finding_id
    except (ValueError, OverflowError):
        raise BadInput("after", f"{cursor!r:.60} is not a cursor of this list") from None


def finding_connection(records: list[FindingRecord], limit: int, after: str | None) -> FindingConnection:
    edges = [FindingEdge(cursor=finding_cursor(record), node=Finding.from_record(record)) for record in records[:limit]]
    return FindingConnection(
        edges=edges, page_info=page_info([edge.cursor for edge in edges], len(records) > limit, after is not None)
    )


def finding_change(row: Any) -> Finding:
    """A row of the finding change log as the `Finding` it carries, with its change and position."""
    finding = Finding.from_record(FindingRecord.from_json(orjson.loads(row["finding"])))
    finding.change, finding.change_position = FindingChange(row["change"]), position_of(row["position"])
    return finding


def change_filter(rule: str | None, severity: Severity | None, department: Department | None,
                  assignee: str | None) -> ChangeFilter:
    """`findingChanged`'s filters, checked."""
    if rule is not None and rule not in RULES:
        raise BadInput("rule", f"unknown rule {rule!r:.80}; the rules are {', '.join(RULES)}")
    return ChangeFilter(rule, severity.value if severity is not None else None,
                        department.value if department is not None else None,
                        text_argument("assignee", assignee) if assignee is not None else None)
