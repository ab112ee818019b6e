"""Attribution reads: credits from the projector's rows, summed per currency and group, or per conversion.

Every model is a column of the credit rows (`service.projection.attribution_store`; the
data-driven one by the effects learnt for each conversion's month, `service.projection.learning`),
so a total is one SQL aggregate: of the daily sums for the whole UTC days in the range, and
of the credit rows themselves for the parts of a day at either end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import groupby
from typing import Any

import asyncpg

from projections.attribution.models import checked_model
from projections.attribution.totals import GROUPS, Total
from service.read.pool import ReadPool

CREDITS = "cx360_view_attribution_credits"
DAILY = "cx360_view_attribution_daily"
GROUP_COLUMNS = {group: group for group in GROUPS}  # each grouping is a column of the credit rows

# $1-$2 and $3-$4: the parts of a day at the range's ends (from the credit rows); $5-$6: its whole days.
SUMS = """SELECT currency, grp, unattributed, sum(amount) AS amount, sum(conversions) AS conversions,
  sum(touches) AS touches
FROM (SELECT currency, {group} AS grp, touch_position IS NULL AS unattributed, sum({model}) AS amount,
        count(DISTINCT conversion_position) AS conversions, count(touch_position) AS touches
      FROM {credits} WHERE occurred_at >= $1 AND occurred_at < $2 OR occurred_at >= $3 AND occurred_at < $4
      GROUP BY 1, 2, 3
      UNION ALL
      SELECT currency, grp, unattributed, {model}, conversions, touches
      FROM {daily} WHERE grouping = '{group}' AND day >= $5 AND day < $6) AS parts
GROUP BY 1, 2, 3 HAVING sum(conversions) > 0"""
DAY = timedelta(days=1)
ROWS = """SELECT account_id, conversion_position, conversion_event_id, conversion_kind, occurred_at, currency, amount,
  touch_position, touch_event_id, touch_at, department, channel, campaign, actor, {model} AS credit
FROM {credits} WHERE {where}
ORDER BY occurred_at, conversion_position, touch_at, touch_source COLLATE "C",
  touch_event_id COLLATE "C"
"""
JUST_BEFORE = timedelta(microseconds=1)  # the last instant of a range whose end is excluded
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class TouchCredit:
    event_id: str
    occurred_at: datetime
    department: str
    channel: str
    campaign: str | None
    actor: str | None
    amount: Decimal


@dataclass(frozen=True)
class ConversionCredits:
    event_id: str
    kind: str
    occurred_at: datetime
    amount: Decimal
    currency: str
    credits: tuple[TouchCredit, ...]  # empty: unattributed


class AttributionReads:
    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool

    async def totals(self, model: str, start: datetime, end: datetime, group_by: str) -> list[Total]:
        """The credits of the conversions in [start, end) by `group_by` and currency; unattributed in rows of their own.

        The end is excluded, as in every revenue range (`contradictionsCost`, `cxImpact`, `cx360 report`): months tile.
        """
        checked_model(model)
        rows = await self.pool.fetch(SUMS.format(group=GROUP_COLUMNS[group_by], model=model, credits=CREDITS,
                                                 daily=DAILY), *split_by_days(start, end))
        return sorted_totals(Total(row["currency"], row["grp"], row["unattributed"], row["amount"],
                                   row["conversions"], row["touches"]) for row in rows)

    async def of_account(self, model: str, account_id: str, as_of: datetime | None) -> list[ConversionCredits]:
        """The account's conversions (up to `as_of`), each with its touches' credits by the model (the data-driven
        model's as learnt for each conversion's month, as of now)."""
        checked_model(model)
        rows = await self.rows("account_id = $1 AND occurred_at <= $2", account_id, as_of or FAR_FUTURE, model=model)
        return conversions_of(rows, [[row["credit"] for row in group] for group in by_conversion(rows)])

    async def rows(self, where: str, *arguments: Any, model: str = "linear") -> list[asyncpg.Record]:
        return await self.pool.fetch(ROWS.format(model=checked_model(model), credits=CREDITS, where=where), *arguments)


def split_by_days(start: datetime, end: datetime) -> tuple[datetime, datetime, datetime, datetime, date, date]:
    """[start, end) as its whole UTC days [first, last) and the parts of a day before and after them.

    With no whole day in it, the range is all one part (and the days are an empty range)."""
    first = midnight(start + DAY - JUST_BEFORE)
    last = midnight(end)
    if first >= last:
        return start, end, end, end, first.date(), first.date()
    return start, first, last, end, first.date(), last.date()


def midnight(moment: datetime) -> datetime:
    utc = moment.astimezone(timezone.utc)
    return datetime(utc.year, utc.month, utc.day, tzinfo=timezone.utc)


def by_conversion(rows: Iterable[asyncpg.Record]) -> list[list[asyncpg.Record]]:
    return [list(group) for _, group in groupby(rows, key=lambda row: row["conversion_position"])]


def conversions_of(rows: Sequence[asyncpg.Record], credits: Sequence[Sequence[Decimal]]) -> list[ConversionCredits]:
    found = []
    for group, amounts in zip(by_conversion(rows), credits, strict=True):
        first = group[0]
        touched = tuple(TouchCredit(row["touch_event_id"], row["touch_at"], row["department"], row["channel"],
                                    row["campaign"], row["actor"], amount)
                        for row, amount in zip(group, amounts, strict=True) if row["touch_position"] is not None)
        found.append(ConversionCredits(first["conversion_event_id"], first["conversion_kind"], first["occurred_at"],
                                       first["amount"], first["currency"], touched))
    return found


def sorted_totals(rows: Iterable[Total]) -> list[Total]:
    return sorted(rows, key=lambda row: (row.currency, row.unattributed, -row.amount, row.group or ""))
