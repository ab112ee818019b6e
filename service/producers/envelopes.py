"""Bodies read into event envelopes (the shape of `EventInput`), each with its label and the faults
found before validation; what every producer path shares: JSON read exactly, lines numbered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.fields import json_type
from service.exact_json import fast_loads


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


def read_json(body: bytes, what: str) -> Any:
    """The body as JSON, or `Unreadable` naming what is wrong."""
    if not body.strip():
        raise Unreadable(f"body: is empty; send {what}")
    try:
        return fast_loads(body)
    except UnicodeDecodeError:
        raise Unreadable("body: is not UTF-8") from None
    except RecursionError:
        raise Unreadable("body: is nested too deeply") from None
    except ValueError as error:
        raise Unreadable(f"body: is not JSON ({error}); send {what}") from None


def ndjson_items(body: bytes) -> list[Item]:
    """One envelope per line, as events.md has it, numbered from 1; blank lines are skipped. A line that
    is not JSON, or not an object, is an item with that fault alone: the lines around it stand."""
    return line_items(numbered_lines(body))


Line = tuple[int, bytes]  # a line of a body, numbered from 1


def numbered_lines(body: bytes) -> list[Line]:
    """The body's lines that are not blank, with their numbers: `ndjson_items` in two steps, so that a bulk
    producer's lines are read in the batches they are stored in."""
    return [(number, line) for number, line in enumerate(body.split(b"\n"), start=1) if line and not line.isspace()]


def line_items(lines: Sequence[Line]) -> list[Item]:
    """The items of numbered lines, each read on its own."""
    items = []
    for number, line in lines:
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
