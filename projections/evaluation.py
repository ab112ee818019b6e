"""Judging an account: every rule, over the facts known at a moment.

A judgement keeps each rule's findings with what the rule read (the event types it
asked for) and when its findings change next with time alone. Judging the account
again after new facts reuses a rule's findings when none of the new facts is of a type
it read and its next change has not come: its findings are then those it would give
again (a property test holds this against judging from scratch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime

from projections.findings import Finding, Moment
from projections.history import History, Timeline
from projections.rules import RULES
from projections.thresholds import DEFAULT_THRESHOLDS, Thresholds


@dataclass(frozen=True)
class RuleResult:
    findings: tuple[Finding, ...]
    next_change: datetime | None  # the rule's own next deadline
    reads: frozenset[str]  # the event types the rule asked for


@dataclass(frozen=True)
class Judgement:
    as_of: datetime
    results: Mapping[str, RuleResult]
    next_fact: datetime | None  # when a known fact dated after `as_of` happens

    @property
    def findings(self) -> list[Finding]:
        found = [each for result in self.results.values() for each in result.findings]
        found.sort(key=lambda each: (each.detected_at, each.id))
        return found

    @property
    def next_change(self) -> datetime | None:
        """When the findings may change with no new event: a deadline, or a fact's time coming."""
        moments = [result.next_change for result in self.results.values() if result.next_change is not None]
        if self.next_fact is not None:
            moments.append(self.next_fact)
        return min(moments, default=None)



def evaluate(
    history: History,
    as_of: datetime,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    previous: Judgement | None = None,
    new_types: Set[str] = frozenset(),
) -> Judgement:
    """The account's findings as of a moment, from the events that had happened by then.

    This is the time-travel law of `rules.md` by construction: events after `as_of` are
    not seen, and deadlines are judged at `as_of`. With a `previous` judgement of the
    same account (judged with the same thresholds, before the facts of `new_types` were
    added), rules that cannot have changed keep their findings.
    """
    timeline = Timeline(history.account_id, history.until(as_of).facts)
    reusable = previous is not None and previous.as_of <= as_of and not reached(previous.next_fact, as_of)
    results = {}
    for rule_id, rule in RULES.items():
        prior = previous.results.get(rule_id) if reusable and previous is not None else None
        if prior is not None and not reached(prior.next_change, as_of) and not prior.reads & new_types:
            results[rule_id] = prior
            continue
        moment = Moment(as_of)
        timeline.reads = set()
        found = tuple(rule.detect(timeline, moment, thresholds[rule_id]))
        results[rule_id] = RuleResult(found, moment.next_change, frozenset(timeline.reads))
    return Judgement(as_of, results, history.next_after(as_of))


def reached(moment: datetime | None, as_of: datetime) -> bool:
    return moment is not None and moment <= as_of


def findings_then(history: History, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Callable[[datetime], list[Finding]]:
    """The findings judged at any point from the events up to it (`rules.md`, time travel), for the trend's points.

    A finding open now may have been closed at a past point and reopened since; judged at
    that point it was not open, which the findings of now cannot tell.
    """
    return lambda point: evaluate(history.until(point), point, thresholds).findings
