"""Stripe's amounts, in the currency's minor unit, as exact decimal strings of the major unit.

Stripe's API sends every amount as an integer count of the currency's smallest unit, with
Stripe's own exponents: zero for the currencies below, three for the Gulf dinars and the
Tunisian dinar, two for every other (ISK, HUF and TWD included: Stripe's API keeps them
two-decimal).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def major(minor: int | Decimal, currency: str) -> Decimal:
    """`minor` units of `currency` in its major unit, exactly (1999 USD cents: 19.99)."""
    return Decimal(minor).scaleb(-exponent(currency))


def amount_text(minor: int | Decimal, currency: str) -> str:
    """The catalogue's amount string, with the currency's decimals (1999 USD: "19.99"; 500 JPY: "500")."""
    return str(major(minor, currency).quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_EVEN))
