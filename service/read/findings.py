"""Reads of the findings view (live) and findings as of a past time (folded from a checkpoint).

The live findings are the projector's rows. Findings as of a time T are, by the
time-travel law of `rules.md`, the rules applied to the account's events with
`occurredAt <= T` and judged at T. They are folded from the projector's latest
checkpoint at or before T, with the account's events after it up to T (by the timeline
index), by the same pure folds the projector runs. T's health trend reads the scores the
projector stored at the week boundaries its folds passed; a point it has none for sends
the read to the checkpoint at or before that point, and is scored on the way. An event
the projector has not taken in yet sends the read to the checkpoint before it, and its
week's stored scores and those after are not used, so a late event counts at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import asyncpg
import orjson

from domain.catalogue import DEPARTMENTS
from domain.stream import account_stream_id
from projections.account_state import AccountState, findings_at, start
from projections.facts import ORDER, fact_from_stored
from projections.findings import Finding, Moment
from projections.folding import fold_recording, score_at
from projections.state_codec import StaleCheckpoint, decode
from projections.thresholds import Thresholds, thresholds_from
from projections.view.health import HealthWeights
from projections.view.model import HealthPoint
from projections.weeks import boundaries_before
from service.projection.projector import TREND_POINTS
from service.projection.view_store import (
    CHECKPOINTS_TABLE,
    FINDINGS_TABLE,
    SETTINGS_TABLE,
    TRACKING_TABLE,
    TREND_TABLE,
)
from service.read.accounts import EventRecord
from service.read.pool import ReadPool
from service.store.tables import EVENTS_TABLE

COLUMNS = "id, account_id, rule, severity, departments, evidence, detected_at, resolved_at, summary"

ACCOUNTS_FINDINGS = f"""
SELECT {COLUMNS} FROM {FINDINGS_TABLE}
WHERE account_id = ANY($1::text[])
ORDER BY detected_at DESC, id DESC
"""

FINDINGS = f"""
SELECT {COLUMNS} FROM {FINDINGS_TABLE}
WHERE ($1::bool IS NULL OR (resolved_at IS NULL) = $1)
  AND ($2::text IS NULL OR rule = $2)
  AND ($3::text IS NULL OR $3 = ANY(departments))
  AND ($4::timestamptz IS NULL OR (detected_at, id) < ($4, $5::uuid))
