"""Folded states to bytes and back, for checkpoints stored beside the views.

Only plain values and the dataclasses registered with `@state` are written or read back,
so a checkpoint can never make the reader build anything else (unlike pickle, whose
bytes name any callable). Each registered class carries a version: a release that
changes what a state holds bumps it, and a checkpoint written before no longer decodes
(`StaleCheckpoint`); its account is refolded from its events instead.
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
    return orjson.dumps(plain(value))


def decode(data: bytes) -> Any:
    try:
        return rebuilt(orjson.loads(data))
    except StaleCheckpoint:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise StaleCheckpoint(f"not a checkpoint of this release: {error}") from error


def plain(value: Any) -> Any:
    """A JSON value that `rebuilt` turns back into `value`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Fact):
        return {TAG: "fact", "v": [value.position, value.type, value.occurred_at, value.source,
                                    value.event_id, value.contact_id, value.data]}  # orjson writes datetimes as RFC 3339
    if isinstance(value, datetime):
        return {TAG: "dt", "v": value}
    if isinstance(value, Decimal):
        return {TAG: "dec", "v": str(value)}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [plain(each) for each in value]}
    if isinstance(value, list):
        return [plain(each) for each in value]
    if isinstance(value, (set, frozenset)):
        kind = "set" if isinstance(value, set) else "frozenset"
        return {TAG: kind, "v": sorted((plain(each) for each in value), key=orjson.dumps)}
    if isinstance(value, dict):
        return {TAG: "dict", "v": [[plain(key), plain(each)] for key, each in value.items()]}
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    if name in REGISTERED and dataclasses.is_dataclass(value):
        fields = {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
        return {TAG: "state", "n": name, "ver": REGISTERED[name][1], "v": fields}
    raise TypeError(f"cannot checkpoint a {type(value).__name__}: register it with @state")


def rebuilt(value: Any) -> Any:
    if isinstance(value, list):
        return [rebuilt(each) for each in value]
    if not isinstance(value, dict):
        return value
    kind, inner = value[TAG], value["v"]
    if kind == "fact":
        position, fact_type, occurred_at, source, event_id, contact_id, data = inner
        return Fact(position, fact_type, datetime.fromisoformat(occurred_at), source, event_id, contact_id, data)
    if kind == "dt":
        return datetime.fromisoformat(inner)
    if kind == "dec":
        return Decimal(inner)
    if kind == "tuple":
        return tuple(rebuilt(each) for each in inner)
    if kind in ("set", "frozenset"):
        return (set if kind == "set" else frozenset)(rebuilt(each) for each in inner)
    if kind == "dict":
        return {rebuilt(key): rebuilt(each) for key, each in inner}
    if kind == "state":
        return registered(value["n"], value["ver"], {name: rebuilt(each) for name, each in inner.items()})
    raise StaleCheckpoint(f"unknown tag {kind!r}")


def registered(name: str, version: int, fields: dict[str, Any]) -> Any:
    known = REGISTERED.get(name)
    if known is None or known[1] != version:
        raise StaleCheckpoint(f"{name} v{version} is not a state this release knows")
    return known[0](**fields)
