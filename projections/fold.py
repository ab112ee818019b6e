"""Rules as folds: a compact state per account, advanced one fact at a time, read at a moment.

A fold takes an account's facts in `(occurredAt, source, id)` order, never one before a
fact it has already taken (a late fact is the caller's to handle: it refolds from a
checkpoint before it, `projections.checkpoints`). Its state keeps only what can still
change an answer, so taking a fact costs the same in an account's first week as in its
tenth year. Reading the state at a moment T (no earlier than the last fact taken) gives
the findings true at T, deadlines judged at T: the same findings as judging the facts up
to T at once (`rules.md`, time travel), which the reference detectors in the tests check.

A state is owned by whoever folds it: `step` may change it in place and return it.
Checkpoints are taken by encoding it (`projections.state_codec`), never by sharing it.

A finding that no later fact can change (resolved, its evidence complete, its key never
to come back) is *final*. A fold that can tell gives it up with `take_final` after each
of its steps: the finding leaves the state and is kept by the caller (the projector
writes it once, as a final row), so an account's state holds what can still change, not
everything it ever found. Reading the state then gives the findings not yet final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from projections.facts import Fact
from projections.findings import Finding, Moment

State = TypeVar("State")


@dataclass(frozen=True)
class Fold(Generic[State]):
    """How one rule folds: the fact types it takes, its empty state, a step, and a read."""

    types: frozenset[str]
    start: Callable[[str, Any], State]  # (account id, thresholds) -> the state before any fact
    step: Callable[[State, Fact, Any], State]  # (state, the next fact, thresholds) -> state
    read: Callable[[State, Moment, Any], Iterable[Finding]]  # (state, moment, thresholds) -> findings at it
    # (state, the instant of the fact just taken, thresholds) -> the findings that became final, taken out of the
    # state: read at any moment from that instant on, with any facts after it, each would be the same.
    take_final: Callable[[State, datetime, Any], list[Finding]] | None = None
