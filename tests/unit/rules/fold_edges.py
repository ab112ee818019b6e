"""A rule's fold against its detector over histories of the rule's own events at its edge instants.

The fold oracle (`tests/unit/test_folds_match_reference.py`) draws from every event type,
so a rule that needs a year's tenure, or a credit that just covers an excess, seldom
fires there. These histories use only the rule's own events; half the facts take their
instant from an earlier fact's anchors (its instant, a plan's `until`), moved by one of
the rule's edges (at once, the window apart, one microsecond either side). The fold is
read at every fact's instant and every edge around it, and at every detection, closing
and announced next change, each one microsecond either side too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import Timeline
from projections.rules import RULES
from projections.state_codec import decode, encode
from projections.thresholds import DEFAULT_THRESHOLDS

ACCOUNT = "acme"
MICRO = timedelta(microseconds=1)
CONTACTS = st.sampled_from([None, "c-1", "c-2"])
Anchors = Callable[[Fact], Sequence[datetime]]


def instant_only(fact: Fact) -> list[datetime]:
    return [fact.occurred_at]


def edges(*spans: timedelta) -> list[timedelta]:
    """Each span, its negative, and both one microsecond either side; and 0 and +-1us."""
    moved = [timedelta(0), *spans, *(-span for span in spans)]
    return sorted({each + nudge for each in moved for nudge in (-MICRO, timedelta(0), MICRO)})


@st.composite
def edge_histories(draw: st.DrawFn, data: Mapping[str, st.SearchStrategy[dict[str, Any]]],
                   instants: st.SearchStrategy[datetime], offsets: Sequence[timedelta],
                   anchors: Anchors = instant_only, max_size: int = 24, types: Sequence[str] = ()) -> list[Fact]:
    """Facts of the given types (`types` names some more often), half at an earlier fact's anchor moved by an offset."""
    facts: list[Fact] = []
    for n in range(draw(st.integers(1, max_size))):
        event_type = draw(st.sampled_from(sorted([*data, *types])))
        if draw(st.booleans()) and facts:
            instant = draw(st.sampled_from(anchors(draw(st.sampled_from(facts))))) + draw(st.sampled_from(offsets))
        else:
            instant = draw(instants)
        facts.append(Fact(n + 1, event_type, instant, "test", f"e-{n:02d}", draw(CONTACTS), draw(data[event_type])))
    return facts


def detected(rule_id: str, facts: Sequence[Fact], instant: datetime,
             thresholds: Any = None) -> tuple[list[Finding], datetime | None]:
    moment = Moment(instant)
    known = [fact for fact in facts if fact.occurred_at <= instant]
    found = RULES[rule_id].detect(Timeline(ACCOUNT, known), moment, thresholds or DEFAULT_THRESHOLDS[rule_id])
    return sorted(found, key=lambda each: (each.detected_at, each.id)), moment.next_change


def read(rule_id: str, state: Any, instant: datetime, thresholds: Any = None,
         final: Sequence[Finding] = ()) -> tuple[list[Finding], datetime | None]:
    """The rule's findings at the instant: its state's read, and those it gave up as final on the way."""
    moment = Moment(instant)
    fold = RULES[rule_id].fold
    assert fold is not None
    found = [*fold.read(state, moment, thresholds or DEFAULT_THRESHOLDS[rule_id]), *final]
    return sorted(found, key=lambda each: (each.detected_at, each.id)), moment.next_change


def instants_to_read(rule_id: str, facts: Sequence[Fact], offsets: Sequence[timedelta], anchors: Anchors,
                     thresholds: Any = None) -> list[datetime]:
    """Every anchor moved by every offset, and every detection, closing and next change the detector gives, +-1us."""
    moments = {anchor + offset for fact in facts for anchor in anchors(fact) for offset in offsets}
    for instant in sorted({fact.occurred_at for fact in facts}) + [max(moments) + timedelta(days=400)]:
        found, next_change = detected(rule_id, facts, instant, thresholds)
        times = [each.detected_at for each in found] + [each.resolved_at for each in found if each.resolved_at]
        moments |= {time + nudge for time in [*times, *([next_change] if next_change else [])]
                    for nudge in (-MICRO, timedelta(0), MICRO)}
    return sorted(moments)


def assert_fold_matches_detector(rule_id: str, facts: Sequence[Fact], offsets: Sequence[timedelta],
                                 anchors: Anchors = instant_only, thresholds: Any = None) -> None:
    """Folded in order, read at every instant to read (from the state and its checkpoint), as the detector judges.

    `thresholds` (the rule's own dataclass) defaults to the rule's defaults.
    """
    fold = RULES[rule_id].fold
    assert fold is not None
    thresholds = thresholds or DEFAULT_THRESHOLDS[rule_id]
    ordered = sorted(facts, key=lambda fact: fact.order)
    state = fold.start(ACCOUNT, thresholds)
    final: list[Finding] = []
    taken = 0
    for instant in instants_to_read(rule_id, ordered, offsets, anchors, thresholds):
        while taken < len(ordered) and ordered[taken].occurred_at <= instant:
            if ordered[taken].type in fold.types:
                state = fold.step(state, ordered[taken], thresholds)
                if fold.take_final is not None:
                    final.extend(fold.take_final(state, ordered[taken].occurred_at, thresholds))
            taken += 1
        checkpoint = encode(state)
        expected = detected(rule_id, ordered, instant, thresholds)
        assert read(rule_id, state, instant, thresholds, final) == expected, instant
        assert encode(state) == checkpoint, f"reading at {instant} changed the state"
        assert read(rule_id, decode(checkpoint), instant, thresholds, final) == expected, instant


def state_and_final(rule_id: str, facts: Sequence[Fact]) -> tuple[Any, list[Finding]]:
    """The rule's folded state after the facts, taken in order, and the findings it gave up as final on the way."""
    fold = RULES[rule_id].fold
    assert fold is not None
    thresholds = DEFAULT_THRESHOLDS[rule_id]
    state, final = fold.start(ACCOUNT, thresholds), []
    for fact in sorted(facts, key=lambda each: each.order):
        state = fold.step(state, fact, thresholds)
        if fold.take_final is not None:
            final.extend(fold.take_final(state, fact.occurred_at, thresholds))
    return state, final


def state_after(rule_id: str, facts: Sequence[Fact]) -> Any:
    """The rule's folded state after the facts, taken in order (the findings it gave up as final are gone)."""
    return state_and_final(rule_id, facts)[0]
