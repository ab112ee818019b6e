"""The cost of contradictions, by hand-computed examples and one property."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from projections.attribution.contradictions import Span, contradictions_cost, pairs_of
from projections.attribution.outcomes import Revenue
from tests.unit.rules.builders import at, days

T = at("2026-05-01 12:00")


def gain(account: str, when: datetime, amount: str, currency: str = "USD", kind: str = "won") -> Revenue:
    return Revenue(account, when, kind, Decimal(amount), currency, f"test/{account}-{when.isoformat()}")


def loss(account: str, when: datetime, amount: str | None, currency: str | None = "USD") -> Revenue:
    return Revenue(account, when, "opportunity_lost", None if amount is None else Decimal(amount), currency,
                   f"test/{account}-{when.isoformat()}-lost")


def span(account: str, rule: str, detected: datetime, resolved: datetime | None = None, severity: str = "HIGH",
         departments: tuple[str, ...] = ("sales", "support")) -> Span:
    return Span(account, rule, severity, departments, detected, resolved)


def test_department_pairs_are_every_two_departments_or_the_one_alone() -> None:
    assert pairs_of(["support", "sales"]) == [("sales", "support")]
    assert pairs_of(["billing", "marketing", "support"]) == [("marketing", "support"), ("marketing", "billing"),
                                                              ("support", "billing")]
    assert pairs_of(["billing"]) == [("billing",)]


def test_a_conversion_counts_for_each_rule_and_pair_open_at_its_instant_once() -> None:
    spans = [span("A", "r1", T - days(10)), span("A", "r1", T - days(3), departments=("billing",)),  # twice r1
             span("A", "r2", T - days(10), resolved=T),  # resolved at the conversion's instant: not open then
             span("A", "r3", T, severity="LOW", departments=("sales", "support"))]  # detected at it: open
    cost = contradictions_cost([gain("A", T, "1000"), gain("A", T, "50", "EUR"), gain("B", T, "7")], [], spans)
    assert set(cost.by_rule) == {"r1", "r3"}
    r1 = cost.by_rule["r1"].converted_while_open
    assert (dict(r1.amounts), r1.events, r1.accounts) == ({"USD": Decimal("1000"), "EUR": Decimal("50")}, 2, {"A"})
    pair = cost.by_pair[("sales", "support")].converted_while_open
    assert (dict(pair.amounts), pair.events) == ({"USD": Decimal("1000"), "EUR": Decimal("50")}, 2)  # r1 and r3: once
    assert dict(cost.by_pair[("billing",)].converted_while_open.amounts) == {"USD": Decimal("1000"),
                                                                             "EUR": Decimal("50")}


def test_a_loss_counts_in_the_90_days_after_a_high_finding_was_detected() -> None:
    spans = [span("A", "r1", T), span("A", "r2", T, severity="MEDIUM")]
    losses = [loss("A", T - days(1), "1"), loss("A", T, "10"), loss("A", T + days(89.9), "100"),
              loss("A", T + days(90), "1000"), loss("A", T + days(5), None)]
    cost = contradictions_cost([], losses, spans)
    assert set(cost.by_rule) == {"r1"}  # a MEDIUM finding costs no loss
    lost = cost.by_rule["r1"].lost_after_high
    assert (dict(lost.amounts), lost.events, lost.unknown_amounts) == ({"USD": Decimal("110")}, 3, 1)
    assert cost.by_rule["r1"].converted_while_open.events == 0
    assert contradictions_cost([], losses, spans, lost_days=100).by_rule["r1"].lost_after_high.events == 4


instants = st.integers(min_value=0, max_value=200).map(lambda n: T + days(n))


@given(st.lists(st.tuples(st.sampled_from("AB"), instants, st.integers(1, 10_000), st.sampled_from(["USD", "EUR"])),
                max_size=20),
       st.lists(st.tuples(st.sampled_from("AB"), st.sampled_from(["r1", "r2"]), instants, st.integers(0, 50)),
                max_size=8))
def test_each_rule_counts_a_conversion_at_most_once_and_currencies_never_mix(
    gains: list[tuple[str, datetime, int, str]], findings: list[tuple[str, str, datetime, int]]
) -> None:
    revenue = [gain(account, when, str(amount), currency) for account, when, amount, currency in gains]
    spans = [span(account, rule, when, when + days(length) if length else None) for account, rule, when, length in findings]
    cost = contradictions_cost(revenue, [], spans)
    for tally in [each.converted_while_open for each in (*cost.by_rule.values(), *cost.by_pair.values())]:
        counted = [each for each in revenue if each.account_id in tally.accounts]
        assert tally.events <= len(counted)
        for currency, amount in tally.amounts.items():
            assert amount <= sum((each.amount or 0) for each in counted if each.currency == currency)
    for rule, each in cost.by_rule.items():
        expected = [g for g in revenue if any(s.rule == rule and s.open_at(g.at) and s.account_id == g.account_id
                                              for s in spans)]
        assert each.converted_while_open.events == len(expected)
