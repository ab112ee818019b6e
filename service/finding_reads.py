"""Reads of the findings view (live) and findings as of a past time (judged from the events).

The live findings are the projector's rows. Findings as of a time T are, by the
time-travel law of `rules.md`, the rules applied to the account's events with
`occurredAt <= T` and judged at T: they are computed from those events, read by the
timeline index, with the same pure rules the projector runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.stream import account_stream_id
from projections.evaluation import evaluate
from projections.facts import fact_from_stored
from projections.findings import DEPARTMENT_ORDER, Finding
from projections.history import history_of
from projections.thresholds import Thresholds
from service.reads import EVENTS_TABLE, EventRecord

COLUMNS = "id, account_id, rule, severity, departments, evidence, detected_at, resolved_at, summary"

ACCOUNT_FINDINGS = f"""
SELECT {COLUMNS} FROM cx360_findings
WHERE account_id = $1 AND ($2::bool IS NULL OR (resolved_at IS NULL) = $2)
ORDER BY detected_at DESC, id
"""

FINDINGS = f"""
SELECT {COLUMNS} FROM cx360_findings
WHERE ($1::bool IS NULL OR (resolved_at IS NULL) = $1)
  AND ($2::text IS NULL OR rule = $2)
  AND ($3::text IS NULL OR $3 = ANY(departments))
  AND ($4::timestamptz IS NULL OR (detected_at, id) < ($4, $5::uuid))
ORDER BY detected_at DESC, id DESC
LIMIT $6
"""

MATRIX = """
WITH chosen AS (
  SELECT account_id, departments, resolved_at FROM cx360_findings
  WHERE ($1::timestamptz IS NULL OR detected_at >= $1) AND ($2::timestamptz IS NULL OR detected_at <= $2)
), pairs AS (
  SELECT account_id, resolved_at, ARRAY[one, other] AS departments
  FROM chosen, unnest(departments) one, unnest(departments) other WHERE one < other
  UNION ALL
  SELECT account_id, resolved_at, departments FROM chosen WHERE cardinality(departments) = 1
)
SELECT departments, count(*) AS findings, count(*) FILTER (WHERE resolved_at IS NULL) AS open,
       count(DISTINCT account_id) AS accounts
FROM pairs GROUP BY departments ORDER BY count(*) DESC, departments
"""

EVENTS_AT = f"""
SELECT topic, occurred_at, originator_version, notification_id, state FROM {EVENTS_TABLE}
WHERE notification_id = ANY($1::bigint[])
"""

ACCOUNT_EVENTS_UNTIL = f"""
SELECT notification_id, topic, state FROM {EVENTS_TABLE} WHERE originator_id = $1 AND occurred_at <= $2
"""


@dataclass(frozen=True, slots=True)
class FindingRecord:
    id: str
    account_id: str
    rule: str
    severity: str
    departments: tuple[str, ...]
    evidence: tuple[int, ...]  # positions of the events in the log
    detected_at: datetime
    resolved_at: datetime | None
    summary: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> FindingRecord:
        return cls(str(row["id"]), row["account_id"], row["rule"], row["severity"], tuple(row["departments"]),
                   tuple(row["evidence"]), row["detected_at"], row["resolved_at"], row["summary"])

    @classmethod
    def from_finding(cls, finding: Finding) -> FindingRecord:
        return cls(finding.id, finding.account_id, finding.rule, finding.severity, finding.departments,
                   tuple(fact.position for fact in finding.evidence), finding.detected_at, finding.resolved_at,
                   finding.summary)


@dataclass(frozen=True, slots=True)
class DepartmentCount:
    departments: tuple[str, ...]
    findings: int
    open: int
    accounts: int


class FindingReads:
    def __init__(self, pool: asyncpg.Pool, thresholds: Thresholds) -> None:
        self.pool = pool
        self.thresholds = thresholds

    async def of_account(self, account_id: str, open_only: bool | None) -> list[FindingRecord]:
        """The account's live findings; `open_only` True for open, False for resolved, None for all."""
        return [FindingRecord.from_row(row) for row in await self.pool.fetch(ACCOUNT_FINDINGS, account_id, open_only)]

    async def of_account_as_of(self, account_id: str, as_of: datetime, open_only: bool | None) -> list[FindingRecord]:
        """The account's findings as they were at `as_of`, from the events that had happened by then."""
        rows = await self.pool.fetch(ACCOUNT_EVENTS_UNTIL, account_stream_id(account_id), as_of)
        facts = [fact_from_stored(row["notification_id"], row["topic"], row["state"])[0] for row in rows]
        found = evaluate(history_of(account_id, facts), as_of, self.thresholds).findings
        chosen = [each for each in found if open_only is None or each.is_open == open_only]
        return [FindingRecord.from_finding(each) for each in sorted(chosen, key=lambda f: (f.detected_at, f.id), reverse=True)]

    async def page(
        self, limit: int, *, open_only: bool | None, rule: str | None, department: str | None,
        after: tuple[datetime, str] | None,
    ) -> list[FindingRecord]:
        """Findings across accounts, newest detection first."""
        after_at, after_id = after if after else (None, None)
        rows = await self.pool.fetch(FINDINGS, open_only, rule, department, after_at, after_id, limit)
        return [FindingRecord.from_row(row) for row in rows]

    async def matrix(self, start: datetime | None, end: datetime | None) -> list[DepartmentCount]:
        rows = await self.pool.fetch(MATRIX, start, end)
        return [
            DepartmentCount(tuple(sorted(row["departments"], key=DEPARTMENT_ORDER.index)), row["findings"],
                            row["open"], row["accounts"])
            for row in rows
        ]

    async def events_at(self, positions: Sequence[int]) -> list[EventRecord | None]:
        """The events at these positions, in the same order (None where there is none)."""
        rows = await self.pool.fetch(EVENTS_AT, list(positions))
        found = {row["notification_id"]: EventRecord.from_row(row) for row in rows}
        return [found.get(position) for position in positions]

