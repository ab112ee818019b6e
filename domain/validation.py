"""Validation of incoming events against the catalogue: envelope first, then `data`.

An event either becomes a `ValidEvent` (values in their stored form) or yields one
`Rejection` per fault, each naming the event's index in its batch, its id, the field
path and the reason. Faults in one event never affect another.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.catalogue import CATALOGUE
from domain.event_type import EventType
from domain.fields import (
    NUL_REFUSED,
    SURROGATE_REFUSED,
    Field,
    Id,
    Invalid,
    Text,
    has_lone_surrogate,
    in_64_bits,
    json_type,
    parse_rfc3339,
    whole,
)


@dataclass(frozen=True)
class Limits:
    """Bounds on the free-form parts of an event, so one event cannot exhaust the service."""

    max_string_length: int = 10_000
    max_data_depth: int = 8
    max_data_keys: int = 1_000


@dataclass(frozen=True, slots=True)
class ValidEvent:
    id: str
    source: str
    type: str
    account_id: str
    contact_id: str | None
    occurred_at: datetime
    occurred_at_text: str
    actor: str | None
    data: dict[str, Any]

    @property
    def department(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key: the same pair sent twice is stored once."""
        return (self.source, self.id)


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    event_id: str | None
    field: str
    message: str


ENVELOPE: dict[str, Field] = {
    "id": Id(required=True),
    "source": Text(required=True, max_length=100),
    "type": Text(required=True, max_length=100),
    "accountId": Id(required=True),
    "contactId": Id(),
    "actor": Id(),
}


def validate_batch(
    raws: Iterable[Mapping[str, Any]], limits: Limits = Limits()
) -> tuple[list[tuple[int, ValidEvent]], list[Rejection]]:
    """Split a batch into its valid events (with their indexes) and the rejections of the rest."""
    valid: list[tuple[int, ValidEvent]] = []
    rejections: list[Rejection] = []
    for index, raw in enumerate(raws):
        outcome = validate_event(raw, index, limits)
        if isinstance(outcome, ValidEvent):
            valid.append((index, outcome))
        else:
            rejections.extend(outcome)
    return valid, rejections


def validate_event(raw: Mapping[str, Any], index: int, limits: Limits = Limits()) -> ValidEvent | list[Rejection]:
    """Check one event; return it in stored form, or every fault found in it."""
    faults: dict[str, str] = {}
    envelope = {name: checked(spec, raw.get(name), name, faults) for name, spec in ENVELOPE.items()}
    occurred_at, occurred_at_text = occurred(raw.get("occurredAt"), faults)
    event_type = CATALOGUE.get(envelope["type"]) if envelope["type"] else None
    if envelope["type"] and event_type is None:
        faults["type"] = f"unknown event type {envelope['type']!r:.100}; see the event catalogue (docs/events.md)"
    data = raw.get("data")
    if not isinstance(data, Mapping):
        faults["data"] = f"must be an object, not {json_type(data)}"
    elif event_type is not None:
        data = checked_data(event_type, data, limits, faults)
    if faults:
        event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        return [Rejection(index, event_id, field, message) for field, message in faults.items()]
    assert occurred_at is not None and occurred_at_text is not None and isinstance(data, dict)
    return ValidEvent(
        id=envelope["id"],
        source=envelope["source"],
        type=envelope["type"],
        account_id=envelope["accountId"],
        contact_id=envelope["contactId"],
        occurred_at=occurred_at,
        occurred_at_text=occurred_at_text,
        actor=envelope["actor"],
        data=data,
    )


def checked(spec: Field, value: Any, path: str, faults: dict[str, str]) -> Any:
    """The stored form of one value, or None with the fault recorded under its path."""
    if value is None:
        if spec.required:
            faults[path] = "is required"
        return None
    try:
        return spec.check(value)
    except Invalid as invalid:
        faults[path] = str(invalid)
        return None


def occurred(value: Any, faults: dict[str, str]) -> tuple[datetime | None, str | None]:
    """`occurredAt` as an instant with an offset, and as the text the producer sent."""
    try:
        if value is None:
            raise Invalid("is required")
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise Invalid("must carry a UTC offset such as Z or +02:00")
            return value, value.isoformat()
        if not isinstance(value, str):
            raise Invalid(f"must be an RFC 3339 date-time string, not {json_type(value)}")
        return parse_rfc3339(value), value
    except Invalid as invalid:
        faults["occurredAt"] = str(invalid)
        return None, None


def checked_data(
    event_type: EventType, data: Mapping[str, Any], limits: Limits, faults: dict[str, str]
) -> dict[str, Any]:
    """The type's fields checked, and any extra keys kept as plain JSON within the limits."""
    stored: dict[str, Any] = {}
    for name, value in data.items():
        spec = event_type.fields.get(name)
        if spec is not None:
            stored[name] = checked(spec, value, f"data.{name}", faults)
        else:
            stored[name] = free_form(value, f"data.{name}", limits, faults)
    for name in event_type.required:
        if data.get(name) is None:
            faults[f"data.{name}"] = "is required"
    if len(data) > limits.max_data_keys:
        faults["data"] = f"must have at most {limits.max_data_keys} keys (got {len(data)})"
    elif fault := key_fault(data):
        faults["data"] = fault
    return stored


def key_fault(mapping: Mapping[str, Any]) -> str | None:
    """Why the mapping's keys cannot be stored, if they cannot."""
    if any("\x00" in key for key in mapping):
        return f"keys {NUL_REFUSED}"
    if any(has_lone_surrogate(key) for key in mapping):
        return f"keys {SURROGATE_REFUSED}"
    return None


def number_of(value: Decimal | int | float) -> int | float:
    """A free-form JSON number as stored: an integer in 64 bits, or a finite double.

    (A float comes from a value written in the query itself, which graphql-core reads as
    one, and as NaN where it cannot: an integer of over 4,300 digits.)"""
    if isinstance(value, int):
        return in_64_bits(value)
    if isinstance(value, float):
        value = Decimal(value) if math.isfinite(value) else Decimal("NaN")
    if not value.is_finite():
        raise Invalid("must be a finite number")
    if value == value.to_integral_value():  # (every number too large for a double is one)
        return whole(value)
    return float(value)


def free_form(value: Any, path: str, limits: Limits, faults: dict[str, str], depth: int = 1) -> Any:
    """Keep an uninterpreted value as plain JSON; bound its depth and string lengths."""
    if depth > limits.max_data_depth:
        faults[path] = f"is nested deeper than {limits.max_data_depth} levels"
        return None
    if isinstance(value, str):
        if len(value) > limits.max_string_length:
            faults[path] = f"must be at most {limits.max_string_length} characters (got {len(value)})"
        elif "\x00" in value:
            faults[path] = NUL_REFUSED
        elif has_lone_surrogate(value):
            faults[path] = SURROGATE_REFUSED
        return value
    if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        try:
            return number_of(value)
        except Invalid as invalid:
            faults[path] = str(invalid)
            return None
    if isinstance(value, Mapping):
        if keys := key_fault(value):
            faults[path] = keys
        return {key: free_form(item, f"{path}.{key}", limits, faults, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [free_form(item, f"{path}[{i}]", limits, faults, depth + 1) for i, item in enumerate(value)]
    return value
