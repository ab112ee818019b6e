"""`ignored-detractor` folded against its detector: responses and follow-ups around the 7-day deadline.

Responses and follow-ups on one instant, 7 days apart and one microsecond either side, so
that a follow-up lands on the deadline or just after it; read at every fact and every
deadline, +-1 us. A response answered late is given up as final at its follow-up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import advance, start
from projections.facts import Fact
from projections.findings import Moment
from projections.history import Timeline
from projections.rules import RULES
from projections.state_codec import encode
from projections.thresholds import DEFAULT_THRESHOLDS
from tests.unit.rules.fold_clusters import assert_fold_matches_detector, daily, edge_histories, folded_state

RULE = "ignored-detractor"
WEEK = timedelta(days=7)

DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "marketing.nps.responded": st.fixed_dictionaries({"score": st.sampled_from([0, 6, 6, 7])}),
    "support.contact.made": st.fixed_dictionaries({"channel": st.just("call"), "reason": st.just("follow_up")}),
    "sales.outreach.sent": st.fixed_dictionaries({"channel": st.just("email"),
                                                  "intent": st.sampled_from(["check_in", "upsell"])}),
}
KINDS = ["marketing.nps.responded"] * 2 + sorted(DATA)
GAPS = [timedelta(0), WEEK, timedelta(days=3)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_fold_reads_as_the_detector_at_every_edge(data: st.DataObject) -> None:
    facts: list[Fact] = data.draw(edge_histories(DATA, GAPS, [None, "c-1"], kinds=KINDS))
    assert_fold_matches_detector(RULE, facts, [WEEK], DEFAULT_THRESHOLDS)


def test_the_state_stays_the_same_size_however_many_late_follow_ups() -> None:
    size = [len(encode(folded_state(RULE, late_follow_ups(episodes), DEFAULT_THRESHOLDS))) for episodes in (50, 500)]
    assert size[1] <= size[0] + 16, size


def late_follow_ups(episodes: int) -> list[Fact]:
    """A detractor response every 10 days, its follow-up 9 days later (2 days late)."""
    hour = timedelta(hours=1)
    facts = daily(10 * episodes, (hour, "marketing.nps.responded", "c-1", {"score": 3}),
                  (2 * hour, "support.contact.made", None, {"channel": "call", "reason": "nps"}))
    return [each for n, each in enumerate(facts)
            if (n // 2) % 10 == (0 if each.type == "marketing.nps.responded" else 9)]


def test_a_finding_given_up_as_final_is_the_detectors_long_after() -> None:
    facts = late_follow_ups(30)
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in sorted(facts, key=lambda each: each.order):
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    assert len(account.final) == 30 and not account.rules[RULE].waiting
    much_later = facts[-1].occurred_at + timedelta(days=1000)
    detector = RULES[RULE].detect(Timeline("acme", sorted(facts, key=lambda each: each.order)),
                                  Moment(much_later), DEFAULT_THRESHOLDS[RULE])
    assert [each for _, each in account.final] == list(detector)
    assert not list(RULES[RULE].fold.read(account.rules[RULE], Moment(much_later), DEFAULT_THRESHOLDS[RULE]))
