"""`upsell-to-detractor` folded against its detector: responses, pushes and recoveries at its edge instants.

Pushes and responses on one instant, 30 days apart and one microsecond either side, so
that a push lands on the window's end, a recovery on a push or a response, and a window
ends as another fact comes; read at every fact and every window's end, +-1 us.
"""

from __future__ import annotations

import dataclasses
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

RULE = "upsell-to-detractor"

DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "marketing.nps.responded": st.fixed_dictionaries({"score": st.sampled_from([0, 6, 6, 7, 9])}),
    "marketing.campaign.sent": st.fixed_dictionaries({"campaignId": st.just("C-1"), "channel": st.just("email"),
                                                      "intent": st.sampled_from(["upsell", "upsell", "nurture"])}),
    "sales.outreach.sent": st.fixed_dictionaries({"channel": st.just("email"),
                                                  "intent": st.sampled_from(["upsell", "upsell", "check_in"])}),
    "sales.opportunity.opened": st.fixed_dictionaries({"opportunityId": st.just("O-1"),
                                                       "kind": st.sampled_from(["expansion", "new"]),
                                                       "amount": st.just("100"), "currency": st.just("EUR")}),
}
KINDS = ["marketing.nps.responded"] * 3 + sorted(DATA)
GAPS = [timedelta(0), timedelta(0), timedelta(days=1)]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([30, 1]), st.data())
def test_the_fold_reads_as_the_detector_at_every_edge(window_days: int, data: st.DataObject) -> None:
    window = timedelta(days=window_days)
    facts: list[Fact] = data.draw(edge_histories(DATA, [*GAPS, window], [None, "c-1"], kinds=KINDS))
    thresholds = {**DEFAULT_THRESHOLDS, RULE: dataclasses.replace(DEFAULT_THRESHOLDS[RULE], window_days=window_days)}
    assert_fold_matches_detector(RULE, facts, [window], thresholds)


def test_the_state_keeps_a_window_of_responses_however_long_the_history() -> None:
    """A detractor response and an upsell push every day for 400 days, a promoter every 10th day at noon."""
    hour = timedelta(hours=1)
    facts = daily(400, (hour, "marketing.nps.responded", "c-1", {"score": 3}),
                  (2 * hour, "sales.outreach.sent", None, {"channel": "email", "intent": "upsell"}))
    facts += [each._replace(occurred_at=each.occurred_at + 11 * hour, event_id=f"p-{each.event_id}",
                            data={"score": 9})
              for each in facts[::20]]
    detractors = folded_state(RULE, facts, DEFAULT_THRESHOLDS)
    assert len(detractors.watching) <= 31 and all(len(pushes) <= 31 for _, pushes in detractors.watching)
    assert len(detractors.pushes_now) <= 1


def pushed_detractors(episodes: int) -> list[Fact]:
    """A detractor response every 10 days with an upsell push the next day; every other one answered by a promoter."""
    hour = timedelta(hours=1)
    facts = daily(10 * episodes, (hour, "marketing.nps.responded", "c-1", {"score": 3}),
                  (2 * hour, "sales.outreach.sent", None, {"channel": "email", "intent": "upsell"}),
                  (3 * hour, "marketing.nps.responded", "c-1", {"score": 9}))
    return [each for n, each in enumerate(facts)
            if (n // 3) % 10 == {0: 0, 1: 1, 2: 2}[n % 3] and (n % 3 < 2 or (n // 30) % 2)]


def test_the_state_stays_the_same_size_however_many_detractors_were_pushed() -> None:
    size = [len(encode(folded_state(RULE, pushed_detractors(episodes), DEFAULT_THRESHOLDS))) for episodes in (50, 500)]
    assert size[1] <= size[0] + 16, size


def test_a_finding_given_up_as_final_is_the_detectors_long_after() -> None:
    facts = sorted(pushed_detractors(31), key=lambda each: each.order)
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in facts:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    assert len(account.final) == 30 and len(account.rules[RULE].watching) == 1  # the last window has not ended
    much_later = Moment(facts[-1].occurred_at + timedelta(days=1000))
    detector = list(RULES[RULE].detect(Timeline("acme", facts), much_later, DEFAULT_THRESHOLDS[RULE]))
    assert [each for _, each in account.final] == detector[:-1]
    assert list(RULES[RULE].fold.read(account.rules[RULE], much_later, DEFAULT_THRESHOLDS[RULE])) == detector[-1:]
