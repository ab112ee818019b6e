"""`collections-during-supportive-messaging` folded, against its detector: sends and actions 14 days apart, to the microsecond."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.rules.collections_during_supportive_messaging import Held
from projections.state_codec import encode
from tests.unit.rules.builders import at, fact
from tests.unit.rules.fold_edges import assert_fold_matches_detector, detected, edge_histories, edges, read, state_after

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
    assert state.held == {}
    quiet = campaign("2026-04-01", "C-2")  # more than 14 days after every dunning: no send to come reaches them
    state = state_after(RULE, [sent, notice, closing, quiet])
    assert state.recent == []
    assert [(each.send, each.actions) for each in state.open] == [(quiet, [])]
    assert state.held["C-1"] == Held([sent], [notice, closing])
    at_the_end, after = dunning("2026-04-15"), dunning("2026-04-15 00:00:00.000001")
    state = state_after(RULE, [sent, notice, closing, quiet, at_the_end])
    assert [(each.send, each.actions) for each in state.open] == [(quiet, [at_the_end])]
    state = state_after(RULE, [sent, notice, closing, quiet, at_the_end, after])
    assert state.open == []
    assert list(state.held) == ["C-1"]  # C-2's window closed with an action at its very end: it never held
    assert state.held["C-1"].sends == [sent]
    assert state.recent == [at_the_end, after]


def test_an_action_in_the_windows_of_many_sends_is_kept_once() -> None:
    notice = dunning("2026-03-10")
    sends = [campaign(f"2026-03-{day:02d}") for day in range(2, 20)]
    state = state_after(RULE, [notice, *sends, campaign("2026-06-01", "C-2")])
    assert state.held["C-1"] == Held(sends, [notice])


def test_what_is_kept_grows_only_with_the_evidence_of_findings() -> None:
    def episodes(count: int) -> list[Fact]:  # sends that never hold: their collections come 15 days after
        return [each for n in range(count) for each in (
            fact("marketing.campaign.sent", START + timedelta(days=40 * n), campaignId=f"C-{n % 7}",
                 channel="email", intent="supportive"),
            fact("billing.dunning.sent", START + timedelta(days=40 * n + 15), invoiceId="I-1", level=1))]

    few, many = state_after(RULE, episodes(50)), state_after(RULE, episodes(500))
    assert many.held == {}
    assert len(encode(many)) <= len(encode(few)) + 16  # the same, but for the digits of the later facts' positions


def test_a_campaign_held_years_ago_is_the_detectors_when_a_send_opens_it_again() -> None:
    facts = [campaign("2026-03-02"), dunning("2026-03-05"), campaign("2030-03-02"), dunning("2030-03-10")]
    state = state_after(RULE, facts)
    for instant in (at("2030-03-10"), at("2030-03-16"), at("2031-01-01")):
        assert read(RULE, state, instant) == detected(RULE, facts, instant)
    assert read(RULE, state, at("2030-03-10"))[0][0].resolved_at is None
