"""Every model on examples computed by hand, the arithmetic written out; the rounding remainder's rule."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.attribution.allocation import split
from projections.attribution.journeys import Conversion, Key, Touch
from projections.attribution.models import (
    EFFECT_SCALE,
    MODELS,
    Attribution,
    attribute,
    data_driven_weights,
    effect_units,
)
from projections.attribution.settings import DEFAULT_ATTRIBUTION, attribution_settings_from
from tests.unit.attribution.builders import adopted, campaign, contact, conversion, outreach, touches
from tests.unit.rules.builders import tied

# Four touches, 30, 14, 7 and 0 days before a won deal of 1000.00 USD.
JOURNEY = touches(campaign(30), outreach(14), contact(7), adopted(0))
WIN = conversion("1000.00")


def credits(attribution: Attribution) -> list[Decimal]:
    return [each.amount for each in attribution.credits]


def shared(model: str, touched: list[Touch] = JOURNEY, win: Conversion = WIN,
           effects: dict[Key, Fraction] | None = None, **settings: object) -> list[Decimal]:
    return credits(attribute(win, touched, model, attribution_settings_from(settings), effects))


def test_first_and_last_touch_take_it_all() -> None:
    assert shared("first_touch") == [Decimal("1000.00"), 0, 0, 0]
    assert shared("last_touch") == [0, 0, 0, Decimal("1000.00")]


def test_linear_shares_equally() -> None:
    assert shared("linear") == [Decimal("250.00")] * 4  # 1000 / 4


def test_linear_places_the_remainder_on_the_earliest_touches() -> None:
    # 100.00 / 3 = 33.333...: each gets 33.33, the cent left goes to the earliest
    assert shared("linear", win=conversion("100.00"), touched=JOURNEY[:3]) == [
        Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_time_decay_halves_a_touch_s_weight_every_half_life() -> None:
    # Weights 2^(-age/7): 30 days -> 2^(-30/7), 14 -> 1/4, 7 -> 1/2, 0 -> 1. Without the first:
    # 1/4 + 1/2 + 1 = 7/4, so 700 x (1/7, 2/7, 4/7) = 100, 200, 400.
    assert shared("time_decay", touched=JOURNEY[1:], win=conversion("700.00")) == [
        Decimal("100.00"), Decimal("200.00"), Decimal("400.00")]
    # With a half-life of 14 days: 2^-1, 2^-0.5, 1 = 0.5, 0.70711, 1; total 2.20711:
    # 700 x 0.5 / 2.20711 = 158.58, 700 x 0.70711 / 2.20711 = 224.26, 700 / 2.20711 = 317.157 -> 317.16
    assert shared("time_decay", touched=JOURNEY[1:], win=conversion("700.00"), half_life_days=14) == [
        Decimal("158.58"), Decimal("224.26"), Decimal("317.16")]


def test_time_decay_places_the_remainder_on_the_share_that_lost_most() -> None:
    # 30 days at a 7-day half-life: 2^(-30/7) = 0.0512691; + 1/4 + 1/2 + 1 = 1.8012691.
    # 1000 x (0.0512691, 0.25, 0.5, 1) / 1.8012691 = 28.4638, 138.7909, 277.5818, 555.1636:
    # rounded down they make 999.99; the cent left goes to the share that lost most (0.38 of a cent: 28.46 -> 28.47).
    assert shared("time_decay") == [Decimal("28.47"), Decimal("138.79"), Decimal("277.58"), Decimal("555.16")]


def test_position_based_gives_40_20_40() -> None:
    # 40% of 1000 to the first and the last, 20% / 2 = 100 to each of the two between
    assert shared("position_based") == [Decimal("400.00"), Decimal("100.00"), Decimal("100.00"), Decimal("400.00")]


def test_position_based_with_one_touch_gives_it_all_and_with_two_half_each() -> None:
    assert shared("position_based", touched=JOURNEY[:1]) == [Decimal("1000.00")]
    assert shared("position_based", touched=JOURNEY[:2]) == [Decimal("500.00"), Decimal("500.00")]


def test_data_driven_shares_by_removal_effect() -> None:
    # Effects (test_markov): sales/call 1/2, support/meeting 1. The journey has one touch of each
    # with effects, and two with none: 1000 x (0, 1/3, 2/3, 0) = 0, 333.33, 666.67 (the remainder cent
    # goes to 666.666..., which lost the most in rounding down).
    effects = {("sales", "call"): Fraction(1, 2), ("support", "meeting"): Fraction(1)}
    assert shared("data_driven", effects=effects) == [0, Decimal("333.33"), Decimal("666.67"), 0]


def test_data_driven_shares_a_key_s_effect_among_its_touches() -> None:
    # sales/call 1/2 over two calls (1/4 each), support/meeting 1: 1000 x (1/4, 1/4, 1) / (3/2) = 166.67, 166.67, 666.67
    # rounded down 166.66 + 166.66 + 666.66 = 999.98; the two cents go to the largest remainders (all .666...),
    # the earliest first.
    touched = touches(outreach(20), outreach(10), contact(5))
    effects = {("sales", "call"): Fraction(1, 2), ("support", "meeting"): Fraction(1)}
    assert shared("data_driven", touched=touched, effects=effects) == [
        Decimal("166.67"), Decimal("166.67"), Decimal("666.66")]


def test_data_driven_with_no_effect_in_the_window_shares_linearly() -> None:
    assert shared("data_driven", effects={}) == [Decimal("250.00")] * 4


def test_a_conversion_with_no_touch_in_its_window_is_unattributed_not_dropped() -> None:
    for model in MODELS:
        alone = attribute(WIN, touches(campaign(90), outreach(-1)), model, DEFAULT_ATTRIBUTION, {})
        assert alone.credits == () and alone.unattributed == Decimal("1000.00")


def test_the_lookback_setting_narrows_the_window() -> None:
    assert shared("linear", lookback_days=10) == [Decimal("500.00")] * 2  # the touches 7 and 0 days before


def test_same_instant_touches_are_ordered_by_source_and_id_for_first_and_last() -> None:
    early, late = tied(outreach(3), contact(3))
    for arrival in ([early, late], [late, early]):
        attribution = attribute(WIN, touches(*arrival), "first_touch", DEFAULT_ATTRIBUTION)
        assert [(each.touch.fact, each.amount) for each in attribution.credits] == [
            (early, Decimal("1000.00")), (late, 0)]


def test_an_unknown_model_is_named() -> None:
    with pytest.raises(ValueError, match="model: unknown attribution model 'last_click'"):
        attribute(WIN, JOURNEY, "last_click", DEFAULT_ATTRIBUTION)


def test_the_data_driven_model_without_effects_is_refused() -> None:
    with pytest.raises(ValueError, match="effects:"):
        attribute(WIN, JOURNEY, "data_driven", DEFAULT_ATTRIBUTION)


def test_credits_are_counted_in_the_amount_s_own_unit_when_finer_than_a_cent() -> None:
    # 10.005 / 2 = 5.0025: thousandths, 5.002 each and the thousandth left to the first
    assert split(Decimal("10.005"), "USD", [Fraction(1), Fraction(1)]) == [Decimal("5.003"), Decimal("5.002")]
    # a whole amount of a currency with cents is still split in cents: 10 / 3 = 3.34, 3.33, 3.33
    assert split(Decimal("10"), "USD", [Fraction(1)] * 3) == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]


@pytest.mark.parametrize(("amount", "currency", "credits"), [
    ("100", "JPY", ["34", "33", "33"]),  # no yen is split: 100 / 3 = 33.3..., the yen left to the earliest
    ("100", "KRW", ["34", "33", "33"]),
    ("100.5", "JPY", ["33.5", "33.5", "33.5"]),  # the amount's own tenth is finer than the yen
    ("10", "KWD", ["3.334", "3.333", "3.333"]),  # three decimals: fils
    ("100", "CLF", ["33.3334", "33.3333", "33.3333"]),  # four
    ("100", "XAU", ["34", "33", "33"]),  # no minor unit: whole units, or the amount's own
    ("100", "usd", ["33.34", "33.33", "33.33"]),
])
def test_credits_are_counted_in_the_currency_s_minor_unit(amount: str, currency: str, credits: list[str]) -> None:
    assert split(Decimal(amount), currency, [Fraction(1)] * 3) == [Decimal(each) for each in credits]


def test_split_refuses_weights_that_share_nothing() -> None:
    for weights in ([], [Fraction(0)], [Fraction(1), Fraction(-1)]):
        with pytest.raises(ValueError, match="cannot split"):
            split(Decimal("1"), "USD", weights)


def as_fractions(weights: list[int]) -> list[Fraction]:
    total = sum(weights)
    return [Fraction(weight, total) for weight in weights]


@given(st.lists(st.floats(min_value=0, max_value=400, allow_nan=False), min_size=1, max_size=30),
       st.floats(min_value=0.5, max_value=60))
def test_time_decay_s_whole_weights_are_its_exact_float_powers_in_proportion(days_before: list[float],
                                                                           half_life: float) -> None:
    journey = touches(*(campaign(days) for days in sorted(days_before, reverse=True)))
    settings = attribution_settings_from({"half_life_days": half_life})
    half_life_us = round(settings.half_life_days * 86_400_000_000)
    exact = [Fraction(math.exp2(-((journey[-1].at - touch.at) // timedelta(microseconds=1)) / half_life_us))
             for touch in journey]
    assert as_fractions(MODELS["time_decay"](WIN, journey, settings, {})) == [each / sum(exact) for each in exact]


@given(st.integers(min_value=3, max_value=50))
def test_position_based_s_whole_weights_are_40_20_40(count: int) -> None:
    weights = as_fractions(MODELS["position_based"](WIN, touches(*(campaign(day) for day in range(count, 0, -1))),
                                                     DEFAULT_ATTRIBUTION, {}))
    assert weights[0] == weights[-1] == Fraction(2, 5)
    assert set(weights[1:-1]) == {Fraction(1, 5) / (count - 2)}


@given(st.lists(st.sampled_from([("marketing", "email"), ("sales", "call"), ("support", "meeting")]),
                min_size=1, max_size=20),
       st.dictionaries(st.sampled_from([("marketing", "email"), ("sales", "call")]),
                       st.fractions(min_value=0, max_value=1)))
def test_data_driven_s_whole_weights_are_each_key_s_rounded_effect_shared_by_its_touches(
        keys: list[Key], effects: dict[Key, Fraction]) -> None:
    exact = [Fraction(effect_units(effects.get(key, Fraction(0))), EFFECT_SCALE) / keys.count(key) for key in keys]
    expected = [each / sum(exact) for each in exact] if any(exact) else [Fraction(1, len(keys))] * len(keys)
    assert as_fractions(data_driven_weights(keys, effects)) == expected
