"""Plain facts for rule tests: `at("2026-03-02 09:00")` times and `fact(type, when, **data)`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any

from projections.account_state import findings_at, folds
from projections.checkpoints import CheckpointedAccount
from projections.evaluation import evaluate
from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import history_of
from projections.thresholds import thresholds_from

ACCOUNT = "acme"
_positions = count(1)


def at(text: str) -> datetime:
    """A UTC instant from `YYYY-MM-DD HH:MM` (or a date alone, at midnight)."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def fact(event_type: str, when: datetime | str, contact: str | None = None, **data: Any) -> Fact:
    position = next(_positions)
    return Fact(
        position=position,
        type=event_type,
        occurred_at=at(when) if isinstance(when, str) else when,
        source="test",
        event_id=f"e-{position:07d}",  # ids order as made: "e-100" would sort before "e-99" (ties break by id)
        contact_id=contact,
        data=data,
    )


def tied(*facts: Fact) -> list[Fact]:
    """The facts with event ids that order them as given among events of the same instant.

    Simultaneous events are ordered by content, the event id last: a test of a tie runs
    with each order, so that neither can decide the outcome.
    """
    return [each._replace(event_id=f"tie-{n}-{each.event_id}") for n, each in enumerate(facts)]


def findings(rule: str, facts: list[Fact], as_of: datetime | str, **thresholds: Any) -> list[Finding]:
    """The findings of one rule for the account's facts, judged at `as_of`."""
    chosen = thresholds_from({rule: thresholds} if thresholds else {})
    moment = at(as_of) if isinstance(as_of, str) else as_of
    found = [each for each in evaluate(history_of(ACCOUNT, facts), moment, chosen).findings if each.rule == rule]
    if rule in folds():
        assert folded(rule, facts, moment, chosen) == found, "the rule's fold disagrees with its detector"
    return found


def folded(rule: str, facts: list[Fact], moment: datetime, chosen: Any) -> list[Finding]:
    """The rule's findings from its fold: the facts taken in reverse order (late ones refold), read at the moment.

    Every unit case of a folding rule checks its fold this way, beside the detector.
    """
    account = CheckpointedAccount(ACCOUNT, chosen)
    for each in sorted(facts, key=lambda one: one.order, reverse=True):
        account.take(each)
    state = account.state_as_of(moment)
    return findings_at(state, Moment(moment), chosen, [rule])


def only(rule: str, facts: list[Fact], as_of: datetime | str, **thresholds: Any) -> Finding:
    """The one finding the facts must give."""
    found = findings(rule, facts, as_of, **thresholds)
    assert len(found) == 1, found
    return found[0]


def next_change(facts: list[Fact], as_of: datetime | str) -> datetime | None:
    moment = at(as_of) if isinstance(as_of, str) else as_of
    return evaluate(history_of(ACCOUNT, facts), moment).next_change
