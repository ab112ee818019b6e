"""Typed fields of the event catalogue: each checks one value and returns its stored form.

A field raises `Invalid` with a reason a producer can act on; the caller adds the
field's path. Stored forms are plain JSON values: amounts become decimal strings so
that no float ever reaches storage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry

MAX_TEXT_LENGTH = 1000
MAX_ID_LENGTH = 200
MAX_AMOUNT = Decimal(10) ** 15
MAX_AMOUNT_DECIMALS = 8

CURRENCY_CODES = frozenset(currency.alpha_3 for currency in pycountry.currencies)


class Invalid(ValueError):
    """A value that does not satisfy its field; the message is the reason."""


@dataclass(frozen=True)
class Field:
    required: bool = False

    def check(self, value: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Field):
    max_length: int = MAX_TEXT_LENGTH

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"must be a string, not {json_type(value)}")
        if not value or value.isspace():
            raise Invalid("must not be empty")
        if len(value) > self.max_length:
            raise Invalid(f"must be at most {self.max_length} characters (got {len(value)})")
        if "\x00" in value:
            raise Invalid(NUL_REFUSED)
        if has_lone_surrogate(value):
            raise Invalid(SURROGATE_REFUSED)
        return value


NUL_REFUSED = "must not contain the NUL character (\\u0000), which no text column can store"
SURROGATE_REFUSED = (
    "must not contain a lone surrogate (such as \\ud800 without its pair), which is not a character and cannot be stored"
)
SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """Whether the text holds a UTF-16 surrogate (JSON's decoder joins pairs, so any left is alone)."""
    return not text.isascii() and SURROGATE.search(text) is not None


@dataclass(frozen=True)
class Id(Text):
    max_length: int = MAX_ID_LENGTH


@dataclass(frozen=True)
class Choice(Field):
    options: tuple[str, ...] = ()

    def check(self, value: Any) -> str:
        if value not in self.options or not isinstance(value, str):
            raise Invalid(f"must be one of {', '.join(self.options)} (got {value!r:.80})")
        return value


@dataclass(frozen=True)
class Integer(Field):
    minimum: int = 0
    maximum: int | None = None

    def check(self, value: Any) -> int:
        number = integral(value)
        if number < self.minimum or (self.maximum is not None and number > self.maximum):
            upper = "" if self.maximum is None else f" and at most {self.maximum}"
            raise Invalid(f"must be at least {self.minimum}{upper} (got {number})")
        return number


@dataclass(frozen=True)
class Percent(Field):
    def check(self, value: Any) -> int | float:
        number = decimal(value)
        if not Decimal(0) <= number <= Decimal(100):
            raise Invalid(f"must be between 0 and 100 (got {number})")
        return int(number) if number == number.to_integral_value() else float(number)


@dataclass(frozen=True)
class Amount(Field):
    """A non-negative decimal amount, from a string or a number; stored as a decimal string."""

    def check(self, value: Any) -> str:
        number = decimal(value)
        if number < 0:
            raise Invalid(f"must not be negative (got {number})")
        if number >= MAX_AMOUNT:
            raise Invalid(f"must be less than {MAX_AMOUNT:,} (got {number})")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_AMOUNT_DECIMALS:
            raise Invalid(f"must have at most {MAX_AMOUNT_DECIMALS} decimal places")
        return str(number)


@dataclass(frozen=True)
class Currency(Field):
    def check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in CURRENCY_CODES:
            raise Invalid(f"must be an ISO 4217 currency code such as USD or EUR (got {value!r:.40})")
        return value


@dataclass(frozen=True)
class Flag(Field):
    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"must be true or false, not {json_type(value)}")
        return value


@dataclass(frozen=True)
class Timestamp(Field):
    """An RFC 3339 date-time with an offset (or, where `date_allowed`, a plain date); kept as sent."""

    date_allowed: bool = False

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"must be an RFC 3339 date-time string, not {json_type(value)}")
        if self.date_allowed and len(value) == 10:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise Invalid(f"must be a date (YYYY-MM-DD) or an RFC 3339 date-time (got {value!r:.40})") from None
            in_range(datetime.combine(day, datetime.min.time(), timezone.utc))
            return value
        parse_rfc3339(value)
        return value


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 date-time that carries an offset (`Z` or `±hh:mm`)."""
    if len(value) < 20 or value[10] not in "Tt " or len(value) > 40:
        raise Invalid(f"must be an RFC 3339 date-time such as 2026-03-02T09:14:00Z (got {value!r:.40})")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"must be an RFC 3339 date-time such as 2026-03-02T09:14:00Z (got {value!r:.40})") from None
    if parsed.tzinfo is None:
        raise Invalid(f"must carry a UTC offset such as Z or +02:00 (got {value!r:.40})")
    return in_range(parsed)


EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)


def in_range(instant: datetime) -> datetime:
    """Instants from 1900 to 2999 (UTC): beyond, date arithmetic (a deadline 365 days on) overflows."""
    if not EARLIEST <= instant < LATEST:
        raise Invalid(f"must be between 1900-01-01 and 2999-12-31 (got {instant.isoformat()})")
    return instant


def decimal(value: Any) -> Decimal:
    """A finite decimal from a JSON number or a numeric string; booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise Invalid(f"must be a number or a numeric string, not {json_type(value)}")
    if isinstance(value, str) and len(value) > 40:
        raise Invalid("must be a number of at most 40 characters")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, (str, float)) else Decimal(value)
    except InvalidOperation:
        raise Invalid(f"must be a number (got {value!r:.40})") from None
    if not number.is_finite():
        raise Invalid(f"must be a finite number (got {value!r:.40})")
    return number


def integral(value: Any) -> int:
    """An integer from a JSON number with no fractional part (7 or 7.0, not 7.5 or "7")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise Invalid(f"must be an integer, not {json_type(value)}")
    if isinstance(value, int):
        return in_64_bits(value)
    number = decimal(value)
    if number != number.to_integral_value():
        raise Invalid(f"must be an integer (got {value!s:.40})")
    return whole(number)


INT64 = 2**63
OUT_OF_64_BITS = "must be between -2^63 and 2^63-1"


def in_64_bits(number: int) -> int:
    """JSON readers (ours included) hold integers in 64 bits; a larger one is refused, not truncated."""
    if not -INT64 <= number < INT64:
        shown = f"{str(number)[:30]}…" if number.bit_length() < 14_000 else "an integer of over 4,200 digits"  # (str's limit)
        raise Invalid(f"{OUT_OF_64_BITS} (got {shown})")
    return number


def whole(number: Decimal) -> int:
    """An integral decimal as an integer in 64 bits. One beyond is refused before it is built:
    1e999999999 would be an integer of a billion digits, minutes of work."""
    if number.adjusted() >= 19:
        raise Invalid(f"{OUT_OF_64_BITS} (got a number of {number.adjusted() + 1:,} digits)")
    return in_64_bits(int(number))


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
