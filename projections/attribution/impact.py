"""CX impact: accounts treated inconsistently compared with those that were not, over a range. Association, not proof.

For a range `[start, end)`, an account is **with** a contradiction if a HIGH finding
was open on it at some instant of the range, **without** if none was. Per rule, the
accounts with a finding of that rule open in the range are compared with those that
had neither a HIGH finding nor one of that rule (so the groups never share an account).

Each comparison gives, for both groups and their difference (with - without):

- `won_revenue` per currency: the mean per account of what it won in the range (0 for an
  account that won nothing in that currency), with both groups' totals;
- `churn_rate`: of the accounts paying when the range starts (MRR entering it above 0),
  the share paying nothing when it ends;
- `net_revenue_retention` per currency: of the accounts paying in that currency when
  the range starts, the MRR they end with over the MRR they started with (pooled:
  sum over sum);
- `average_health`: the mean health score of the accounts that have one.

With the group sizes each number is made of, and a 95% bootstrap confidence interval of
the difference (`scipy.stats.bootstrap`, percentile method, a fixed seed so the same
data always gives the same interval). A group under `MIN_GROUP` accounts is too small
to read: its numbers are given, its interval is not. A difference whose interval holds
0 is one the data cannot tell from none; one that does not is an association between
the contradiction and the outcome, not its cause (accounts in trouble draw more
findings, and findings may come of the trouble).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from projections.attribution.contradictions import HIGH, Span
from projections.attribution.outcomes import Mrr

MIN_GROUP = 30  # accounts: below this a group is too small to read
RESAMPLES = 2_000
CONFIDENCE = 0.95
SEED = 360
BATCH = 100  # resamples drawn at once: bounds the memory at 100 x the group size

Floats = NDArray[np.float64]


class Outcome(NamedTuple):
    """One account over the range."""

    account_id: str
    won: Mapping[str, Decimal]  # currency -> won in the range
    mrr_start: Mrr | None  # entering the range
    mrr_end: Mrr | None  # entering its end
    health: int | None


@dataclass(frozen=True)
class Comparison:
    metric: str  # won_revenue | churn_rate | net_revenue_retention | average_health
    currency: str | None
    with_value: float | None
    without_value: float | None
    difference: float | None
    low: float | None  # the interval of the difference; None when a group is too small or empty
    high: float | None
    with_accounts: int  # the accounts each value is made of
    without_accounts: int
    with_total: Decimal | None = None  # won_revenue: the groups' totals
    without_total: Decimal | None = None

    @property
    def too_small(self) -> bool:
        return min(self.with_accounts, self.without_accounts) < MIN_GROUP


@dataclass(frozen=True)
class Impact:
    scope: str  # "HIGH" (any HIGH finding) or a rule's id
    with_accounts: int
    without_accounts: int
    comparisons: tuple[Comparison, ...]

    @property
    def too_small(self) -> bool:
        return min(self.with_accounts, self.without_accounts) < MIN_GROUP


def cx_impact(outcomes: Sequence[Outcome], spans: Iterable[Span], start: datetime, end: datetime,
              resamples: int = RESAMPLES) -> list[Impact]:
    """The comparison for any HIGH finding, then per rule (rules by id)."""
    high: set[str] = set()
    by_rule: dict[str, set[str]] = {}
    for span in spans:
        if span.open_during(start, end):
            by_rule.setdefault(span.rule, set()).add(span.account_id)
            if span.severity == HIGH:
                high.add(span.account_id)
    found = [compare("HIGH", [each for each in outcomes if each.account_id in high],
                     [each for each in outcomes if each.account_id not in high], resamples)]
    for rule in sorted(by_rule):
        accounts, excluded = by_rule[rule], high | by_rule[rule]
        found.append(compare(rule, [each for each in outcomes if each.account_id in accounts],
                             [each for each in outcomes if each.account_id not in excluded], resamples))
    return found


def compare(scope: str, with_: Sequence[Outcome], without: Sequence[Outcome], resamples: int) -> Impact:
    comparisons: list[Comparison] = []
    for currency in sorted({currency for each in (*with_, *without) for currency in each.won}):
        comparisons.append(won_revenue(currency, with_, without, resamples))
    comparisons.append(churn(with_, without, resamples))
    for currency in sorted({start.currency for each in (*with_, *without) if (start := paying(each)) is not None}):
        comparisons.append(retention(currency, with_, without, resamples))
    comparisons.append(health(with_, without, resamples))
    return Impact(scope, len(with_), len(without), tuple(comparisons))


def paying(outcome: Outcome) -> Mrr | None:
    """The MRR the account entered the range with, if it paid anything."""
    return outcome.mrr_start if outcome.mrr_start is not None and outcome.mrr_start.amount > 0 else None


def won_revenue(currency: str, with_: Sequence[Outcome], without: Sequence[Outcome], resamples: int) -> Comparison:
    def won(group: Sequence[Outcome]) -> Floats:
        return np.array([float(each.won.get(currency, 0)) for each in group])

    def total(group: Sequence[Outcome]) -> Decimal:
        return sum((each.won.get(currency, Decimal(0)) for each in group), Decimal(0))

    compared = of_means("won_revenue", currency, won(with_), won(without), resamples)
    return Comparison(**{**compared.__dict__, "with_total": total(with_), "without_total": total(without)})


def churn(with_: Sequence[Outcome], without: Sequence[Outcome], resamples: int) -> Comparison:
    def churned(group: Sequence[Outcome]) -> Floats:
        return np.array([float(each.mrr_end is None or each.mrr_end.amount == 0) for each in group
                         if paying(each) is not None])

    return of_means("churn_rate", None, churned(with_), churned(without), resamples)


def retention(currency: str, with_: Sequence[Outcome], without: Sequence[Outcome], resamples: int) -> Comparison:
    """Pooled over the accounts paying in `currency` at the start; an MRR ending in another currency ends at 0 in this one."""

    def mrr(group: Sequence[Outcome]) -> tuple[Floats, Floats]:
        chosen = [(start, each.mrr_end) for each in group if (start := paying(each)) is not None
                  and start.currency == currency]
        starts = np.array([float(start.amount) for start, _ in chosen])
        ends = np.array([float(end.amount) if end is not None and end.currency == currency else 0.0
                         for _, end in chosen])
        return starts, ends

    return of_pooled("net_revenue_retention", currency, mrr(with_), mrr(without), resamples)


def health(with_: Sequence[Outcome], without: Sequence[Outcome], resamples: int) -> Comparison:
    def scores(group: Sequence[Outcome]) -> Floats:
        return np.array([float(each.health) for each in group if each.health is not None])

    return of_means("average_health", None, scores(with_), scores(without), resamples)


def of_means(metric: str, currency: str | None, with_: Floats, without: Floats, resamples: int) -> Comparison:
    """The groups' means, their difference and its interval (the bootstrap resamples each group's values)."""
    with_value = float(with_.mean()) if len(with_) else None
    without_value = float(without.mean()) if len(without) else None
    return compared(metric, currency, with_value, without_value, (with_, without),
                    lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis), resamples)


def of_pooled(metric: str, currency: str | None, with_: tuple[Floats, Floats], without: tuple[Floats, Floats],
              resamples: int) -> Comparison:
    """Each group's sum of ends over sum of starts, their difference and its interval.

    A ratio of sums is no mean of one value per account: the bootstrap resamples each
    group's accounts as indices into its two arrays.
    """

    def ratio(starts: Floats, ends: Floats, indices: Floats, axis: int = -1) -> Any:
        chosen = indices.astype(int)
        return ends[chosen].sum(axis=axis) / starts[chosen].sum(axis=axis)

    sizes = len(with_[0]), len(without[0])
    with_value = float(with_[1].sum() / with_[0].sum()) if sizes[0] else None
    without_value = float(without[1].sum() / without[0].sum()) if sizes[1] else None
    indices = np.arange(sizes[0], dtype=float), np.arange(sizes[1], dtype=float)
    return compared(metric, currency, with_value, without_value, indices,
                    lambda a, b, axis: ratio(*with_, a, axis) - ratio(*without, b, axis), resamples)


def compared(metric: str, currency: str | None, with_value: float | None, without_value: float | None,
             samples: tuple[Floats, Floats], difference_of: Callable[..., Any], resamples: int) -> Comparison:
    """The comparison, with the 95% interval of the difference when both groups are big enough to read."""
    sizes = len(samples[0]), len(samples[1])
    difference = None if with_value is None or without_value is None else with_value - without_value
    low = high = None
    if difference is not None and min(sizes) >= MIN_GROUP and resamples > 0:
        from scipy.stats import bootstrap  # here: importing scipy.stats costs a process about 75 MB and 0.6 s

        interval = bootstrap(samples, difference_of, n_resamples=resamples, batch=BATCH, vectorized=True,
                             method="percentile", confidence_level=CONFIDENCE,
                             rng=np.random.default_rng(SEED)).confidence_interval
        low, high = float(interval.low), float(interval.high)
    return Comparison(metric, currency, with_value, without_value, difference, low, high, sizes[0], sizes[1])


# How each outcome is named and written, in the readings (GraphQL's `reading`) and the report.
WORDS = {
    "won_revenue": ("won per account", "{:,.2f}"),
    "churn_rate": ("churn", "{:.1%}"),
    "net_revenue_retention": ("net revenue retention", "{:.1%}"),
    "average_health": ("average health", "{:.1f}"),
}


def shown(metric: str, value: float | None) -> str:
    """A value of the metric as the readings write it ("—" for none)."""
    return "—" if value is None else WORDS[metric][1].format(value)


def accounts(count: int) -> str:
    return f"{count} account" if count == 1 else f"{count} accounts"


def reading(compared: Comparison) -> str:
    name, metric = WORDS[compared.metric][0], compared.metric
    if compared.currency:
        name = f"{name} ({compared.currency})"
    if compared.difference is None:
        return f"{name}: no account to compare on one side."
    sizes = f"{accounts(compared.with_accounts)} with, {compared.without_accounts} without"
    values = f"{shown(metric, compared.with_value)} with against {shown(metric, compared.without_value)} without"
    if compared.too_small or compared.low is None or compared.high is None:
        return f"{name}: {values} ({sizes}): too small to read, {MIN_GROUP} accounts a side are needed."
    interval = f"95% interval of the difference {shown(metric, compared.low)} to {shown(metric, compared.high)}"
    if compared.low <= 0 <= compared.high:
        return f"{name}: {values} ({sizes}; {interval}): the data cannot tell this difference from none."
    return (f"{name}: {values} ({sizes}; {interval}): an association between the contradiction and the outcome, "
            "not proof that one caused the other.")
