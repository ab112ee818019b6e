"""`prospecting-a-customer` folded against its detector, over customers prospected again and again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.findings import Finding
from projections.rules.prospecting_a_customer import ID, Thresholds
from projections.state_codec import encode
from tests.unit.rules.builders import fact
from tests.unit.rules.fold_edges import (
    assert_fold_matches_detector,
    detected,
    edge_histories,
    edges,
    read,
    state_after,
    state_and_final,
)

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "billing.subscription.changed": st.fixed_dictionaries({
        "change": st.sampled_from(["start", "renew", "cancel"]), "plan": st.just("pro"), "mrr": st.just("900"),
        "currency": st.just("EUR")}),
    "sales.opportunity.won": st.fixed_dictionaries({"opportunityId": st.sampled_from(["O-1", "O-2"]),
                                                    "amount": st.just("1000"), "currency": st.just("EUR")}),
    "marketing.campaign.sent": st.fixed_dictionaries({"campaignId": st.just("C-1"), "channel": st.just("email"),
                                                      "intent": st.sampled_from(["acquisition", "acquisition", "nurture"])}),
    "sales.outreach.sent": st.fixed_dictionaries({"channel": st.just("call"),
                                                  "intent": st.sampled_from(["prospecting", "prospecting", "upsell"])}),
}
INSTANTS = st.integers(-60, 120).map(lambda days: START + timedelta(days=days))
MONTH, YEAR = timedelta(days=30), timedelta(days=365)
# At once and a year later drawn more often: several customer-making events at a message's own
# instant ("before T" is strict), and a deal won exactly `customer_won_days` before a message.
# Two months either side: a message at the horizon (30 days to close, 30 more to reopen).
OFFSETS = [*edges(MONTH, 2 * MONTH, YEAR), *[timedelta(0)] * 4, YEAR, timedelta(days=3), timedelta(days=6)]
THRESHOLDS = st.builds(Thresholds, customer_won_days=st.sampled_from([0, 30, 365]),
                       close_days=st.sampled_from([0, 3, 30]), reopen_days=st.sampled_from([0, 3, 30]),
                       evidence_first=st.integers(0, 3), evidence_latest=st.integers(0, 3))  # findings past their cap


@settings(max_examples=100, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS, max_size=30), st.one_of(st.just(Thresholds()), THRESHOLDS))
def test_the_fold_gives_the_detectors_findings_at_every_edge(facts: list[Fact], thresholds: Thresholds) -> None:
    assert_fold_matches_detector(ID, facts, OFFSETS, thresholds=thresholds)


def subscription(when: datetime, change: str) -> Fact:
    return fact("billing.subscription.changed", when, change=change, plan="pro", mrr="900", currency="EUR")


def prospecting(when: datetime) -> Fact:
    return fact("marketing.campaign.sent", when, campaignId="C-1", channel="email", intent="acquisition")


def years_of(count: int, prospected: bool) -> list[Fact]:
    """A subscription started and cancelled every 40 days, a deal won each time, and maybe an acquisition campaign."""
    return [each for n in range(count) for each in (
        subscription(START + timedelta(days=40 * n), "start"),
        *([prospecting(START + timedelta(days=40 * n + 10))] if prospected else []),
        subscription(START + timedelta(days=40 * n + 20), "cancel"),
        fact("sales.opportunity.won", START + timedelta(days=40 * n + 21), opportunityId=f"O-{n}", amount="1000",
             currency="EUR"),
    )]


def test_the_state_does_not_grow_with_a_customer_prospected_for_ever() -> None:
    """Past the evidence's cap (the first 20 messages and the latest 80), the state stays the size it was."""
    quiet = [len(encode(state_after(ID, years_of(count, prospected=False)))) for count in (50, 500)]
    assert quiet[1] <= quiet[0] + 16  # the same, but for the digits of the later facts' positions
    few, many = (state_after(ID, years_of(count, prospected=True)) for count in (200, 2000))
    assert many.prospected["marketing"].messages.count == 2000
    assert len(encode(many)) <= len(encode(few)) + 2 * 100 + 16  # a digit more in each kept message's position, id


def test_a_finding_of_many_messages_shows_the_first_and_the_latest_and_counts_them_all() -> None:
    facts = years_of(150, prospected=True)
    [found] = detected(ID, facts, facts[-1].occurred_at)[0]
    messages = [each for each in facts if each.type == "marketing.campaign.sent"]
    assert list(found.evidence[1:]) == [*messages[:20], *messages[-80:]]
    assert "; 149 more prospecting messages followed" in found.summary
    assert "(the evidence shows 100 of the 150 messages: the first and the latest)" in found.summary
    assert read(ID, state_after(ID, facts), facts[-1].occurred_at)[0] == [found]


