"""Splitting one amount by weights into credits that add up to it exactly.

Credits are counted in the currency's minor unit (ISO 4217, domain/currencies.py: a cent
of USD, a whole yen, a thousandth of a dinar), or in the amount's own last decimal place
where it is finer (`12.345` USD splits in thousandths; a currency with no minor unit, such
as XAU, in whole units or the amount's own). Each touch
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

from domain.currencies import minor_unit


def unit_exponent(amount: Decimal, currency: str) -> int:
    """The exponent of the smallest unit credits of `amount` in `currency` are counted in (JPY 0, USD -2)."""
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int), f"not a finite amount: {amount}"
    return min(-(minor_unit(currency) or 0), exponent)


def split(amount: Decimal, currency: str, weights: Sequence[Fraction]) -> list[Decimal]:
    """`amount` of `currency` split in proportion to `weights` (in touch order, not all zero), adding up to it
    exactly."""
    total = sum(weights, Fraction(0))
    if not weights or total <= 0 or any(weight < 0 for weight in weights):
        raise ValueError(f"cannot split by weights {list(weights)}")
    exponent = unit_exponent(amount, currency)
    units = int(amount.scaleb(-exponent))
    exact = [units * weight / total for weight in weights]
    shares = [math.floor(each) for each in exact]
    left = units - sum(shares)
    for place in sorted(range(len(exact)), key=lambda place: (shares[place] - exact[place], place))[:left]:
        shares[place] += 1
    return [Decimal(share).scaleb(exponent) for share in shares]