ORDER BY detected_at DESC, id DESC
LIMIT $6
"""

MATRIX = f"""
WITH chosen AS (
  SELECT account_id, departments, resolved_at FROM {FINDINGS_TABLE}
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

ACCOUNT_EVENTS_BETWEEN = f"""
SELECT notification_id, topic, state, occurred_at FROM {EVENTS_TABLE}
WHERE originator_id = $1 AND occurred_at > $2 AND occurred_at <= $3
"""

# Everything an asOf reads, in one statement (one snapshot, one round trip): the thresholds in force; the earliest
# instant of the account's events the projector has not taken in yet, and the trend points stored before it ($3,
# ordered); the checkpoint to fold from (the latest before that instant, and at or before the first point not stored,
# or T, $4); the findings final by its boundary (rows it does not hold), as JSON; and the events after it up to T,
# as an array of anonymous records (tuples in their columns' order). A record holding an array (a finding's
# evidence) would not do: asyncpg decodes an array inside an anonymous record only on a connection that has met
# that array type before.
AS_OF = f"""
WITH pending AS (
  SELECT min(occurred_at) AS at FROM {EVENTS_TABLE}
  WHERE notification_id > coalesce((SELECT max(notification_id) FROM {TRACKING_TABLE}), 0) AND originator_id = $2
), stored AS (
  SELECT boundary, score FROM {TREND_TABLE}
  WHERE account_id = $1 AND boundary = ANY($3::timestamptz[]) AND boundary < coalesce((SELECT at FROM pending), 'infinity')
), bound AS (
  SELECT least(coalesce((SELECT min(p) FROM unnest($3::timestamptz[]) AS p WHERE p NOT IN (SELECT boundary FROM stored)),
                        $4::timestamptz) + interval '1 microsecond', (SELECT at FROM pending)) AS before
), chosen AS (
  SELECT boundary, state FROM {CHECKPOINTS_TABLE} WHERE account_id = $1 AND boundary < (SELECT before FROM bound)
  ORDER BY boundary DESC LIMIT 1
)
SELECT (SELECT thresholds FROM {SETTINGS_TABLE} WHERE id = 1) AS thresholds,
       (SELECT array_agg(boundary ORDER BY boundary) FROM stored) AS boundaries,
       (SELECT array_agg(score ORDER BY boundary) FROM stored) AS scores, c.boundary, c.state,
       (SELECT jsonb_agg(to_jsonb(f)) FROM (SELECT {COLUMNS} FROM {FINDINGS_TABLE}
                                            WHERE account_id = $1 AND final_at <= c.boundary) AS f) AS final,
       (SELECT array_agg(e) FROM (SELECT notification_id, topic, state, occurred_at FROM {EVENTS_TABLE}
                                  WHERE originator_id = $2 AND occurred_at > coalesce(c.boundary, $5)
                                    AND occurred_at <= $4) AS e) AS events
FROM (SELECT 1) AS one LEFT JOIN chosen AS c ON true
"""

NEVER = datetime(1, 1, 2, tzinfo=timezone.utc)
JUST_AFTER = timedelta(microseconds=1)


FindingsKey = tuple[str, bool | None]  # (account id, open only: True, False or None for all)
JudgedKey = tuple[str, datetime]  # (account id, asOf)


class Judged(NamedTuple):
    """An account as of a moment: its folded state, its findings then, and its health trend's past points.

    `findings` are those of the state; `final_rows` those that had become final by the
    checkpoint it was folded from (the projector's final rows, as JSON), all resolved
    then: read as records (`final`) only by an answer that lists resolved findings.
    """

    state: AccountState
    findings: list[Finding]
    past: tuple[HealthPoint, ...]
    final_rows: str | None = None

    @property
    def final(self) -> list[FindingRecord]:
        return [FindingRecord.from_json(row) for row in orjson.loads(self.final_rows)] if self.final_rows else []


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
    def from_json(cls, stored: dict[str, Any]) -> FindingRecord:
        """From a finding as the change log keeps it (the row as JSON)."""
        resolved = stored["resolved_at"]
        return cls(stored["id"], stored["account_id"], stored["rule"], stored["severity"],
                   tuple(stored["departments"]), tuple(stored["evidence"]),
                   datetime.fromisoformat(stored["detected_at"]),
                   datetime.fromisoformat(resolved) if resolved else None, stored["summary"])

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

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
    """Findings: the live rows, and the findings as of a past moment judged from the events."""

    def __init__(self, pool: ReadPool, thresholds: Thresholds, weights: HealthWeights) -> None:
        self.pool = pool
        self.thresholds = thresholds
        self.weights = weights
        self.parsed: tuple[str, Thresholds] | None = None  # the stored thresholds' text, and what it gave

    async def of_accounts(self, keys: Sequence[FindingsKey]) -> list[list[FindingRecord]]:
        """Live findings of many accounts in one query, for a DataLoader keyed by (account, open_only).

        `open_only` True for open, False for resolved, None for all.
        """
        rows = await self.pool.fetch(ACCOUNTS_FINDINGS, list({account_id for account_id, _ in keys}))
        by_account: dict[str, list[FindingRecord]] = {}
        for row in rows:
            by_account.setdefault(row["account_id"], []).append(FindingRecord.from_row(row))
        return [
            [each for each in by_account.get(account_id, []) if open_only is None or each.is_open == open_only]
            for account_id, open_only in keys
        ]

    async def judged_as_of(self, account_id: str, as_of: datetime) -> Judged:
        """The account's state, findings and trend as of `as_of`: folded from the checkpoint at or before it.

        The thresholds, the stored trend points, the checkpoint, the findings final by its
        boundary (rows it does not hold) and the events after it are read by one statement,
        in one snapshot, so a projector refolding the account meanwhile cannot make a
        finding count twice or not at all.
        """
        points = boundaries_before(as_of, TREND_POINTS)
        stream = account_stream_id(account_id)
        begun = await self.pool.fetchrow(AS_OF, account_id, stream, points, as_of, NEVER)
        assert begun is not None
        thresholds = self.thresholds_of(begun["thresholds"])
        stored = dict(zip(begun["boundaries"] or (), begun["scores"] or (), strict=True))
        rows: list[tuple[Any, ...]] = begun["events"] or []
        base, final = start(account_id, thresholds), begun["final"]
        if begun["state"] is not None:
            try:
                base = decode(begun["state"])
            except StaleCheckpoint:  # another release's: folded from the first event instead
                final = None
                rows = [tuple(row) for row in await self.pool.fetch(ACCOUNT_EVENTS_BETWEEN, stream, NEVER, as_of)]
        facts = sorted((fact_from_stored(position, topic, state, occurred_at)[0]
                        for position, topic, state, occurred_at in rows), key=ORDER)
        # Attribution as of T is read from the credit rows (`service.read.attribution`), not from this state: its fold
        # is not advanced here (a quarter of an event's folding).
        base.attribution = None
        # The points not stored are scored from the state at each (the findings then read there); they all come
        # at or after the checkpoint, so the findings final before it, resolved by then, count at none of them.
        scores: dict[datetime, int | None] = dict(stored)
        missing = [point for point in points if point not in stored]
        state = fold_recording(base, facts, thresholds, self.weights, points=missing, scores=scores)
        findings = findings_at(state, Moment(as_of), thresholds)
        past = tuple(HealthPoint(point, scores[point] if point in scores else score_at(state, point, thresholds,
                                                                                          self.weights, findings))
                     for point in points)
        return Judged(state, findings, past, final)

    async def judged_many(self, keys: Sequence[JudgedKey]) -> list[Judged | Exception]:
        """For a request's DataLoader: the view, the findings and the agent context of one asOf
        then share one reading and one judging of the account's events.

        An account that cannot be judged fails its own fields, not those of the other
        accounts asked in the same batch.
        """
        judged: list[Judged | Exception] = []
        for account_id, as_of in keys:
            try:
                judged.append(await self.judged_as_of(account_id, as_of))
            except Exception as error:  # noqa: BLE001  # the loader raises it for this key alone
                judged.append(error)
        return judged

    def thresholds_of(self, stored: str | None) -> Thresholds:
        """The thresholds the live view was judged with (its stored text), so that as of now equals the live view.

        Read at every `asOf`; parsed again only when the stored text changes (a rebuild).
        """
        if stored is None:
            return self.thresholds
        if self.parsed is None or self.parsed[0] != stored:
            self.parsed = stored, thresholds_from(orjson.loads(stored), lenient=True)
        return self.parsed[1]

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
            DepartmentCount(tuple(sorted(row["departments"], key=DEPARTMENTS.index)), row["findings"],
                            row["open"], row["accounts"])
            for row in rows
        ]

    async def evidence(self, findings: Sequence[tuple[int, ...]]) -> list[list[EventRecord]]:
        """For a request's DataLoader keyed by each finding's evidence positions: the events of
        them all in one query, each finding's in its order (a position with no event is left out).

        One key per finding, not per event: a long-lived account's findings cite hundreds of
        events, and a future per event cost more than reading them.
        """
        positions = list({position for key in findings for position in key})
        rows = await self.pool.fetch(EVENTS_AT, positions) if positions else []
        found = {row["notification_id"]: EventRecord.from_row(row) for row in rows}
        return [[found[position] for position in key if position in found] for key in findings]


def records_as_of(judged: Judged, open_only: bool | None) -> list[FindingRecord]:
    """The findings of a judging as records, the most recently detected first."""
    found = [*map(FindingRecord.from_finding, judged.findings), *(judged.final if open_only is not True else ())]
    chosen = [each for each in found if open_only is None or each.is_open == open_only]
    return sorted(chosen, key=lambda each: (each.detected_at, each.id), reverse=True)
