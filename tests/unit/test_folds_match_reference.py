"""Each folding rule against its reference detector, over generated accounts (`rules.md`, law 2).

Events arrive in any order, late ones included, and resent ones are stored once; each is
folded as it arrives (a late one from the checkpoint before it). Read at any instant T,
the folded state gives exactly the findings the reference detector gives for the events
up to T judged at T, and announces the same next change (the scheduler's due time).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import AccountState, checkpoint_bytes, findings_at, folds, start
from projections.checkpoints import CheckpointedAccount
from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import Timeline, history_of
from projections.rules import RULES
from projections.state_codec import decode
from projections.thresholds import DEFAULT_THRESHOLDS
from projections.weeks import boundary_at_or_after, boundary_at_or_before
from tests.unit.test_findings_laws import CONTACTS, DATA, START, accounts, arrived

FOLDING = sorted(folds())
OFFSETS = [timedelta(0), timedelta(microseconds=1), timedelta(days=7), timedelta(days=14), timedelta(days=30),
           timedelta(days=365), -timedelta(microseconds=1)]


# Half days over seven weeks put events on one instant, and 7, 14 and 30 days apart, often;
# the laws' spread adds long histories (a year of weeks, so checkpoints and late refolds).
SPREAD = st.builds(lambda hours, minutes: START + timedelta(hours=hours, minutes=minutes),
                   st.integers(-9000, 24 * 45), st.sampled_from([0, 30]))
HALF_DAYS = st.integers(0, 2 * 49).map(lambda halves: START + timedelta(hours=12 * halves))
INSTANTS = st.one_of(HALF_DAYS, HALF_DAYS, SPREAD)


# A rule's edges are instants relative to other facts: at once, or 7, 14, 30 days, a year or a year and a day
# (past the item horizon) later. Half the facts take their instant from an earlier fact's, moved by one of those.
ECHOES = [timedelta(0), timedelta(days=7), timedelta(days=14), timedelta(days=30), timedelta(days=365),
          timedelta(days=366), timedelta(hours=24), -timedelta(hours=24), timedelta(microseconds=1)]


@st.composite
def histories(draw: st.DrawFn, types: list[str]) -> list[Fact]:
    count = draw(st.integers(1, 40))
    facts: list[Fact] = []
    for n in range(count):
        event_type = draw(st.sampled_from(types))
        if facts and draw(st.booleans()):
            instant = draw(st.sampled_from(facts)).occurred_at + draw(st.sampled_from(ECHOES))
        else:
            instant = draw(INSTANTS)
        facts.append(Fact(0, event_type, instant, "test", f"e-{n}", draw(CONTACTS), draw(DATA[event_type])))
    return facts


def reference(rule_id: str, facts: list[Fact], instant: datetime) -> tuple[list[Finding], datetime | None]:
    history = history_of("acme", facts).until(instant)
    moment = Moment(instant)
    found = list(RULES[rule_id].detect(Timeline("acme", history.facts), moment, DEFAULT_THRESHOLDS[rule_id]))
    return sorted(found, key=lambda each: (each.detected_at, each.id)), moment.next_change


def folded(rule_id: str, account: AccountState, instant: datetime) -> tuple[list[Finding], datetime | None]:
    """This rule's findings and next change alone: a shared Moment would carry other rules' deadlines."""
    moment = Moment(instant)
    return findings_at(account, moment, DEFAULT_THRESHOLDS, [rule_id]), moment.next_change


def instants_of(facts: list[Fact]) -> list[datetime]:
    """Every fact's instant, and the deadlines and boundaries around them."""
    moments = {fact.occurred_at + offset for fact in facts for offset in OFFSETS}
    moments |= {boundary for fact in facts for boundary in (boundary_at_or_after(fact.occurred_at),
                                                            boundary_at_or_before(fact.occurred_at))}
    return sorted(moments)


@pytest.mark.parametrize("rule_id", FOLDING)
@settings(max_examples=100, deadline=None)
@given(random=st.randoms(use_true_random=False), data=st.data())
def test_folded_state_read_at_any_instant_equals_the_reference(rule_id: str, random: Any, data: st.DataObject) -> None:
    mostly_its_own = sorted(folds()[rule_id].types) * 8 + sorted(DATA)
    facts = data.draw(histories(mostly_its_own))
    arrival = list(facts)
    random.shuffle(arrival)
    resent = data.draw(st.lists(st.sampled_from(range(len(arrival))), max_size=3))
    stored = arrived(arrival)
    account = CheckpointedAccount("acme", DEFAULT_THRESHOLDS)
    for fact in [*stored, *(stored[index] for index in resent)]:
        account.take(fact)
    assert account.current is not None
    for instant in data.draw(st.lists(st.sampled_from(instants_of(stored)), min_size=1, max_size=8)):
        assert folded(rule_id, account.state_as_of(instant), instant) == reference(rule_id, stored, instant), instant
    latest = max(fact.occurred_at for fact in stored) + timedelta(days=400)
    assert folded(rule_id, account.current, latest) == reference(rule_id, stored, latest)


@settings(max_examples=50, deadline=None)
@given(accounts())
def test_a_checkpoint_reads_back_as_the_state_it_was(facts: list[Fact]) -> None:
    account = start("acme", DEFAULT_THRESHOLDS)
    checkpointed = CheckpointedAccount("acme", DEFAULT_THRESHOLDS)
    for fact in sorted(arrived(facts), key=lambda each: each.order):
        checkpointed.take(fact)
    account = checkpointed.current or account
    assert decode(checkpoint_bytes(account)) == replace(account, final=[], credited=[])
