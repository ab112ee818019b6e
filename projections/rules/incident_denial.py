"""`incident-denial`: NOT YET IMPLEMENTED (placeholder that finds nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from projections.findings import Finding, Moment
from projections.history import Timeline
from projections.rules.rule import Rule

ID = "incident-denial"


@dataclass(frozen=True)
class Thresholds:
    pass


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    yield from ()


RULE = Rule(ID, "HIGH", Thresholds(), detect)
