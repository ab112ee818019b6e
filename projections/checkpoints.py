"""Checkpoints of an account's folded state at week boundaries, and folding from them.

A checkpoint at boundary B (a Monday, 00:00 UTC) is the state after every fact with
`occurredAt <= B`. One is taken when a fact is folded past a boundary that the account's
previous fact had not reached; so a week with facts in it ends with one, and a quiet
stretch of weeks costs one checkpoint, not one a week.

- A late fact (one that sorts before the last fact taken) refolds from the latest
  checkpoint strictly before it: at most the facts since that boundary, never the whole
  history.
- The state as of any T is the latest checkpoint at or before T, with the facts after it
  up to T folded on top: at most one week of an account's facts.

`CheckpointedAccount` does this in memory, a checkpoint at every boundary crossed: the
tests' model. The projector keeps fewer, by the policy of `projections.folding`, in its
tables.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from projections.account_state import AccountState, Final, advance, checkpoint_bytes, start
from projections.facts import ORDER, Fact
from projections.state_codec import decode
from projections.thresholds import Thresholds
from projections.weeks import boundary_at_or_after


def checkpoint_due(last_at: datetime | None, next_at: datetime) -> datetime | None:
    """The boundary to checkpoint at before folding a fact at `next_at`, if one lies between."""
    if last_at is None:
        return None
    boundary = boundary_at_or_after(last_at)
    return boundary if boundary < next_at else None


def fold_through(account: AccountState, facts: Iterable[Fact], thresholds: Thresholds,
                 crossed: Callable[[datetime, AccountState, datetime], None],
                 folded: Callable[[Fact], None] | None = None) -> AccountState:
    """Fold facts in order, telling `crossed` of each stretch of week boundaries between two facts.

    `crossed(first, state, next_at)`: every boundary from `first` up to (not including)
    `next_at`, the next fact's instant, holds `state` (the state after every fact up to
    it). `crossed` must copy what it keeps (encode it): the state goes on changing in place.
    `folded`, if given, is told of each fact once it is folded.
    """
    for fact in facts:
        boundary = checkpoint_due(account.last_at, fact.occurred_at)
        if boundary is not None:
            crossed(boundary, account, fact.occurred_at)
        account = advance(account, fact, thresholds)
        if folded is not None:
            folded(fact)
    return account


@dataclass
class Checkpoint:
    boundary: datetime
    state: bytes


@dataclass
class CheckpointedAccount:
    """An account's facts and checkpoints in memory, taking facts in any order."""

    account_id: str
    thresholds: Thresholds
    facts: list[Fact] = field(default_factory=list)  # in order
    checkpoints: list[Checkpoint] = field(default_factory=list)  # by boundary
    current: AccountState | None = None
    refolded: int = 0  # facts folded again because of late ones (what lateness costs)

    def __post_init__(self) -> None:
        self.current = start(self.account_id, self.thresholds)

    def take(self, fact: Fact) -> None:
        """Fold a fact that arrived, in whatever order it arrived."""
        if any(each.source == fact.source and each.event_id == fact.event_id for each in self.facts):
            return  # the store keeps (source, id) once: a resent event is not a new fact
        assert self.current is not None
        if self.current.last is None or fact.order > self.current.last:
            insort(self.facts, fact, key=ORDER)
            self.current = self.folded(self.current, [fact])
            return
        keep = bisect_left([each.boundary for each in self.checkpoints], fact.occurred_at)
        del self.checkpoints[keep:]  # those that hold facts after this one's place
        insort(self.facts, fact, key=ORDER)
        base, after = self.latest_checkpoint()
        base.final = self.final_until(after)
        again = self.facts[self.position_after(after):]
        self.refolded += len(again)
        self.current = self.folded(base, again)

    def latest_checkpoint(self) -> tuple[AccountState, datetime | None]:
        if not self.checkpoints:
            return start(self.account_id, self.thresholds), None
        return self.state_of(self.checkpoints[-1]), self.checkpoints[-1].boundary

    def folded(self, account: AccountState, facts: Iterable[Fact]) -> AccountState:
        def taken(boundary: datetime, state: AccountState, next_at: datetime) -> None:
            if not self.checkpoints or boundary > self.checkpoints[-1].boundary:
                self.checkpoints.append(Checkpoint(boundary, checkpoint_bytes(state)))

        return fold_through(account, facts, self.thresholds, taken)

    def state_as_of(self, instant: datetime) -> AccountState:
        """The state after every fact with `occurredAt <= instant`, from the checkpoint before it."""
        index = bisect_right([each.boundary for each in self.checkpoints], instant)
        if index == 0:
            base, after = start(self.account_id, self.thresholds), None
        else:
            checkpoint = self.checkpoints[index - 1]
            base, after = self.state_of(checkpoint), checkpoint.boundary
            base.final = self.final_until(after)
        for fact in self.facts[self.position_after(after):]:
            if fact.occurred_at > instant:
                break
            base = advance(base, fact, self.thresholds)
        return base

    def final_until(self, boundary: datetime | None) -> list[Final]:
        """The findings that became final at or before a checkpoint's boundary, which it does not hold.

        As the projector's final rows: kept across a refold from that checkpoint, while
        those final after it are found again.
        """
        assert self.current is not None
        return [] if boundary is None else [each for each in self.current.final if each[0] <= boundary]

    def position_after(self, boundary: datetime | None) -> int:
        if boundary is None:
            return 0
        return bisect_right([each.occurred_at for each in self.facts], boundary)

    @staticmethod
    def state_of(checkpoint: Checkpoint) -> AccountState:
        account = decode(checkpoint.state)
        assert isinstance(account, AccountState)
        return account
