"""The definition of one catalogue type: its name, department and `data` fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from domain.fields import Field


@dataclass(frozen=True)
class EventType:
    name: str
    fields: Mapping[str, Field] = field(default_factory=dict)

    required: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "required", tuple(name for name, spec in self.fields.items() if spec.required))

    @property
    def department(self) -> str:
        return self.name.split(".", 1)[0]


def catalogue_of(*types: EventType) -> dict[str, EventType]:
    """Index types by name, refusing duplicates."""
    index: dict[str, EventType] = {}
    for event_type in types:
        if event_type.name in index:
            raise ValueError(f"event type {event_type.name} defined twice")
        index[event_type.name] = event_type
    return index
