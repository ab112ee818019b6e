"""`split` in whole numbers gives exactly what the Fraction arithmetic it replaced gave, for any weights."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from projections.attribution.allocation import split, unit_exponent


def split_by_fractions(amount: Decimal, currency: str, weights: list[Fraction]) -> list[Decimal]:
    """The reference: exact shares as Fractions, floors, the units left to the shares that lost most."""
    total = sum(weights, Fraction(0))
    exponent = unit_exponent(amount, currency)
    units = int(amount.scaleb(-exponent))
    exact = [units * weight / total for weight in weights]
    shares = [math.floor(each) for each in exact]
    for place in sorted(range(len(exact)), key=lambda place: (shares[place] - exact[place], place))[
            :units - sum(shares)]:
        shares[place] += 1
    return [Decimal(share).scaleb(exponent) for share in shares]


weights = st.lists(st.one_of(st.fractions(min_value=0, max_value=1000),
                             st.floats(min_value=0, max_value=1, allow_nan=False).map(Fraction)),
                   min_size=1, max_size=12).filter(any)
amounts = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("1000000"), places=2, allow_nan=False,
                      allow_infinity=False)


@given(amounts, st.sampled_from(["USD", "JPY", "KWD"]), weights)
def test_whole_number_split_equals_the_fraction_reference(amount: Decimal, currency: str,
                                                           shares: list[Fraction]) -> None:
    assert split(amount, currency, shares) == split_by_fractions(amount, currency, shares)
