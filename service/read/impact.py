"""Reads for the contradictions' cost and CX impact (asyncpg): the accounts of a range, their revenue facts and findings.

Three queries in one snapshot: the accounts with an event before the range's end (with
their health score now), the revenue events up to the end (wins, subscription changes,
opportunities opened and lost: a scan of the events table by type, the one cost here
that grows with the store), and the findings that may count (open at some instant from
`lost_days` before the range to its end). The judging is pure
(`projections.attribution`), run in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import asyncpg

from domain.stream import topic_of
from projections.attribution.contradictions import LOST_DAYS, ContradictionsCost, Span, contradictions_cost
from projections.attribution.impact import Impact, Outcome, cx_impact
from projections.attribution.outcomes import READS, Revenue, mrr_entering, revenue_of
from projections.attribution.settings import AttributionSettings
from projections.facts import ORDER, Fact, fact_from_stored
from service.projection.view_store import ACCOUNT_VIEWS_TABLE, FINDINGS_TABLE
from service.read.pool import ReadPool
from service.store.tables import ACCOUNTS_TABLE, EVENTS_TABLE

if TYPE_CHECKING:
    from service.read.pool import Connection

ACCOUNTS = f"""
SELECT a.account_id, v.health FROM {ACCOUNTS_TABLE} a LEFT JOIN {ACCOUNT_VIEWS_TABLE} v ON v.account_id = a.account_id
WHERE EXISTS (SELECT 1 FROM {EVENTS_TABLE} e WHERE e.originator_id = a.originator_id AND e.occurred_at < $1)
"""
REVENUE_EVENTS = f"""
SELECT notification_id, topic, state, occurred_at FROM {EVENTS_TABLE} WHERE topic = ANY($1::text[]) AND occurred_at < $2
"""
SPANS = f"""
SELECT account_id, rule, severity, departments, detected_at, resolved_at FROM {FINDINGS_TABLE}
WHERE detected_at < $2 AND (resolved_at IS NULL OR resolved_at > $1)
"""
TOPICS = sorted(topic_of(name) for name in READS)


@dataclass(frozen=True)
class RangeFacts:
    """What a range's cost and impact are judged from."""

    health: dict[str, int | None]  # every account with an event before the end
    facts: dict[str, list[Fact]]  # account -> its revenue facts up to the end, in order
    spans: list[Span]


class ImpactReads:
    def __init__(self, pool: ReadPool, settings: AttributionSettings) -> None:
        self.pool = pool
        self.settings = settings

    async def range_facts(self, start: datetime, end: datetime) -> RangeFacts:
        async def read(connection: "Connection") -> tuple[list[asyncpg.Record], ...]:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                return (await connection.fetch(ACCOUNTS, end), await connection.fetch(REVENUE_EVENTS, TOPICS, end),
                        await connection.fetch(SPANS, start - timedelta(days=LOST_DAYS), end))

        accounts, events, spans = await self.pool.run(read)
        facts: dict[str, list[Fact]] = defaultdict(list)
        for row in events:
            fact, account_id = fact_from_stored(row["notification_id"], row["topic"], row["state"], row["occurred_at"])
            facts[account_id].append(fact)
        for each in facts.values():
            each.sort(key=ORDER)
        return RangeFacts({row["account_id"]: row["health"] for row in accounts}, dict(facts),
                          [Span(row["account_id"], row["rule"], row["severity"], tuple(row["departments"]),
                                row["detected_at"], row["resolved_at"]) for row in spans])

    async def cost(self, start: datetime, end: datetime) -> ContradictionsCost:
        read = await self.range_facts(start, end)
        return await asyncio.to_thread(lambda: judge_cost(read, *revenue(read, start, end, self.settings)))

    async def impact(self, start: datetime, end: datetime, resamples: int) -> list[Impact]:
        read = await self.range_facts(start, end)
        return await asyncio.to_thread(
            lambda: judge_impact(read, revenue(read, start, end, self.settings)[0], start, end, resamples))


def revenue(read: RangeFacts, start: datetime, end: datetime,
            settings: AttributionSettings) -> tuple[list[Revenue], list[Revenue]]:
    gains: list[Revenue] = []
    losses: list[Revenue] = []
    for account_id, facts in read.facts.items():
        found, lost = revenue_of(account_id, facts, start, end, settings)
        gains.extend(found)
        losses.extend(lost)
    return gains, losses


def judge_cost(read: RangeFacts, gains: Sequence[Revenue], losses: Sequence[Revenue]) -> ContradictionsCost:
    return contradictions_cost(gains, losses, read.spans)


def judge_impact(read: RangeFacts, gains: Sequence[Revenue], start: datetime, end: datetime,
                 resamples: int) -> list[Impact]:
    """The range's accounts (with their won revenue among `gains`, their MRR and health) compared."""
    won: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for gain in gains:
        if gain.kind == "won" and gain.currency is not None and gain.amount is not None:
            won[gain.account_id][gain.currency] += gain.amount
    outcomes = [Outcome(account_id, dict(won.get(account_id, {})), mrr_entering(read.facts.get(account_id, []), start),
                        mrr_entering(read.facts.get(account_id, []), end), health)
                for account_id, health in sorted(read.health.items())]
    return cx_impact(outcomes, read.spans, start, end, resamples)
