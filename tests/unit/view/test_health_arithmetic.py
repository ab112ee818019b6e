"""Health's whole-number arithmetic against the exact fractions it stands for: the same values, halves away from 0.

`score_of`, the support load and satisfaction compute in whole numbers (a `Fraction` sum cost more than the rest of
a score); here each is checked against its formula in `Fraction`s, as they were written before, over drawn inputs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.history import Timeline
from projections.view.health import (
    HealthComponent,
    clamped,
    exact,
    rounded,
    rounded_ratio,
    satisfaction,
    score_of,
    support_value,
)

AS_OF = datetime(2026, 3, 2, tzinfo=timezone.utc)


@given(st.integers(-10**6, 10**6), st.integers(1, 10**4))
def test_a_ratio_rounds_as_its_fraction(numerator: int, denominator: int) -> None:
    assert rounded_ratio(numerator, denominator) == rounded(Fraction(numerator, denominator))


WEIGHTS = st.sampled_from([0.0, 0.1, 0.25, 1 / 3, 0.5, 1.0, 2.5, 10.0, 20.0, 25.0, 1e-9])


@given(st.lists(st.tuples(WEIGHTS, st.one_of(st.none(), st.integers(-50, 150))), max_size=6))
def test_a_score_is_the_exact_weighted_mean(parts: list[tuple[float, int | None]]) -> None:
    components = [HealthComponent(f"c{n}", value, weight, "") for n, (weight, value) in enumerate(parts)]
    valued = [each for each in components if each.value is not None]
    total = sum((exact(each.weight) for each in valued), Fraction(0))
    expected = rounded(sum((exact(each.weight) * (each.value or 0) for each in valued), Fraction(0)) / total) \
        if total else None
    assert score_of(components) == expected


@given(st.integers(0, 200), st.integers(0, 12), st.integers(0, 40), st.integers(0, 40))
def test_the_support_load_is_its_exact_formula(penalties: int, escalations: int, opened: int, reopened: int) -> None:
    rate = min(Fraction(1), Fraction(reopened, opened)) if opened else Fraction(min(reopened, 1))
    assert support_value(penalties, escalations, opened, reopened) == (
        clamped(100 - (penalties + 10 * escalations + 30 * rate)), rounded(100 * rate))


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["c-1", "c-2", "c-3", None]), st.integers(0, 10)), max_size=8),
       st.lists(st.integers(1, 5), max_size=8))
def test_satisfaction_is_its_exact_formula(nps: list[tuple[str | None, int]], csat: list[int]) -> None:
    facts = [Fact(n, "marketing.nps.responded", AS_OF - timedelta(days=len(nps) - n), "t", f"n{n}", contact,
                  {"score": score}) for n, (contact, score) in enumerate(nps)]
    facts += [Fact(100 + n, "support.csat.recorded", AS_OF - timedelta(days=1), "t", f"c{n}", None, {"score": score})
              for n, score in enumerate(csat)]
    value, _ = satisfaction(Timeline("acme", sorted(facts, key=lambda fact: fact.order)), AS_OF)
    latest = list({contact: score for contact, score in nps}.values())
    values = []
    if latest:
        net = Fraction(100 * (sum(score >= 9 for score in latest) - sum(score <= 6 for score in latest)), len(latest))
        values.append((net + 100) / 2)
    if csat:
        values.append((Fraction(sum(csat), len(csat)) - 1) / 4 * 100)
    assert value == (rounded(sum(values, Fraction(0)) / len(values)) if values else None)
