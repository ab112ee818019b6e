"""Stripe's amounts, in the currency's minor unit, as exact decimal strings of the major unit.

Stripe's API sends every amount as an integer count of the currency's smallest unit: the
ISO 4217 minor unit (domain/currencies.py), but for the currencies where Stripe keeps its
own (`STRIPE_UNITS`): ISK two-decimal, MGA zero-decimal, the Iraqi and Libyan dinars two.
So zero for the currencies of `ZERO_DECIMAL`, three for those of `THREE_DECIMAL`, two for
every other (HUF and TWD included, as ISO has them).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from domain.currencies import MINOR_UNITS, minor_unit

STRIPE_UNITS = {"ISK": 2, "MGA": 0, "IQD": 2, "LYD": 2, "CLF": 2, "UYI": 2, "UYW": 2}  # where Stripe differs from ISO


def exponent(currency: str) -> int:
    code = currency.upper()
    if code in STRIPE_UNITS:
        return STRIPE_UNITS[code]
    unit = minor_unit(code)
    return 2 if unit is None else unit


ZERO_DECIMAL = frozenset(code for code in MINOR_UNITS.keys() | STRIPE_UNITS.keys() if exponent(code) == 0)
THREE_DECIMAL = frozenset(code for code in MINOR_UNITS.keys() | STRIPE_UNITS.keys() if exponent(code) == 3)


def major(minor: int | Decimal, currency: str) -> Decimal:
    """`minor` units of `currency` in its major unit, exactly (1999 USD cents: 19.99)."""
    return Decimal(minor).scaleb(-exponent(currency))


def amount_text(minor: int | Decimal, currency: str) -> str:
    """The catalogue's amount string, with the currency's decimals (1999 USD: "19.99"; 500 JPY: "500")."""
    return str(major(minor, currency).quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_EVEN))
