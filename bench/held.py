"""What the projector rightly holds for some events: the accounts' folded states and their live findings, sized.

The soak folds the events it sent again in its own process, after the run, as of the
end of its warm-up and as of its end: the growth of these sizes is the data's (accounts
meeting new tickets and deals, items opened and not closed, open findings taking more
evidence), to be read beside the growth of the projector's RSS, which would also hold
anything that leaks. Sizes are `sys.getsizeof` summed over every object reachable from
the states and findings, each counted once: the projector's own copies are built from
other rows, so its figure differs somewhat, but it grows alike.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.validation import validate_batch
from projections.account_state import AccountState, advance, findings_at, start, take_credited, take_final
from projections.facts import ORDER, Fact
from projections.findings import Moment
from projections.thresholds import DEFAULT_THRESHOLDS


@dataclass(frozen=True)
class Held:
    accounts: int
    facts: int  # facts folded
    size: int  # bytes of the states and their live findings

    def line(self) -> str:
        return f"{self.size / 2**20:.1f} MB for {self.accounts:,} accounts ({self.facts:,} events folded)"


def facts_of(raws: Iterable[Mapping[str, Any]]) -> list[tuple[str, Fact]]:
    """The events as the projector reads them back, with their account ids (rejected ones left out)."""
    valid, _ = validate_batch(raws)
    return [(each.account_id, Fact(position=n + 1, type=each.type, occurred_at=each.occurred_at, source=each.source,
                                   event_id=each.id, contact_id=each.contact_id, data=each.data))
            for n, (_, each) in enumerate(valid)]


def held(facts: Iterable[tuple[str, Fact]], at: datetime) -> Held:
    """Fold each account's facts in order, take the final findings out as the projector does, and size what stays."""
    states: dict[str, AccountState] = {}
    count = 0
    for account_id, fact in sorted(facts, key=lambda each: ORDER(each[1])):
        state = states.get(account_id) or start(account_id, DEFAULT_THRESHOLDS)
        states[account_id] = advance(state, fact, DEFAULT_THRESHOLDS)
        take_final(state)
        take_credited(state)
        count += 1
    live = [findings_at(state, Moment(at), DEFAULT_THRESHOLDS) for state in states.values()]
    return Held(len(states), count, size_of([*states.values(), *live]))


def size_of(roots: Iterable[object]) -> int:
    """Bytes of every object reachable from the roots through containers, dataclasses and named tuples, once each."""
    seen: set[int] = set()
    total = 0
    stack = list(roots)
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None or isinstance(item, (bool, type)):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        else:
            stack.extend(getattr(item, name) for kind in type(item).__mro__
                         for name in getattr(kind, "__slots__", ()) if hasattr(item, name))
            stack.extend(getattr(item, "__dict__", {}).values())
    return total
