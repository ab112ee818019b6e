"""Folded states to bytes and back, for checkpoints stored beside the views.

The bytes are Python's pickle (protocol 5), read back by an unpickler that builds only
the dataclasses registered with `@state`, facts, and the standard library's date-time
and decimal values: checkpoint bytes can never make the reader call anything else (the
pickle documentation's "restricting globals"). Pickle is the standard library's C
encoder: a state of 600 KB encodes about ten times faster than walking it in Python to
JSON, which is what the projector pays at every checkpoint and every `asOf` read pays to
decode one. A fact held by several parts of a state (a rule's window, an open finding's
evidence, the view's recent items) is written once and read back as one shared object.

Each registered class carries a version, and the bytes start with a fingerprint of
every registered class's name, version and fields: a release that changes what any
state holds (a field added, removed or renamed, or a version bumped because a field's
meaning changed) writes another fingerprint, and a checkpoint written before no longer
decodes (`StaleCheckpoint`); its account is refolded from its events instead.
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import io
import pickle
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from projections.facts import Fact

T = TypeVar("T")
REGISTERED: dict[str, tuple[type[Any], int]] = {}
MAGIC = b"cx360-state/pickle5\n"
PROTOCOL = 5
PLAIN = {  # what a state holds besides registered dataclasses and plain values
    ("datetime", "datetime"), ("datetime", "timezone"), ("datetime", "timedelta"), ("decimal", "Decimal"),
    (Fact.__module__, Fact.__qualname__), (__name__, "zone_named"),
}


_fingerprint: bytes | None = None


class StaleCheckpoint(ValueError):
    """Bytes that are not a checkpoint this release can read (another release's, or damaged)."""


def state(version: int) -> Callable[[type[T]], type[T]]:
    """Register a dataclass as part of folded states, under its name and a version."""

    def register(cls: type[T]) -> type[T]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a dataclass")
        REGISTERED[f"{cls.__module__}.{cls.__qualname__}"] = (cls, version)
        global _fingerprint
        _fingerprint = None  # taken again with this class
        return cls

    return register


def encode(value: Any) -> bytes:
    out = io.BytesIO()
    out.write(MAGIC + fingerprint())
    pickler = pickle.Pickler(out, protocol=PROTOCOL)
    pickler.dispatch_table = DISPATCH
    pickler.dump(value)
    return out.getvalue()


def zone_named(key: str) -> ZoneInfo:
    """A time zone by its IANA name: how a checkpoint names one (PostgreSQL's dates come with `ZoneInfo`s)."""
    return ZoneInfo(key)


def reduce_zone(zone: ZoneInfo) -> tuple[Any, tuple[str]]:
    if zone.key is None:
        raise TypeError("cannot checkpoint a time zone read from a file: it has no name")
    return zone_named, (zone.key,)


def reduce_fact(fact: Fact) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """A fact as its class and fields: what a named tuple's own reduction gives, without calling its Python
    `__getnewargs__` for each fact (a checkpoint holds hundreds: encoding takes about a fifth less time)."""
    return Fact, tuple(fact)


DISPATCH: dict[type, Callable[[Any], Any]] = {  # ZoneInfo's own reduction names getattr, which the reader refuses
    **copyreg.dispatch_table, ZoneInfo: reduce_zone, Fact: reduce_fact,
}


def decode(data: bytes) -> Any:
    head = MAGIC + fingerprint()
    if not data.startswith(head):
        raise StaleCheckpoint("not a checkpoint of this release: another release's states, or damaged bytes")
    try:
        return StateUnpickler(io.BytesIO(memoryview(data)[len(head):])).load()
    except StaleCheckpoint:
        raise
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, EOFError, IndexError) as error:
        raise StaleCheckpoint(f"not a checkpoint of this release: {error}") from error


class StateUnpickler(pickle.Unpickler):
    """Builds registered states, facts and the plain values, and refuses every other name."""

    def find_class(self, module: str, name: str) -> Any:
        known = REGISTERED.get(f"{module}.{name}")
        if known is not None:
            return known[0]
        if (module, name) in PLAIN:
            return super().find_class(module, name)
        raise StaleCheckpoint(f"{module}.{name} is not a state this release reads")


def fingerprint() -> bytes:
    """16 bytes naming every registered state class with its version and fields, and the fact's fields."""
    global _fingerprint
    if _fingerprint is None:
        import projections.account_state  # noqa: F401  (every state class registered, whatever the caller imported)

        classes = sorted(f"{name} v{version} {[each.name for each in dataclasses.fields(cls)]}"
                         for name, (cls, version) in REGISTERED.items())
        layout = "\n".join([f"{Fact.__qualname__} {Fact._fields}", *classes])
        _fingerprint = hashlib.blake2b(layout.encode(), digest_size=16).digest()
    return _fingerprint
