"""Judging an account: every rule, over the facts known at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from projections.findings import Finding, Moment
from projections.history import History, Timeline
from projections.rules import RULES
from projections.thresholds import DEFAULT_THRESHOLDS, Thresholds


@dataclass(frozen=True)
class Evaluation:
    findings: list[Finding]
    next_change: datetime | None  # when they may change with no new event


def evaluate(history: History, as_of: datetime, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Evaluation:
    """The account's findings as of a moment, from the events that had happened by then.

    This is the time-travel law of `rules.md` by construction: events after `as_of` are
    not seen, and deadlines are judged at `as_of`. Those later events, and every
    deadline still to come, give the moment at which the findings must be judged again.
    """
    moment = Moment(as_of)
    if (later := history.next_after(as_of)) is not None:
        moment.expect(later)
    timeline = Timeline(history.account_id, history.until(as_of).facts)
    findings = [each for rule_id, rule in RULES.items() for each in rule.detect(timeline, moment, thresholds[rule_id])]
    findings.sort(key=lambda each: (each.detected_at, each.id))
    return Evaluation(findings, moment.next_change)
