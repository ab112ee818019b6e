"""What every rule is: an id, its thresholds with their defaults, a detector (the reference) and a fold."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from projections.findings import Finding, Moment
from projections.fold import Fold
from projections.history import Timeline

Detector = Callable[[Timeline, Moment, Any], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """One inconsistency rule of `rules.md`.

    `defaults` is a frozen dataclass instance holding the rule's thresholds (the spec's
    defaults); operators override its fields by name. `detect` reads an account's facts
    up to the moment and returns the findings true at that moment, each with the rule's
    severity. `fold` gives the same findings from a state advanced one fact at a time
    (`projections.fold`): the service runs it, and the detector is its reference.
    """

    id: str
    defaults: Any
    detect: Detector
    fold: Fold[Any]
