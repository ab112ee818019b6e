"""Credits summed by department, channel, campaign or actor: one row per currency and group.

Amounts in different currencies are never added: the currency is part of every row's
key. A conversion no touch preceded gives an `unattributed` row of its currency, so its
revenue is counted, not dropped. Each row carries the counts it is made of.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import NamedTuple

from projections.attribution.journeys import Touch
from projections.attribution.models import Attribution

GROUPS: dict[str, Callable[[Touch], str | None]] = {
    "department": lambda touch: touch.department,
    "channel": lambda touch: touch.channel,
    "campaign": lambda touch: touch.campaign,
    "actor": lambda touch: touch.actor,
}


class Total(NamedTuple):
    currency: str
    group: str | None  # the department, channel, campaign or actor; None: the touches had none
    unattributed: bool  # the row of conversions no touch preceded (its group is None)
    amount: Decimal
    conversions: int  # the conversions credited to this group (each counted once)
    touches: int  # the touches credited


def totals(attributions: Iterable[Attribution], group_by: str) -> list[Total]:
    """The credits by `group_by` and currency, sorted by currency, then by amount (largest first)."""
    if group_by not in GROUPS:
        raise ValueError(f"groupBy: unknown grouping {group_by!r}; the groupings are {', '.join(GROUPS)}")
    group_of = GROUPS[group_by]
    sums: dict[tuple[str, str | None, bool], tuple[Decimal, set[int], int]] = {}

    def add(key: tuple[str, str | None, bool], amount: Decimal, conversion: int, touches: int) -> None:
        total, conversions, counted = sums.get(key, (Decimal(0), set(), 0))
        conversions.add(conversion)
        sums[key] = (total + amount, conversions, counted + touches)

    for number, attribution in enumerate(attributions):
        currency = attribution.conversion.currency
        for credit in attribution.credits:
            add((currency, group_of(credit.touch), False), credit.amount, number, 1)
        if not attribution.credits:
            add((currency, None, True), attribution.unattributed, number, 0)
    rows = [Total(currency, group, unattributed, amount, len(conversions), touches)
            for (currency, group, unattributed), (amount, conversions, touches) in sums.items()]
    return sorted(rows, key=lambda row: (row.currency, row.unattributed, -row.amount, row.group or ""))
