"""Reads of findings' handling (asyncpg): rows by finding, the finding acted on, lists filtered by
handling, and the orchestration report per department and pair of departments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import orjson

from domain.catalogue import DEPARTMENTS
from domain.handling_policy import HandlingPolicy
from service.handling.commands import utc_now
from service.handling.queries import FINDINGS_PAGE, REPORT, policy_parameters
from service.projection.view_store import FINDINGS_TABLE
from service.read.findings import COLUMNS, FindingRecord
from service.read.pool import ReadPool
from service.store.handling_store import HandlingRow
from service.store.tables import HANDLING_TABLE

HANDLING_COLUMNS = ("finding_id, account_id, state, assignee, snoozed_until, version, actions, acknowledged_at,"
                    " closed_at, evidence_seen")
ROWS = f"SELECT {HANDLING_COLUMNS} FROM {HANDLING_TABLE} WHERE finding_id = ANY($1::uuid[])"
FINDING = f"SELECT {COLUMNS} FROM {FINDINGS_TABLE} WHERE id = $1"


def row_of(record: asyncpg.Record) -> HandlingRow:
    actions = record["actions"]
    return HandlingRow(record["finding_id"], record["account_id"], record["state"], record["assignee"],
                       record["snoozed_until"], record["version"],
                       orjson.loads(actions) if isinstance(actions, str | bytes) else actions,
                       record["acknowledged_at"], record["closed_at"], record["evidence_seen"])


@dataclass(frozen=True)
class HandlingFilter:
    """`findings(...)`'s handling filters; None: any."""

    state: str | None = None
    assignee: str | None = None
    overdue: bool | None = None

    @property
    def given(self) -> bool:
        return self.state is not None or self.assignee is not None or self.overdue is not None


@dataclass(frozen=True)
class HandlingCount:
    """How one department, or one pair, handles the findings detected in a range (durations in seconds)."""

    departments: tuple[str, ...]
    findings: int
    open: int
    acknowledged: int
    overdue: int
    acknowledge_median: float | None
    acknowledge_p90: float | None
    close_median: float | None
    close_p90: float | None
    assignees: tuple[AssigneeLoad, ...] = ()  # who is on its open findings, the busiest first


@dataclass(frozen=True)
class AssigneeLoad:
    assignee: str | None  # None: nobody assigned them and their first department has no owner
    open: int
    overdue: int


class HandlingReads:
    def __init__(self, pool: ReadPool, policy: HandlingPolicy, clock: Callable[[], datetime] = utc_now) -> None:
        self.pool = pool
        self.policy = policy
        self.clock = clock

    async def rows(self, finding_ids: Sequence[str]) -> list[HandlingRow | None]:
        """For a request's DataLoader: each finding's handling row, None where nobody acted yet."""
        found = {str(row["finding_id"]): row_of(row) for row in await self.pool.fetch(ROWS, list(finding_ids))}
        return [found.get(finding_id) for finding_id in finding_ids]

    async def page(
        self, limit: int, chosen: HandlingFilter, *, open_only: bool | None, rule: str | None, department: str | None,
        after: tuple[datetime, str] | None,
    ) -> list[FindingRecord]:
        """Findings across accounts whose handling matches, newest detection first."""
        after_at, after_id = after if after else (None, None)
        rows = await self.pool.fetch(FINDINGS_PAGE, *policy_parameters(self.policy, self.clock()), open_only, rule,
                                     department, after_at, after_id, chosen.state, chosen.assignee, chosen.overdue, limit)
        return [FindingRecord.from_row(row) for row in rows]

    async def report(self, start: datetime | None, end: datetime | None) -> list[HandlingCount]:
        """Per department and per pair: the findings detected in the range, and how they are handled."""
        rows = await self.pool.fetch(REPORT, *policy_parameters(self.policy, self.clock()), start, end)
        counts = [HandlingCount(tuple(sorted(row["departments"], key=DEPARTMENTS.index)), row["findings"], row["open"],
                                row["acknowledged"], row["overdue"], row["acknowledge_median"], row["acknowledge_p90"],
                                row["close_median"], row["close_p90"],
                                tuple(AssigneeLoad(**each) for each in orjson.loads(row["assignees"]))) for row in rows]
        return sorted(counts, key=lambda count: (len(count.departments), [DEPARTMENTS.index(each) for each in count.departments]))

    async def finding(self, finding_id: UUID) -> FindingRecord | None:
        row = await self.pool.fetchrow(FINDING, finding_id)
        return FindingRecord.from_row(row) if row is not None else None
