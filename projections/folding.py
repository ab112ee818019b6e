"""Folding an account for the projector and the reads: checkpoints by a policy, health at chosen week boundaries.

A checkpoint is the state at a week boundary (`projections.checkpoints`). Taking one at
every boundary an account's facts cross would cost a whole encoded state every week of a
sparse account's life (a year of 100 events would take 52); instead one is taken at a
boundary once `CHECKPOINT_EVERY` facts have been folded since the last one. A late fact
then refolds at most that many facts before it, and `asOf` folds at most that many plus
the facts of the weeks it reads.

Checkpoints older than `KEPT_WHOLE` before an account's latest one are thinned
(`kept_checkpoints`): of those, the account keeps the first of each run of
`THINNED_EVERY` facts. An account's checkpoints would otherwise grow with the square
of its history, each a whole state: at 10,000 events over eight years, 134
checkpoints of 12.6 MB against 1.9 MB of events. What thinning costs is confined to
instants whose checkpoint before them is older than `KEPT_WHOLE` (an old instant, or one
after a quiet stretch): a late event or an `asOf` there folds fewer than `THINNED_EVERY`
facts more, never the account's whole history.

The health trend's points are week boundaries too. Folding past a stretch of
boundaries (every boundary from the one after a fact up to the next fact holds the same
state), the score at each wanted boundary is read there, with the findings open then.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime

from projections.account_state import AccountState, RuleReads, check_readable, checkpoint_bytes, findings_at, read_rules
from projections.checkpoints import fold_through
from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.thresholds import Thresholds
from projections.view.fold import health_at
from projections.view.health import HealthWeights
from projections.weeks import WEEK

CHECKPOINT_EVERY = 64  # facts folded since the last checkpoint before the next boundary takes one
KEPT_WHOLE = WEEK * 13  # checkpoints this recent (before an account's latest one) are all kept: the trend's weeks, and more
THINNED_EVERY = 512  # older ones: the first checkpoint of each run of this many facts is kept

Taken = Callable[[datetime, bytes, int], None]  # (boundary, the encoded state there, how many facts it holds)


def kept_checkpoints(checkpoints: Collection[tuple[datetime, int]]) -> set[datetime]:
    """Of an account's checkpoints, (boundary, facts folded up to it), the boundaries kept: all within `KEPT_WHOLE`
    of the latest, and of the older ones the first (by boundary) of each `facts // THINNED_EVERY`.

    Decided by each checkpoint's own boundary and fact count alone, so a checkpoint kept
    stays kept as later ones come, and a refold that takes checkpoints again from a
    late event's instant changes nothing before it. `ProjectedViews.write_checkpoints` does
    the same in SQL (and first in Python, over the checkpoints it writes).
    """
    if not checkpoints:
        return set()
    recent = max(boundary for boundary, _ in checkpoints) - KEPT_WHOLE
    kept = {boundary for boundary, _ in checkpoints if boundary >= recent}
    first: dict[int, datetime] = {}
    for boundary, facts in sorted(checkpoints):
        if boundary < recent:
            first.setdefault(facts // THINNED_EVERY, boundary)
    return kept | set(first.values())


def score_at(state: AccountState, point: datetime, thresholds: Thresholds, weights: HealthWeights,
             findings: Sequence[Finding] | None = None) -> int | None:
    """The health score at a boundary from the state there (its last fact no later than it).

    `findings`, where known, are the account's findings of a later moment: those open at
    the point are the ones that count (`rules.md`, time travel), so they need not be read
    from the state again.
    """
    check_readable(state, point)
    if findings is None:
        findings = findings_at(state, Moment(point), thresholds)
    return health_at(state.view, point, findings, weights)


class Scorer:
    """Health scores at the week boundaries one fold passes, in order: `score_at`'s, for less.

    A rule's findings are read again at a point only if a fact of its types was folded
    since it was last read, or its next change has come (`read_rules`, as the projector
    reads them). Most boundaries of a long history are passed with few rules changed,
    and each score reads the view's components alone.
    """

    def __init__(self, thresholds: Thresholds, weights: HealthWeights) -> None:
        self.thresholds = thresholds
        self.weights = weights
        self.reads: RuleReads = {}
        self.touched: set[str] = set()  # the types of the facts folded since the last score

    def folded(self, fact: Fact) -> None:
        self.touched.add(fact.type)

    def score(self, state: AccountState, point: datetime) -> int | None:
        self.reads = read_rules(state, point, self.thresholds, self.reads, self.touched)
        self.touched.clear()
        found = [each for findings, _, _ in self.reads.values() for each in findings]
        found.extend(each for _, each in state.final if each.rule in state.rules)
        return health_at(state.view, point, found, self.weights)


def fold_recording(account: AccountState, facts: Iterable[Fact], thresholds: Thresholds, weights: HealthWeights, *,
                   points: Collection[datetime] = (), scores: dict[datetime, int | None] | None = None,
                   taken: Taken | None = None, findings: Sequence[Finding] | None = None) -> AccountState:
    """Fold the facts in order; note the health at each of `points` passed, and take checkpoints by the policy.

    Points at or after the last fact folded are not passed: read them from the state
    returned (`score_at`).
    """

    scorer = Scorer(thresholds, weights) if scores is not None and findings is None else None

    def score(state: AccountState, point: datetime) -> int | None:
        return scorer.score(state, point) if scorer is not None else score_at(state, point, thresholds, weights,
                                                                                 findings)

    def crossed(first: datetime, state: AccountState, next_at: datetime) -> None:
        if scores is not None:
            for point in sorted(point for point in points if first <= point < next_at):
                scores[point] = score(state, point)
        if taken is not None and state.unchecked >= CHECKPOINT_EVERY:
            last = first + WEEK * ((next_at - first) // WEEK) if next_at > first else first
            boundary = last if last < next_at else last - WEEK  # the latest boundary of the stretch
            state.unchecked = 0
            taken(boundary, checkpoint_bytes(state), state.facts)

    facts = list(facts)
    if account.last is None and facts and scores is not None:  # before its first fact the account is empty
        for point in sorted(point for point in points if point < facts[0].occurred_at):
            scores[point] = score(account, point)
    return fold_through(account, facts, thresholds, crossed, None if scorer is None else scorer.folded)
