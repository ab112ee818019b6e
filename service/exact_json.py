"""JSON read exactly, as every entry point reads it: numbers with a fraction or an exponent as `Decimal`
(an amount stays exact from the body to the store), NaN and Infinity refused; by orjson where that gives the
same values, which is nearly always (events carry amounts as strings)."""

from __future__ import annotations

import json
from collections.abc import Callable
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
    """The exact reader: fractions as decimals, NaN and Infinity refused; UTF-8 only (what producers send)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return loads_any_encoding(text)


def loads_any_encoding(text: str | bytes) -> Any:
    """`loads`, with bytes decoded as the standard library's reader decodes them: UTF-8 (a byte order mark
    skipped), or UTF-16 or UTF-32 where the first bytes say so (what the GraphQL endpoint has always taken)."""
    return json.loads(text, parse_float=Decimal, parse_int=read_integer, parse_constant=reject_constant)


def fast_loads(text: bytes | str, exact: Callable[[bytes | str], Any] = loads) -> Any:
    """`exact` (`loads` unless given), by orjson where that gives the same values. orjson reads every number
    with a fraction or an exponent, and every integer beyond 64 bits, as a binary float, and the rest exactly:
    a document is read again by `exact` only if its value holds a float (or is nested deep, `holds_float`). One
    orjson refuses is read again by `exact` too, which names its fault (or takes what orjson does not: an
    escaped lone surrogate, which validation refuses by name; for the GraphQL endpoint, UTF-16 and a byte
    order mark)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return exact(text)
    return exact(text) if holds_float(value) else value


NESTING = 100  # levels: a value nested deeper is read again by the exact reader, which answers as it always has


def holds_float(value: Any) -> bool:
    """Whether a value read by orjson holds a float anywhere within it, or is nested deeper than `NESTING` levels
    (orjson reads 1,024 levels whatever the stack; `loads` stops where Python's recursion limit stops it)."""
    level, depth = [value], 0
    while level:
        if depth > NESTING:
            return True
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is float:
                return True
            if kind is dict:
                below.extend(item.values())
            elif kind is list:
                below.extend(item)
        level, depth = below, depth + 1
    return False
