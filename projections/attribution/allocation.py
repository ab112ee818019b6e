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


def split(amount: Decimal, currency: str, weights: Sequence[Fraction | int]) -> list[Decimal]:
    """`amount` of `currency` split in proportion to `weights` (in touch order, not all zero), adding up to it
    exactly. Whole numbers are the cheapest weights (the models give them: `models.Weigher`); only their ratios
    count."""
    if not weights or any(weight < 0 for weight in weights) or not any(weights):
        raise ValueError(f"cannot split by weights {list(weights)}")
    # In whole numbers: the weights over their common denominator. A touch's exact share is units x W / T: its
    # floor is units x W // T, and what rounding down lost is (units x W mod T) / T, compared as the numerator.
    common = math.lcm(*{weight.denominator for weight in weights})
    whole = [weight.numerator * (common // weight.denominator) for weight in weights] if common != 1 \
        else [int(weight) for weight in weights]
    exponent = unit_exponent(amount, currency)
    made: dict[int, Decimal] = {}  # shares repeat (equal weights, zeros): each Decimal is made once
    return [made.get(share) or made.setdefault(share, Decimal(share).scaleb(exponent))
            for share in split_units(int(amount.scaleb(-exponent)), whole)]


def split_units(units: int, whole: Sequence[int]) -> list[int]:
    """`units` split in proportion to whole, non-negative `whole` weights (not all zero) by the largest remainder."""
    total = sum(whole)
    if len(set(whole)) == 1:  # equal weights (linear, or one touch): the first `units mod n` take one more
        share, left = divmod(units, len(whole))
        return [share + 1] * left + [share] * (len(whole) - left)
    divided = [divmod(units * weight, total) for weight in whole]
    shares = [share for share, _ in divided]
    left = units - sum(shares)
    if left:
        for place in sorted(range(len(whole)), key=lambda place: (-divided[place][1], place))[:left]:
            shares[place] += 1
    return shares
