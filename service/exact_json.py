"""JSON read exactly, as every entry point reads it: numbers with a fraction or an exponent as `Decimal`
(an amount stays exact from the body to the store), NaN and Infinity refused, UTF-8 only; by orjson where
that gives the same values, which is nearly always (events carry amounts as strings)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson


class NotANumber(json.JSONDecodeError):
    """NaN, Infinity or -Infinity, which JSON does not have; a JSONDecodeError, so that strawberry answers 400."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not a JSON number", name, 0)

    def __str__(self) -> str:
        return self.msg


def reject_constant(name: str) -> None:
    raise NotANumber(name)


def read_integer(text: str) -> int | Decimal:
    """A JSON integer; one longer than Python reads from text (4,300 digits) as a `Decimal`, so that the
    field receiving it refuses it by name (in an event's data, that event alone)."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def loads(text: str | bytes) -> Any:
    """The exact reader: fractions as decimals, NaN and Infinity refused; UTF-8 only."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_float=Decimal, parse_int=read_integer, parse_constant=reject_constant)


def fast_loads(text: bytes | str) -> Any:
    """`loads`, by orjson where that gives the same values. orjson reads every number with a fraction or an
    exponent, and every integer beyond 64 bits, as a binary float, and the rest exactly: a document is read
    again by `loads` only if its value holds a float. One orjson refuses is read again by `loads` too, which
    names its fault (or takes what orjson does not: an escaped lone surrogate, which validation refuses by
    name)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return loads(text)
    return loads(text) if holds_float(value) else value


def holds_float(value: Any) -> bool:
    """Whether a value read by orjson holds a float anywhere within it."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is float:
            return True
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
    return False
