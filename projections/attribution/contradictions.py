"""The cost of contradictions: revenue that came while a finding was open, and revenue lost after a HIGH one opened.

Per rule and per department pair (as the department matrix pairs them: every two
departments a finding names, or the one it names alone):

- **converted while open**: the conversions and renewals (`outcomes`) at whose instant a
  finding of the rule (of the pair) was open on the account: detected at or before it,
  not resolved by then. A conversion counts once per rule and once per pair, however
  many of their findings were open.
- **lost after a HIGH finding**: the losses (opportunities lost, subscriptions
  cancelled) in the `lost_days` (default 90) after a HIGH finding of the rule (of the
  pair) was detected: `detected <= at < detected + lost_days`.

Amounts are summed per currency, never across currencies; a loss whose amount was
never known is counted, not summed (`unknown_amounts`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import combinations
from typing import NamedTuple

from domain.catalogue import DEPARTMENTS
from projections.attribution.outcomes import Revenue

LOST_DAYS = 90
HIGH = "HIGH"

Pair = tuple[str, ...]  # two departments in the catalogue's order, or one


class Span(NamedTuple):
    """A finding's life, as the cost and the impact read it."""

    account_id: str
    rule: str
    severity: str
    departments: tuple[str, ...]
    detected_at: datetime
    resolved_at: datetime | None

    def open_at(self, at: datetime) -> bool:
        return self.detected_at <= at and (self.resolved_at is None or self.resolved_at > at)

    def open_during(self, start: datetime, end: datetime) -> bool:
        """Open at some instant of `[start, end)`."""
        return self.detected_at < end and (self.resolved_at is None or self.resolved_at > start)


def pairs_of(departments: Iterable[str]) -> list[Pair]:
    ordered = sorted(set(departments), key=DEPARTMENTS.index)
    return [tuple(ordered)] if len(ordered) == 1 else list(combinations(ordered, 2))


@dataclass
class Tally:
    """Amounts per currency with the counts they are made of."""

    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    events: int = 0
    accounts: set[str] = field(default_factory=set)
    unknown_amounts: int = 0  # counted, with no amount to add

    def add(self, revenue: Revenue) -> None:
        self.events += 1
        self.accounts.add(revenue.account_id)
        if revenue.amount is None or revenue.currency is None:
            self.unknown_amounts += 1
        else:
            self.amounts[revenue.currency] += revenue.amount


@dataclass
class Cost:
    """What one rule (or one department pair) stands beside."""

    converted_while_open: Tally = field(default_factory=Tally)
    lost_after_high: Tally = field(default_factory=Tally)


@dataclass
class ContradictionsCost:
    by_rule: dict[str, Cost]
    by_pair: dict[Pair, Cost]


def contradictions_cost(gains: Sequence[Revenue], losses: Sequence[Revenue], spans: Sequence[Span],
                        lost_days: int = LOST_DAYS) -> ContradictionsCost:
    by_account: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_account[span.account_id].append(span)
    by_rule: dict[str, Cost] = defaultdict(Cost)
    by_pair: dict[Pair, Cost] = defaultdict(Cost)
    for gain in gains:
        open_then = [span for span in by_account.get(gain.account_id, ()) if span.open_at(gain.at)]
        for rule in {span.rule for span in open_then}:
            by_rule[rule].converted_while_open.add(gain)
        for pair in {pair for span in open_then for pair in pairs_of(span.departments)}:
            by_pair[pair].converted_while_open.add(gain)
    window = timedelta(days=lost_days)
    for loss in losses:
        after_high = [span for span in by_account.get(loss.account_id, ())
                      if span.severity == HIGH and span.detected_at <= loss.at < span.detected_at + window]
        for rule in {span.rule for span in after_high}:
            by_rule[rule].lost_after_high.add(loss)
        for pair in {pair for span in after_high for pair in pairs_of(span.departments)}:
            by_pair[pair].lost_after_high.add(loss)
    return ContradictionsCost(dict(by_rule), dict(by_pair))
