"""An account's history: the fold from its events to the state every rule reads.

The state is the account's facts in `occurredAt` order. Folding inserts each fact in
its place, so an event that arrives late, with an older `occurredAt`, lands where it
happened and the rules judge the account as if it had always been there.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from projections.facts import ORDER, Fact


@dataclass(frozen=True)
class History:
    account_id: str
    facts: tuple[Fact, ...] = ()

    def until(self, as_of: datetime) -> History:
        """The history as known from the events that had happened at `as_of` (inclusive)."""
        if not self.facts or self.facts[-1].occurred_at <= as_of:
            return self  # the usual case when judging as of now
        end = bisect_right([fact.occurred_at for fact in self.facts], as_of)
        return self if end == len(self.facts) else History(self.account_id, self.facts[:end])

    def next_after(self, as_of: datetime) -> datetime | None:
        """When the first event that has not happened yet at `as_of` will happen."""
        if not self.facts or self.facts[-1].occurred_at <= as_of:
            return None
        later = bisect_right([fact.occurred_at for fact in self.facts], as_of)
        return self.facts[later].occurred_at if later < len(self.facts) else None


def fold(history: History, fact: Fact) -> History:
    """The history with one more fact, in its place by `occurredAt`."""
    facts = list(history.facts)
    insort(facts, fact, key=lambda each: each.order)
    return History(history.account_id, tuple(facts))


def history_of(account_id: str, facts: Iterable[Fact]) -> History:
    """The history of an account from its facts in any order (the fold, done at once)."""
    return History(account_id, tuple(sorted(facts, key=ORDER)))


class Timeline:
    """What a rule reads: an account's facts up to a moment, by type.

    Rules read facts only through `of`, which notes the types asked for in `reads`: a
    rule that did not ask for a type cannot have been swayed by facts of it, so a new
    fact of that type leaves the rule's findings as they were (see `evaluation`).
    """

    def __init__(self, account_id: str, facts: Sequence[Fact]) -> None:
        self.account_id = account_id
        self._facts = facts
        self.reads: set[str] = set()
        self._merged: dict[tuple[str, ...], list[Fact]] = {}
        self.memo: dict[Any, Any] = {}  # results derived from these facts alone (see `view.open_items`)

    @cached_property
    def by_type(self) -> dict[str, list[Fact]]:
        index: dict[str, list[Fact]] = {}
        for fact in self._facts:
            index.setdefault(fact.type, []).append(fact)
        return index

    def of(self, *types: str) -> list[Fact]:
        """The facts of the given types, in `occurredAt` order."""
        self.reads.update(types)
        if len(types) == 1:
            return self.by_type.get(types[0], [])
        if (merged := self._merged.get(types)) is None:
            merged = [fact for kind in types for fact in self.by_type.get(kind, ())]
            merged.sort(key=ORDER)
            self._merged[types] = merged
        return list(merged)  # a copy: callers may change their list
