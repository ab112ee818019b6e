"""A finding's handling as people see it at an instant: recorded state, plus what time and the rules add.

Derived at read time, never stored, so a replay or a changed policy needs nothing rebuilt:
a finding nobody acted on is `NEW` and assigned to the owner of its first department; a
snooze that has run out is back to the state it interrupted; a finding people closed while
the rules still hold it reopens when evidence newer than the close arrives; a finding not
acknowledged by its deadline (per severity) while the rules hold it is overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.handling import ACKNOWLEDGED, ASSIGNED, CLOSED, NEW, Action, effective_state
from domain.handling_policy import HandlingPolicy
from service.read.findings import FindingRecord
from service.store.handling_store import HandlingRow


@dataclass(frozen=True)
class FindingFacts:
    """What the rules say of a finding, as far as its handling is concerned."""

    severity: str
    departments: Sequence[str]
    detected_at: datetime
    resolved_at: datetime | None
    evidence: Sequence[int]  # positions

    @classmethod
    def of(cls, record: FindingRecord) -> FindingFacts:
        return cls(record.severity, record.departments, record.detected_at, record.resolved_at, record.evidence)


@dataclass(frozen=True)
class ShownHandling:
    state: str
    assignee: str | None
    snoozed_until: datetime | None
    version: int
    actions: tuple[Action, ...]
    acknowledge_by: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    reopened_by_evidence: bool


def shown(row: HandlingRow | None, finding: FindingFacts, policy: HandlingPolicy, now: datetime) -> ShownHandling:
    """The handling of `finding` at `now`, from its row (None: nobody acted on it yet)."""
    deadline = policy.acknowledge_by(finding.severity, finding.detected_at)
    if row is None:
        return ShownHandling(NEW, policy.owner_of(finding.departments), None, 0, (), deadline, None, None,
                             overdue=finding.resolved_at is None and now > deadline, reopened_by_evidence=False)
    state = effective_state(row.state, row.assignee, row.snoozed_until, now)
    reopened = state == CLOSED and reopened_by(row, finding)
    if reopened:
        state = ASSIGNED if row.assignee is not None else ACKNOWLEDGED
    return ShownHandling(
        state=state,
        assignee=row.assignee if row.assignee is not None else policy.owner_of(finding.departments),
        snoozed_until=row.snoozed_until if state == "SNOOZED" else None,
        version=row.version,
        actions=tuple(Action.from_json(each) for each in row.actions),
        acknowledge_by=deadline,
        acknowledged_at=row.acknowledged_at,
        closed_at=row.closed_at if state == CLOSED else None,
        overdue=finding.resolved_at is None and row.acknowledged_at is None and now > deadline,
        reopened_by_evidence=reopened,
    )


def reopened_by(row: HandlingRow, finding: FindingFacts) -> bool:
    """Whether evidence newer than the close arrived while the rules still hold the finding."""
    newest = max(finding.evidence, default=None)
    return (finding.resolved_at is None and row.evidence_seen is not None and newest is not None
            and newest > row.evidence_seen)
