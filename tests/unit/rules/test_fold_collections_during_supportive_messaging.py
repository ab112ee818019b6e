"""`collections-during-supportive-messaging` folded, against its detector: sends and actions 14 days apart, to the microsecond."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.findings import Finding
from projections.rules import RULES
from projections.rules.collections_during_supportive_messaging import Held, Thresholds
from projections.state_codec import encode
from tests.unit.rules.builders import at, fact
from tests.unit.rules.fold_edges import (
    assert_fold_matches_detector,
    detected,
    edge_histories,
    edges,
    read,
    state_after,
    state_and_final,
)

RULE = "collections-during-supportive-messaging"
START = datetime(2026, 3, 2, 9, 14, tzinfo=timezone.utc)
INSTANTS = st.integers(0, 2 * 40).map(lambda halves: START + timedelta(hours=12 * halves))
OFFSETS = edges(timedelta(days=14), timedelta(days=7), timedelta(days=44))  # 44: a closing's horizon
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "marketing.campaign.sent": st.fixed_dictionaries({
        "campaignId": st.sampled_from(["C-1", "C-2"]), "channel": st.just("email"),
        "intent": st.sampled_from(["supportive", "supportive", "retention", "nurture"])}),
    "billing.dunning.sent": st.fixed_dictionaries({"invoiceId": st.sampled_from(["I-1", "I-2"]),
                                                   "level": st.integers(1, 3)}),
    "billing.service.suspended": st.just({}),
}


@settings(max_examples=100, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS))
def test_the_fold_reads_as_the_detector_judges_at_every_edge(facts: list[Fact]) -> None:
    assert_fold_matches_detector(RULE, facts, OFFSETS)


SHORT = Thresholds(reopen_days=2)  # horizons well inside the 40 days the histories span
SHORT_OFFSETS = edges(timedelta(days=14), timedelta(days=16))


@settings(max_examples=100, deadline=None)
@given(edge_histories(DATA, INSTANTS, SHORT_OFFSETS))
def test_the_fold_reads_as_the_detector_judges_with_a_short_horizon(facts: list[Fact]) -> None:
    assert_fold_matches_detector(RULE, facts, SHORT_OFFSETS, thresholds=SHORT)


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
    assert state.held["C-1"] == Held("C-1", [sent], [notice, closing])
    at_the_end, after = dunning("2026-04-15"), dunning("2026-04-15 00:00:00.000001")
    state = state_after(RULE, [sent, notice, closing, quiet, at_the_end])
    assert [(each.send, each.actions) for each in state.open] == [(quiet, [at_the_end])]
    state = state_after(RULE, [sent, notice, closing, quiet, at_the_end, after])
    assert state.open == []  # C-2's window closed with an action at its very end: it never held
    assert (state.held, state.past) == ({}, {"C-1"})  # 30 days after C-1's closing on 16 Mar: final, forgotten
    assert state.recent == [at_the_end, after]


def test_an_action_in_the_windows_of_many_sends_is_kept_once() -> None:
    notice = dunning("2026-03-10")
    sends = [campaign(f"2026-03-{day:02d}") for day in range(2, 20)]
    state = state_after(RULE, [notice, *sends, campaign("2026-04-10", "C-2")])  # every window of C-1 closed
    assert state.held["C-1"] == Held("C-1", sends, [notice])


def test_what_is_kept_grows_only_with_the_evidence_of_findings() -> None:
    def episodes(count: int) -> list[Fact]:  # sends that never hold: their collections come 15 days after
        return [each for n in range(count) for each in (
            fact("marketing.campaign.sent", START + timedelta(days=40 * n), campaignId=f"C-{n % 7}",
                 channel="email", intent="supportive"),
            fact("billing.dunning.sent", START + timedelta(days=40 * n + 15), invoiceId="I-1", level=1))]

    few, many = state_after(RULE, episodes(50)), state_after(RULE, episodes(500))
    assert many.held == {}
    assert len(encode(many)) <= len(encode(few)) + 16  # the same, but for the digits of the later facts' positions


def folded(facts: list[Fact]) -> tuple[Any, list[Finding]]:
    """The state after the facts, taken in order, and the findings it gave up as final on the way."""
    return state_and_final(RULE, facts)


def test_a_finding_is_final_at_the_first_fact_after_its_horizon_and_the_state_forgets_it() -> None:
    """Closed 16 Mar (14 days after the 2 Mar send), so final at the first fact after 15 Apr."""
    held = [campaign("2026-03-02"), dunning("2026-03-05")]
    state, final = folded([*held, dunning("2026-04-15")])  # at the horizon itself: a send may still hold it again
    assert final == [] and list(state.held) == ["C-1"]
    state, final = folded([*held, dunning("2026-04-15"), dunning("2026-04-15 00:00:00.000001")])
    assert final == detected(RULE, held, at("2026-05-01"))[0]
    assert (state.held, state.over, state.past) == ({}, [], {"C-1"})


def test_a_send_still_open_that_holds_it_before_its_horizon_keeps_it() -> None:
    """Closed 16 Mar; sent again 14 Apr with a dunning that day: it holds from before the horizon, so joins it."""
    facts = [campaign("2026-03-02"), dunning("2026-03-05"), campaign("2026-04-14"), dunning("2026-04-14"),
             dunning("2026-04-20")]
    state, final = folded(facts)
    assert final == []
    assert read(RULE, state, at("2026-04-20")) == detected(RULE, facts, at("2026-04-20"))
    assert [each.key for each in read(RULE, state, at("2026-04-20"))[0]] == ["C-1"]


def test_what_is_kept_stays_flat_over_episodes_past_the_horizon() -> None:
    def episodes(count: int) -> list[Fact]:  # each holds its campaign's finding; the next comes after its horizon
        return [each for n in range(count) for each in (
            fact("marketing.campaign.sent", START + timedelta(days=60 * n), campaignId=f"C-{n % 3}",
                 channel="email", intent="supportive"),
            fact("billing.dunning.sent", START + timedelta(days=60 * n + 2), invoiceId="I-1", level=1))]

    history = episodes(500)
    (few, few_final), (many, many_final) = folded(episodes(50)), folded(history)
    assert (len(few_final), len(many_final)) == (49, 499)  # the last is within its horizon
    assert len(encode(many)) <= len(encode(few)) + 16  # the same, but for the digits of the later facts' positions
    later = START + timedelta(days=60 * 500 + 400)
    assert read(RULE, many, later, final=many_final) == detected(RULE, history, later)


def test_a_campaign_held_years_ago_is_final_and_a_send_years_later_opens_a_new_finding() -> None:
    facts = [campaign("2026-03-02"), dunning("2026-03-05"), campaign("2030-03-02"), dunning("2030-03-10")]
    state, final = folded(facts)
    assert [each.key for each in final] == ["C-1"]
    for instant in (at("2030-03-10"), at("2030-03-16"), at("2031-01-01")):
        assert read(RULE, state, instant, final=final) == detected(RULE, facts, instant)
    assert [(each.key, each.resolved_at) for each in read(RULE, state, at("2030-03-10"))[0]] == [
        (f"C-1@test/{facts[2].event_id}", None)]


def test_folded_without_take_final_the_state_reads_every_finding_and_gives_them_up_later() -> None:
    """Three findings of C-1, each more than 30 days after the last closed; no `take_final` on the way."""
    facts = [each for when in ("2026-03-02", "2026-06-01", "2026-09-01")
             for each in (campaign(when), dunning(f"{when[:8]}03"))]
    fold, thresholds = RULES[RULE].fold, Thresholds()
    assert fold is not None and fold.take_final is not None
    state = fold.start("acme", thresholds)
    for each in facts:
        state = fold.step(state, each, thresholds)
    assert read(RULE, state, at("2027-01-01")) == detected(RULE, facts, at("2027-01-01"))
    final = fold.take_final(state, facts[-1].occurred_at, thresholds)  # the September send's window is still open
    assert sorted(final, key=lambda each: each.detected_at) == detected(RULE, facts, at("2027-01-01"))[0][:2]
    assert (state.held, state.over, [each.send for each in state.open]) == ({}, [], [facts[-2]])
