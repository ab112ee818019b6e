"""ISO 4217 minor units: how many decimal places a currency's smallest unit has.

Two for most currencies; the others are listed here (ISO 4217's list one, as amended to
2024). Attribution counts credits in this unit (projections/attribution/allocation.py);
Stripe's amounts use it too, where Stripe's API does not keep a unit of its own
(service/webhooks/money.py).
"""

from __future__ import annotations

DEFAULT_MINOR_UNIT = 2
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                     "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
# Precious metals, the SDR, the bond-market units and the testing codes: ISO 4217 gives no minor unit.
NO_MINOR_UNIT = frozenset({"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"})


def minor_unit(currency: str) -> int | None:
    """The decimals of the currency's smallest unit (JPY 0, USD 2, KWD 3); None for a code that has none (XAU)."""
    code = currency.upper()
    if code in NO_MINOR_UNIT:
        return None
    return MINOR_UNITS.get(code, DEFAULT_MINOR_UNIT)
