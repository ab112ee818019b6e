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
    if not weights or any(weight < 0 for weight in weights) or not any(weights):
        raise ValueError(f"cannot split by weights {list(weights)}")
    # In whole numbers: the weights over their common denominator. A touch's exact share is units x W / T: its
    # floor is units x W // T, and what rounding down lost is (units x W mod T) / T, compared as the numerator.
    common = math.lcm(*(weight.denominator for weight in weights))
    whole = [weight.numerator * (common // weight.denominator) for weight in weights]
    total = sum(whole)
    exponent = unit_exponent(amount, currency)
    units = int(amount.scaleb(-exponent))
    divided = [divmod(units * weight, total) for weight in whole]
    shares, lost = [share for share, _ in divided], [rest for _, rest in divided]
    left = units - sum(shares)
    for place in sorted(range(len(whole)), key=lambda place: (-lost[place], place))[:left]:
        shares[place] += 1
    return [Decimal(share).scaleb(exponent) for share in shares]