def folded(facts: list[Fact]) -> tuple[Any, list[Finding]]:
    """The state after the facts, taken in order, and the findings it gave up as final on the way."""
    return state_and_final(ID, facts)


def episodes(count: int) -> list[Fact]:
    """A customer since the start, prospected twice every 100 days: each time after the last finding's horizon."""
    return [subscription(START, "start"), *(prospecting(START + timedelta(days=100 * n + gap))
                                            for n in range(count) for gap in (10, 20))]


def test_the_state_after_500_episodes_is_as_small_as_after_50() -> None:
    few, many = (len(encode(state_after(ID, episodes(count)))) for count in (50, 500))
    assert many <= few + 16  # the same, but for the digits of the later facts' positions and ids
    state, final = folded(episodes(500))
    assert len(final) == 499 and [each.messages.count for each in state.prospected.values()] == [2]


def test_the_final_findings_are_the_detectors_long_after() -> None:
    facts = [*episodes(20), fact("sales.outreach.sent", START + timedelta(days=5), channel="call",
                                 intent="prospecting")]
    state, final = folded(facts)
    later = START + 30 * YEAR
    assert read(ID, state, later, final=final) == detected(ID, facts, later)
    assert len(final) == 20 and {each.key for each in final} >= {"marketing", "sales"}
    assert len(read(ID, state, later)[0]) == 1  # only the latest episode is still in the state


def test_a_department_prospecting_again_years_later_opens_a_new_finding() -> None:
    facts = [subscription(START, "start"), prospecting(START + timedelta(days=3)),
             prospecting(START + timedelta(days=5 * 365))]
    state, final = folded(facts)
    assert [each.key for each in final] == ["marketing"]  # given up at the later message, past its horizon
    assert [each.key for each in state.prospected.values()] == [f"marketing@test/{facts[2].event_id}"]
    for instant in (facts[-1].occurred_at, facts[-1].occurred_at + MONTH, facts[-1].occurred_at + 3 * YEAR):
        assert read(ID, state, instant, final=final) == detected(ID, facts, instant)
    assert read(ID, state, facts[-1].occurred_at)[0][0].resolved_at is None


def test_a_finding_is_final_at_the_first_fact_after_its_horizon_and_not_before() -> None:
    """Last message on 4 Jan: it closes 3 Feb, and its horizon is 5 Mar; any fact of the rule after it ends it."""
    message = prospecting(START + timedelta(days=3))
    horizon = message.occurred_at + 2 * MONTH
    for instant, given_up in ((horizon, False), (horizon + timedelta(microseconds=1), True)):
        state, final = folded([subscription(START, "start"), message, subscription(instant, "renew")])
        assert [each.key for each in final] == (["marketing"] if given_up else [])
        assert (state.prospected == {}) == given_up and state.final_departments == (["marketing"] if given_up else [])


def test_a_message_after_its_departments_finding_was_given_up_opens_an_at_keyed_finding() -> None:
    facts = [subscription(START, "start"), prospecting(START + timedelta(days=3)),
             subscription(START + YEAR, "renew"), prospecting(START + 2 * YEAR)]
    state, final = folded(facts)
    assert [each.key for each in final] == ["marketing"]  # given up at the renewal, past its horizon
    assert [each.key for each in state.prospected.values()] == [f"marketing@test/{facts[3].event_id}"]
    assert read(ID, state, START + 3 * YEAR, final=final) == detected(ID, facts, START + 3 * YEAR)


def test_a_finding_showing_none_of_its_latest_messages_is_still_timed_by_its_last() -> None:
    """With `evidence_latest = 0` the evidence stops at the first messages; the finding still closes 30 days after
    the last one, and says when that was."""
    thresholds = Thresholds(evidence_first=1, evidence_latest=0)
    facts = [subscription(START, "start"), *(prospecting(START + timedelta(days=day)) for day in (1, 40, 80))]
    later = START + timedelta(days=100)
    assert_fold_matches_detector(ID, facts, OFFSETS, thresholds=thresholds)
    [found] = detected(ID, facts, later, thresholds)[0]
    assert found.resolved_at is None and "the latest on 22 Mar 2026" in found.summary and len(found.evidence) == 2
