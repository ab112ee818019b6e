"""`collections-during-supportive-messaging` folded, against its detector: sends and actions 14 days apart, to the microsecond."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from tests.unit.rules.builders import fact
from tests.unit.rules.fold_edges import assert_fold_matches_detector, edge_histories, edges, state_after

RULE = "collections-during-supportive-messaging"
START = datetime(2026, 3, 2, 9, 14, tzinfo=timezone.utc)
INSTANTS = st.integers(0, 2 * 40).map(lambda halves: START + timedelta(hours=12 * halves))
OFFSETS = edges(timedelta(days=14), timedelta(days=7))
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "marketing.campaign.sent": st.fixed_dictionaries({
        "campaignId": st.sampled_from(["C-1", "C-2"]), "channel": st.just("email"),
        "intent": st.sampled_from(["supportive", "supportive", "retention", "nurture"])}),
    "billing.dunning.sent": st.fixed_dictionaries({"invoiceId": st.sampled_from(["I-1", "I-2"]),
                                                   "level": st.integers(1, 3)}),
    "billing.service.suspended": st.just({}),
}


@settings(max_examples=200, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS))
def test_the_fold_reads_as_the_detector_judges_at_every_edge(facts: list[Fact]) -> None:
    assert_fold_matches_detector(RULE, facts, OFFSETS)



def campaign(when: str, campaign_id: str = "C-1") -> Fact:
    return fact("marketing.campaign.sent", when, campaignId=campaign_id, channel="email", intent="supportive")


def dunning(when: str) -> Fact:
    return fact("billing.dunning.sent", when, invoiceId="I-1", level=1)


def test_the_state_forgets_what_no_window_can_reach_and_keeps_the_evidence() -> None:
    sent, notice, closing = campaign("2026-03-02"), dunning("2026-03-05"), dunning("2026-03-16")
    state = state_after(RULE, [sent, notice, closing])  # the window of 2 Mar is still open at 16 Mar 00:00
    assert [(each.send, each.actions) for each in state.open] == [(sent, [notice, closing])]
    assert state.holding == {}
    quiet = campaign("2026-04-01", "C-2")  # more than 14 days after every dunning: no send to come reaches them
    state = state_after(RULE, [sent, notice, closing, quiet])
    assert state.recent == []
    assert [(each.send, each.actions) for each in state.open] == [(quiet, [])]
    assert [(each.send, each.actions) for each in state.holding["C-1"]] == [(sent, [notice, closing])]
    at_the_end, after = dunning("2026-04-15"), dunning("2026-04-15 00:00:00.000001")
    state = state_after(RULE, [sent, notice, closing, quiet, at_the_end])
    assert [(each.send, each.actions) for each in state.open] == [(quiet, [at_the_end])]
    state = state_after(RULE, [sent, notice, closing, quiet, at_the_end, after])
    assert state.open == []
    assert list(state.holding) == ["C-1"]  # C-2's window closed with an action at its very end: it never held
    assert len(state.holding["C-1"]) == 1
    assert state.recent == [at_the_end, after]
