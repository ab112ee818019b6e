"""SQL of findings with their handling as shown (state, assignee, overdue), for filters and the report.

The same derivations as `service.handling.shown`, in SQL, so lists can filter and page
by them: a finding nobody acted on is NEW and its first department's owner's; a snooze
that ran out is back; a close that newer evidence undid is back; overdue is not taken on
by the deadline of its severity while the rules hold it. The parameters $1 to $5 are
`policy_parameters` (the instant and the operator's policy).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.handling_policy import HandlingPolicy
from service.projection.view_store import FINDINGS_TABLE
from service.read.findings import COLUMNS
from service.store.tables import HANDLING_TABLE

TAKEN_ON = "(CASE WHEN h.assignee IS NULL THEN 'ACKNOWLEDGED' ELSE 'ASSIGNED' END)"
REOPENED = ("(h.state = 'CLOSED' AND f.resolved_at IS NULL"
            " AND h.evidence_seen < (SELECT max(position) FROM unnest(f.evidence) AS position))")


def handled(where: str = "TRUE") -> str:
    """A `handled` CTE: the findings matching `where` (on `f`), each with `handling_state`,
    `handling_assignee`, `overdue`, `closed` (by people, not undone) and its handling's times."""
    return f"""
WITH owners AS (SELECT * FROM unnest($2::text[], $3::text[]) AS o (department, owner)),
deadlines AS (SELECT * FROM unnest($4::text[], $5::float8[]) AS d (severity, seconds)),
handled AS (
  SELECT f.id, f.account_id, f.rule, f.severity, f.departments, f.evidence, f.detected_at, f.resolved_at, f.summary,
    h.acknowledged_at, h.closed_at,
    CASE WHEN h.finding_id IS NULL THEN 'NEW'
         WHEN h.state = 'SNOOZED' AND h.snoozed_until <= $1 THEN {TAKEN_ON}
         WHEN {REOPENED} THEN {TAKEN_ON}
         ELSE h.state END AS handling_state,
    coalesce(h.assignee, (SELECT owner FROM owners WHERE department = f.departments[1])) AS handling_assignee,
    (f.resolved_at IS NULL AND h.acknowledged_at IS NULL
     AND f.detected_at + make_interval(secs => (SELECT seconds FROM deadlines WHERE severity = f.severity)) < $1)
      AS overdue,
    coalesce(h.state = 'CLOSED' AND NOT {REOPENED}, FALSE) AS closed
  FROM {FINDINGS_TABLE} f LEFT JOIN {HANDLING_TABLE} h ON h.finding_id = f.id
  WHERE {where}
)"""


def policy_parameters(policy: HandlingPolicy, now: datetime) -> list[Any]:
    """$1 to $5 of `handled`: the instant, the owners and the deadlines."""
    owners, deadlines = list(policy.owners.items()), list(policy.acknowledge_within.items())
    return [now, [department for department, _ in owners], [owner for _, owner in owners],
            [severity for severity, _ in deadlines], [within.total_seconds() for _, within in deadlines]]


FINDINGS_PAGE = handled() + f"""
SELECT {COLUMNS} FROM handled
WHERE ($6::bool IS NULL OR (resolved_at IS NULL) = $6)
  AND ($7::text IS NULL OR rule = $7)
  AND ($8::text IS NULL OR $8 = ANY(departments))
  AND ($9::timestamptz IS NULL OR (detected_at, id) < ($9, $10::uuid))
  AND ($11::text IS NULL OR handling_state = $11)
  AND ($12::text IS NULL OR handling_assignee = $12)
  AND ($13::bool IS NULL OR overdue = $13)
ORDER BY detected_at DESC, id DESC
LIMIT $14
"""

GROUPED = "resolved_at, closed, overdue, detected_at, acknowledged_at, closed_at, handling_assignee"
SECONDS = "extract(epoch FROM {0} - detected_at)"

REPORT = handled("($6::timestamptz IS NULL OR f.detected_at >= $6) AND ($7::timestamptz IS NULL OR f.detected_at <= $7)") + f"""
, groups AS (
  SELECT ARRAY[one, other] AS pair, {GROUPED} FROM handled, unnest(handled.departments) one,
    unnest(handled.departments) other WHERE one < other
  UNION ALL
  SELECT ARRAY[one], {GROUPED} FROM handled, unnest(handled.departments) one
), loads AS (
  SELECT pair, handling_assignee AS assignee, count(*) AS open, count(*) FILTER (WHERE overdue) AS overdue
  FROM groups WHERE resolved_at IS NULL AND NOT closed GROUP BY pair, handling_assignee
)
SELECT pair AS departments, count(*) AS findings,
  coalesce((SELECT jsonb_agg(jsonb_build_object('assignee', l.assignee, 'open', l.open, 'overdue', l.overdue)
                             ORDER BY l.open DESC, l.assignee NULLS LAST)
            FROM loads l WHERE l.pair = groups.pair), '[]') AS assignees,
  count(*) FILTER (WHERE resolved_at IS NULL AND NOT closed) AS open,
  count(*) FILTER (WHERE acknowledged_at IS NOT NULL) AS acknowledged,
  count(*) FILTER (WHERE overdue) AS overdue,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY {SECONDS.format("acknowledged_at")}) AS acknowledge_median,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY {SECONDS.format("acknowledged_at")}) AS acknowledge_p90,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY {SECONDS.format("closed_at")}) FILTER (WHERE closed) AS close_median,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY {SECONDS.format("closed_at")}) FILTER (WHERE closed) AS close_p90
FROM groups GROUP BY pair
"""
