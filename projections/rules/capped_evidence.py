"""A finding's evidence capped at its first and latest pieces, the count kept whole (`docs/rules.md`).

A finding that can stay open for the account's life (a burst that never ends, an opt-out
never granted again, a serious ticket never resolved) would otherwise take every later
event as evidence: the finding, and the fold's state holding it, would grow without end.
Kept instead: the first `first` pieces (the first one always: it names the finding) and
the latest `latest`, which is every piece while there are at most `first + latest`; the
summary still counts them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from projections.facts import Fact
from projections.state_codec import state


def first_and_latest(pieces: list[Fact], first: int, latest: int) -> list[Fact]:
    """The reference's cut: the first `first` pieces (at least one) and the latest `latest` of the rest."""
    head = pieces[:max(1, first)]
    rest = pieces[len(head):]
    return head + rest[max(0, len(rest) - latest):]


def shown_words(count: int, shown: int, pieces: str) -> str:
    """What the summary adds when the evidence shows fewer of the `pieces` than there were, else nothing."""
    return f" (the evidence shows {shown} of the {count} {pieces}: the first and the latest)" if count > shown else ""


@state(version=1)
@dataclass(slots=True)
class Kept:
    """Evidence as a fold keeps it, taken in order: the same pieces as `first_and_latest`, and how many there were."""

    first: list[Fact] = field(default_factory=list)
    latest: list[Fact] = field(default_factory=list)  # the latest pieces after `first`
    count: int = 0

    def take(self, piece: Fact, first: int, latest: int) -> None:
        self.count += 1
        if len(self.first) < max(1, first):
            self.first.append(piece)
            return
        self.latest.append(piece)
        if len(self.latest) > latest:
            del self.latest[0]

    @property
    def shown(self) -> list[Fact]:
        return self.first + self.latest

    def copy(self) -> Kept:
        return Kept(list(self.first), list(self.latest), self.count)
