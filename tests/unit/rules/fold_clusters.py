"""Targeted checks of one rule's fold against its detector, over histories with edge instants.

Facts land on one instant, a window apart, or one microsecond either side of those; the
fold takes them in order and is read at every fact's instant and every deadline, each
+-1 us, through its own `Moment`: findings and next change must equal the detector's on
the facts up to that instant. Each read must leave the state as it was, and a state that
went through a checkpoint (encoded and decoded) must read the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from projections.account_state import advance, checkpoint_bytes, start
from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import Timeline
from projections.rules import RULES
from projections.state_codec import decode

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
AROUND = (-US, timedelta(0), US)
NUDGES = (timedelta(0), timedelta(0), -US, US)  # most echoes land on the instant itself


@st.composite
def edge_histories(draw: st.DrawFn, data: Mapping[str, st.SearchStrategy[dict[str, Any]]],
                   gaps: Sequence[timedelta], contacts: Sequence[str | None] = (None,), size: int = 14,
                   kinds: Sequence[str] = ()) -> list[Fact]:
    """Facts of the given types (drawn as often as `kinds` names them), in clusters of 1 to 3 on one instant.

    A cluster's instant is within 3 days of START, or an earlier cluster's moved by a gap
    (+-1 us). Event ids follow the drawing, so a tie is ordered as drawn, either way round.
    """
    facts: list[Fact] = []
    instants: list[datetime] = []
    count = draw(st.integers(1, size))
    while len(facts) < count:
        if instants and draw(st.integers(0, 2)) > 0:
            instant = draw(st.sampled_from(instants)) + draw(st.sampled_from(gaps)) + draw(st.sampled_from(NUDGES))
        else:
            instant = START + timedelta(hours=12 * draw(st.integers(0, 6)))
        instants.append(instant)
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(kinds or sorted(data)))
            n = len(facts)
            facts.append(Fact(n + 1, kind, instant, "test", f"e-{n:02}", draw(st.sampled_from(contacts)), draw(data[kind])))
    return facts


def judged(rule_id: str, found: Sequence[Finding], moment: Moment) -> tuple[list[Finding], datetime | None]:
    return sorted(found, key=lambda each: (each.detected_at, each.id)), moment.next_change


def assert_fold_matches_detector(rule_id: str, facts: list[Fact], deadlines: Sequence[timedelta],
                                 thresholds: Mapping[str, Any]) -> None:
    """Fold the facts in order and read at every fact's instant and deadline (+-1 us): the detector's answers."""
    ordered = sorted(facts, key=lambda fact: fact.order)
    instants = sorted({fact.occurred_at + deadline + around for fact in ordered
                       for deadline in (timedelta(0), *deadlines) for around in AROUND})
    rule, chosen = RULES[rule_id], thresholds[rule_id]
    assert rule.fold is not None
    account, taken = start("acme", thresholds, [rule_id]), 0
    for instant in instants:
        while taken < len(ordered) and ordered[taken].occurred_at <= instant:
            account = advance(account, ordered[taken], thresholds)
            taken += 1
        expected_moment = Moment(instant)
        expected = judged(rule_id, list(rule.detect(Timeline("acme", ordered[:taken]), expected_moment, chosen)),
                          expected_moment)
        before = checkpoint_bytes(account)
        final = [each for _, each in account.final]
        for state in (account.rules[rule_id], decode(before).rules[rule_id]):
            moment = Moment(instant)
            assert judged(rule_id, [*rule.fold.read(state, moment, chosen), *final], moment) == expected, instant
        assert checkpoint_bytes(account) == before, "a read changed the state"


def folded_state(rule_id: str, facts: Sequence[Fact], thresholds: Mapping[str, Any]) -> Any:
    """The rule's state after taking the facts in order."""
    account = start("acme", thresholds, [rule_id])
    for fact in sorted(facts, key=lambda each: each.order):
        account = advance(account, fact, thresholds)
    return account.rules[rule_id]  # the findings it gave up as final are in `account.final`


def daily(days: int, *facts: tuple[timedelta, str, str | None, dict[str, Any]]) -> list[Fact]:
    """The same facts (offset in the day, type, contact, data) every day for `days` days from START."""
    return [Fact(0, kind, START + timedelta(days=n) + offset, "test", f"d{n}-{index}", contact, data)
            for n in range(days) for index, (offset, kind, contact, data) in enumerate(facts)]
