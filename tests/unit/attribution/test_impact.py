"""CX impact: the groups, the values by hand, and the bootstrap interval's behaviour."""

from __future__ import annotations

from decimal import Decimal

import pytest

from projections.attribution.contradictions import Span
from projections.attribution.impact import MIN_GROUP, Comparison, Impact, Outcome, cx_impact
from projections.attribution.outcomes import Mrr
from tests.unit.rules.builders import at, days

START, END = at("2026-04-01"), at("2026-07-01")


def outcome(account: str, won: str = "0", start: str | None = "100", end: str | None = "100", health: int | None = 70,
            currency: str = "USD") -> Outcome:
    return Outcome(account, {currency: Decimal(won)} if won != "0" else {},
                   None if start is None else Mrr(currency, Decimal(start)),
                   None if end is None else Mrr(currency, Decimal(end)), health)


def high(account: str, rule: str = "r1", severity: str = "HIGH", detected: int = 10, resolved: int | None = None) -> Span:
    return Span(account, rule, severity, ("sales", "support"), START + days(detected),
                None if resolved is None else START + days(resolved))


def metric(impact: Impact, name: str, currency: str | None = None) -> Comparison:
    return next(each for each in impact.comparisons if each.metric == name and each.currency == currency)


def test_small_groups_by_hand_with_no_interval() -> None:
    outcomes = [outcome("A", won="1000", end="0", health=40), outcome("B", end="150", health=60),
                outcome("C", won="300", end="100", health=80), outcome("D", start=None, end=None, health=None)]
    spans = [high("A"), high("B", severity="MEDIUM", rule="r2"),
             high("C", detected=-30, resolved=-1)]  # resolved before the range: not open in it
    overall, r1, r2 = cx_impact(outcomes, spans, START, END)
    assert (overall.scope, overall.with_accounts, overall.without_accounts) == ("HIGH", 1, 3)
    won = metric(overall, "won_revenue", "USD")
    assert (won.with_value, won.without_value, won.difference) == (1000.0, 100.0, 900.0)
    assert (won.with_total, won.without_total) == (Decimal("1000"), Decimal("300"))
    churn = metric(overall, "churn_rate")
    assert (churn.with_value, churn.without_value, churn.with_accounts, churn.without_accounts) == (1.0, 0.0, 1, 2)
    retention = metric(overall, "net_revenue_retention", "USD")
    assert (retention.with_value, retention.without_value) == (0.0, 1.25)  # (150 + 100) / (100 + 100)
    health = metric(overall, "average_health")
    assert (health.with_value, health.without_value, health.without_accounts) == (40.0, 70.0, 2)
    assert overall.too_small and won.too_small and (won.low, won.high) == (None, None)
    assert (r1.scope, r1.with_accounts, r1.without_accounts) == ("r1", 1, 3)
    assert (r2.scope, r2.with_accounts, r2.without_accounts) == ("r2", 1, 2)  # neither A (HIGH) nor B (r2): C and D


def test_an_empty_group_has_no_value_and_no_difference() -> None:
    [overall] = cx_impact([outcome("A"), outcome("B")], [], START, END)
    assert overall.with_accounts == 0
    churn = metric(overall, "churn_rate")
    assert (churn.with_value, churn.without_value, churn.difference) == (None, 0.0, None)


def many(count: int, churned_share: float, prefix: str) -> list[Outcome]:
    churned = round(count * churned_share)
    return [outcome(f"{prefix}{n}", won=str(100 * (n % 7)), end="0" if n < churned else "110", health=50 + n % 30)
            for n in range(count)]


def test_groups_big_enough_have_a_reproducible_interval_around_the_difference() -> None:
    with_, without = many(MIN_GROUP, 0.5, "w"), many(200, 0.1, "o")
    spans = [high(each.account_id) for each in with_]
    first = cx_impact([*with_, *without], spans, START, END, resamples=500)
    again = cx_impact([*with_, *without], spans, START, END, resamples=500)
    assert first == again
    churn = metric(first[0], "churn_rate")
    assert not churn.too_small
    assert churn.difference == pytest.approx(0.5 - 0.1)
    assert churn.low is not None and churn.high is not None
    assert 0 < churn.low < churn.difference < churn.high < 1  # half churned against a tenth: the data tell them apart
    health = metric(first[0], "average_health")
    assert health.low is not None and health.high is not None and health.low < health.difference < health.high
    assert cx_impact([*with_[:-1], *without], spans, START, END, resamples=500)[0].too_small  # 29 accounts


def test_each_currency_has_its_own_rows_and_mrr_ending_in_another_currency_ends_at_zero() -> None:
    outcomes = [outcome("A", won="10", currency="EUR"), outcome("B", won="5"),
                Outcome("C", {}, Mrr("USD", Decimal(100)), Mrr("EUR", Decimal(100)), None)]
    [overall] = cx_impact(outcomes, [], START, END)
    assert [(each.metric, each.currency) for each in overall.comparisons] == [
        ("won_revenue", "EUR"), ("won_revenue", "USD"), ("churn_rate", None), ("net_revenue_retention", "EUR"),
        ("net_revenue_retention", "USD"), ("average_health", None)]
    assert metric(overall, "net_revenue_retention", "USD").without_value == pytest.approx(100 / 200)
