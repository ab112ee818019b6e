"""Splitting one amount by weights into credits that add up to it exactly.

Credits are counted in the amount's smallest unit: a hundredth, or the amount's own
last decimal place if it has more than two (`12.345` splits in thousandths). Each touch
first gets its exact share rounded down to that unit; the units left over (fewer than
the touches) then go one each to the touches whose exact share lost most in rounding
down, the earliest touch (in `(occurredAt, source, id)` order) first among equals. This
is the largest remainder method: no credit is more than one unit from its exact share,
and the same touches and weights always give the same credits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

CENTS = -2


def unit_exponent(amount: Decimal) -> int:
    """The exponent of the smallest unit credits of `amount` are counted in."""
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int), f"not a finite amount: {amount}"
    return min(CENTS, exponent)


def split(amount: Decimal, weights: Sequence[Fraction]) -> list[Decimal]:
    """`amount` split in proportion to `weights` (in touch order, not all zero), adding up to it exactly."""
    total = sum(weights, Fraction(0))
    if not weights or total <= 0 or any(weight < 0 for weight in weights):
        raise ValueError(f"cannot split by weights {list(weights)}")
    exponent = unit_exponent(amount)
    units = int(amount.scaleb(-exponent))
    exact = [units * weight / total for weight in weights]
    shares = [math.floor(each) for each in exact]
    left = units - sum(shares)
    for place in sorted(range(len(exact)), key=lambda place: (shares[place] - exact[place], place))[:left]:
        shares[place] += 1
    return [Decimal(share).scaleb(exponent) for share in shares]
