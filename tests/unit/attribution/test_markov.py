"""The data-driven model's removal effects, on journeys small enough to solve by hand."""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.attribution.journeys import Journey
from projections.attribution.markov import removal_effects

CALL, MEETING, EMAIL = ("sales", "call"), ("support", "meeting"), ("marketing", "email")


def test_removal_effects_by_hand() -> None:
    # Steps: start -> call 2, start -> meeting 1; call -> meeting 1, call -> null 1; meeting -> conversion 2.
    # p(meeting) = 1; p(call) = 1/2 x 1 + 1/2 x 0 = 1/2; p(start) = 2/3 x 1/2 + 1/3 x 1 = 2/3.
    # Without call: p(start) = 1/3 x 1 = 1/3, effect 1 - (1/3)/(2/3) = 1/2.
    # Without meeting: nothing converts, effect 1.
    journeys = [Journey((CALL, MEETING), True), Journey((CALL,), False), Journey((MEETING,), True)]
    assert removal_effects(journeys) == {CALL: Fraction(1, 2), MEETING: Fraction(1)}


def test_a_key_only_unconverted_journeys_pass_has_no_effect() -> None:
    journeys = [Journey((EMAIL,), False), Journey((CALL,), True)]
    assert removal_effects(journeys) == {CALL: Fraction(1), EMAIL: Fraction(0)}


def test_loops_and_repeats_count_as_steps() -> None:
    # Steps: start -> email 2; email -> email 1, email -> call 2, email -> null 1; call -> conversion 1, call -> email 1.
    # With p(c) for call and p(e) for email: p(c) = 1/2 + 1/2 p(e); p(e) = 1/4 p(e) + 2/4 p(c)
    # -> 3/4 p(e) = 1/4 + 1/4 p(e) -> p(e) = 1/2, p(c) = 3/4, p(start) = p(e) = 1/2.
    # Without call: p(e) = 1/4 p(e) -> 0: effect 1. Without email: nothing starts: effect 1.
    journeys = [Journey((EMAIL, EMAIL, CALL), True), Journey((EMAIL, CALL, EMAIL), False)]
    assert removal_effects(journeys) == {CALL: Fraction(1), EMAIL: Fraction(1)}
    # A third journey, start -> call -> conversion: p(start) = 2/3 x 1/2 + 1/3 x p(call) where now
    # p(c) = 2/3 + 1/3 p(e), p(e) = 1/4 p(e) + 1/2 p(c) -> p(e) = 2/3 p(c) -> p(c) = 2/3 + 2/9 p(c) -> p(c) = 6/7,
    # p(e) = 4/7, p(start) = 2/3 x 4/7 + 1/3 x 6/7 = 14/21 = 2/3.
    # Without email: p(c) = 2/3, p(start) = 1/3 x 2/3 = 2/9: effect 1 - (2/9)/(2/3) = 2/3.
    # Without call: p(start) = 0: effect 1.
    journeys.append(Journey((CALL,), True))
    assert removal_effects(journeys) == {CALL: Fraction(1), EMAIL: Fraction(2, 3)}


def test_nothing_converted_means_no_effect() -> None:
    assert removal_effects([Journey((EMAIL,), False)]) == {EMAIL: Fraction(0)}
    assert removal_effects([]) == {}


KEYS = st.sampled_from([CALL, MEETING, EMAIL, ("product", "product"), ("billing", "email")])
JOURNEYS = st.lists(st.builds(Journey, st.lists(KEYS, max_size=6).map(tuple), st.booleans()), max_size=30)


@settings(max_examples=200, deadline=None)
@given(JOURNEYS, st.randoms(use_true_random=False))
def test_effects_lie_between_0_and_1_and_do_not_depend_on_the_journeys_order(
        journeys: list[Journey], shuffler: random.Random) -> None:
    effects = removal_effects(journeys)
    assert all(0 <= each <= 1 for each in effects.values())
    shuffler.shuffle(journeys)
    assert removal_effects(journeys) == effects
