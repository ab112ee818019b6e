"""Folded states to bytes and back, for checkpoints stored beside the views.

Only plain values and the dataclasses registered with `@state` are written or read back,
so a checkpoint can never make the reader build anything else (unlike pickle, whose
bytes name any callable). Each registered class carries a version: a release that
changes what a state holds bumps it, and a checkpoint written before no longer decodes
(`StaleCheckpoint`); its account is refolded from its events instead.

A fact is written once however many parts of a state hold it (a rule's window, an open
finding's evidence, the view's recent items): the bytes are a table of facts and the
state, which refers to them by their place in the table, and reading back shares one
object per fact again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from projections.facts import Fact

T = TypeVar("T")
TAG = "§"
REGISTERED: dict[str, tuple[type[Any], int]] = {}


class StaleCheckpoint(ValueError):
    """Bytes that are not a checkpoint this release can read (another release's, or damaged)."""


def state(version: int) -> Callable[[type[T]], type[T]]:
    """Register a dataclass as part of folded states, under its name and a version."""

    def register(cls: type[T]) -> type[T]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a dataclass")
        name = f"{cls.__module__}.{cls.__qualname__}"
        REGISTERED[name] = (cls, version)
        return cls

    return register


def encode(value: Any) -> bytes:
    facts: dict[int, tuple[int, Fact]] = {}  # id(fact) -> (its place in the table, the fact kept alive)
    root = plain(value, facts)
    table = [[fact.position, fact.type, fact.occurred_at, fact.source, fact.event_id, fact.contact_id, fact.data]
             for _, fact in facts.values()]  # orjson writes datetimes as RFC 3339
    return orjson.dumps({TAG: "facts", "f": table, "v": root})


def decode(data: bytes) -> Any:
    try:
        stored = orjson.loads(data)
        if not isinstance(stored, dict) or stored.get(TAG) != "facts":
            raise StaleCheckpoint("not a checkpoint of this release: no table of facts")
        facts = [Fact(position, fact_type, datetime.fromisoformat(occurred_at), source, event_id, contact_id, data)
                 for position, fact_type, occurred_at, source, event_id, contact_id, data in stored["f"]]
        return rebuilt(stored["v"], facts)
    except StaleCheckpoint:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise StaleCheckpoint(f"not a checkpoint of this release: {error}") from error


def plain(value: Any, facts: dict[int, tuple[int, Fact]]) -> Any:
    """A JSON value that `rebuilt` turns back into `value`, its facts noted in `facts`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Fact):
        place = facts.get(id(value))
        if place is None:
            place = facts[id(value)] = (len(facts), value)
        return {TAG: "f", "v": place[0]}
    if isinstance(value, datetime):
        return {TAG: "dt", "v": value}
    if isinstance(value, Decimal):
        return {TAG: "dec", "v": str(value)}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [plain(each, facts) for each in value]}
    if isinstance(value, list):
        return [plain(each, facts) for each in value]
    if isinstance(value, (set, frozenset)):
        kind = "set" if isinstance(value, set) else "frozenset"
        return {TAG: kind, "v": sorted((plain(each, facts) for each in value), key=orjson.dumps)}
    if isinstance(value, dict):
        return {TAG: "dict", "v": [[plain(key, facts), plain(each, facts)] for key, each in value.items()]}
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    if name in REGISTERED and dataclasses.is_dataclass(value):
        fields = {field.name: plain(getattr(value, field.name), facts) for field in dataclasses.fields(value)}
        return {TAG: "state", "n": name, "ver": REGISTERED[name][1], "v": fields}
    raise TypeError(f"cannot checkpoint a {type(value).__name__}: register it with @state")


def rebuilt(value: Any, facts: list[Fact]) -> Any:
    if isinstance(value, list):
        return [rebuilt(each, facts) for each in value]
    if not isinstance(value, dict):
        return value
    kind, inner = value[TAG], value["v"]
    if kind == "f":
        return facts[inner]
    if kind == "dt":
        return datetime.fromisoformat(inner)
    if kind == "dec":
        return Decimal(inner)
    if kind == "tuple":
        return tuple(rebuilt(each, facts) for each in inner)
    if kind in ("set", "frozenset"):
        return (set if kind == "set" else frozenset)(rebuilt(each, facts) for each in inner)
    if kind == "dict":
        return {rebuilt(key, facts): rebuilt(each, facts) for key, each in inner}
    if kind == "state":
        return registered(value["n"], value["ver"], {name: rebuilt(each, facts) for name, each in inner.items()})
    raise StaleCheckpoint(f"unknown tag {kind!r}")


def registered(name: str, version: int, fields: dict[str, Any]) -> Any:
    known = REGISTERED.get(name)
    if known is None or known[1] != version:
        raise StaleCheckpoint(f"{name} v{version} is not a state this release knows")
    return known[0](**fields)
