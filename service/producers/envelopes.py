"""Bodies read into event envelopes (the shape of `EventInput`), each with its label and the faults
found before validation; what every producer path shares: JSON read exactly, lines numbered."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from domain.fields import json_type


class Unreadable(ValueError):
    """A body that cannot be read at all (400); the message says why."""


@dataclass
class Item:
    """One event of a body: its label (an index from 0, or a line number from 1), its envelope, and the
    faults found before validation (field -> reason); an item with faults is rejected without validation."""

    label: int
    envelope: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    event_id: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # envelope field -> the producer's name for it


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def read_integer(text: str) -> int | Decimal:
    """An integer too long for Python to read from text comes as a Decimal, which its field refuses by name."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def loads(text: str | bytes) -> Any:
    """JSON as the GraphQL endpoint reads it: fractions as exact decimals, NaN and Infinity refused; UTF-8 only."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_float=Decimal, parse_int=read_integer, parse_constant=reject_constant)


# a number with a fraction or an exponent, or of 19 digits or more (or text that looks so)
INEXACT = re.compile(rb"(?:^|[:,\[])\s*-?(?:\d+[.eE]|\d{19})")


def fast_loads(text: bytes) -> Any:
    """`loads`, by orjson where that gives the same values: a document with no number with a fraction or
    an exponent, nor of 19 digits or more (orjson reads those as binary floats). Every such number follows
    `:`, `,`, `[` or the start; text in a string that looks like one only costs the exact reader. A document orjson
    refuses is read again by `loads`, which names its fault."""
    if INEXACT.search(text):
        return loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return loads(text)


def read_json(body: bytes, what: str) -> Any:
    """The body as JSON, or `Unreadable` naming what is wrong."""
    if not body.strip():
        raise Unreadable(f"body: is empty; send {what}")
    try:
        return loads(body)
    except UnicodeDecodeError:
        raise Unreadable("body: is not UTF-8") from None
    except RecursionError:
        raise Unreadable("body: is nested too deeply") from None
    except ValueError as error:
        raise Unreadable(f"body: is not JSON ({error}); send {what}") from None


def ndjson_items(body: bytes) -> list[Item]:
    """One envelope per line, as events.md has it, numbered from 1; blank lines are skipped. A line that
    is not JSON, or not an object, is an item with that fault alone: the lines around it stand."""
    items = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        item = Item(number)
        try:
            value = fast_loads(line)
        except UnicodeDecodeError:
            item.faults["line"] = "is not UTF-8"
        except RecursionError:
            item.faults["line"] = "is nested too deeply"
        except ValueError as error:
            item.faults["line"] = f"is not JSON ({error})"
        else:
            if isinstance(value, dict):
                item.envelope = value
                item.event_id = value.get("id") if isinstance(value.get("id"), str) else None
            else:
                item.faults["line"] = f"must be a JSON object (an event envelope), not {json_type(value)}"
        items.append(item)
    return items
