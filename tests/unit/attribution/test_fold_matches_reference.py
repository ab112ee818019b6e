"""The attribution fold against the pure functions, over generated histories.

Folded one fact at a time in `(occurredAt, source, id)` order, checkpointed (encoded and
decoded) anywhere, and read at any moment once every fact up to it is taken, the fold
gives the conversions and their windows' touches (settled ones taken as it goes, the
rest read) and the touches since the last conversion, exactly as `journeys` computes them
from the same facts at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.attribution import fold
from projections.attribution.journeys import conversions_of, in_window, journeys_of, touches_of
from projections.attribution.settings import AttributionSettings
from projections.facts import Fact
from projections.state_codec import decode, encode
from tests.unit.attribution.builders import WON_AT

KINDS = {
    "marketing.campaign.sent": st.just({"campaignId": "C-1", "channel": "email", "intent": "nurture"}),
    "sales.outreach.sent": st.just({"channel": "call", "intent": "follow_up"}),
    "support.ticket.resolved": st.just({"ticketId": "T-1"}),
    "product.feature.adopted": st.just({"feature": "sso"}),
    "support.ticket.opened": st.just({"ticketId": "T-1", "priority": "low"}),  # no touch, no conversion
    "sales.opportunity.won": st.builds(lambda amount, currency: {"opportunityId": "O-1", "amount": amount,
                                                                 "currency": currency},
                                       st.sampled_from(["100", "2500.50"]), st.sampled_from(["USD", "EUR"])),
    "billing.subscription.changed": st.builds(lambda change, mrr, currency: {"change": change, "plan": "pro",
                                                                             "mrr": mrr, "currency": currency},
                                              st.sampled_from(["start", "upgrade", "upgrade", "cancel"]),
                                              st.sampled_from(["50", "100", "150"]), st.sampled_from(["USD", "EUR"])),
}
# Days apart, often the same instant, across several lookback windows.
INSTANTS = st.integers(0, 2 * 200).map(lambda halves: WON_AT + timedelta(hours=12 * halves))
SETTINGS = st.builds(AttributionSettings, lookback_days=st.sampled_from([1, 7, 30, 90]), count_upgrades=st.booleans())
AFTER = [timedelta(0), timedelta(microseconds=1), timedelta(days=1), timedelta(days=30), timedelta(days=400)]


@st.composite
def histories(draw: st.DrawFn) -> list[Fact]:
    facts = []
    for n in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(sorted(KINDS)))
        facts.append(Fact(n, kind, draw(INSTANTS), draw(st.sampled_from(["a", "b"])), f"e-{n}", None,
                          draw(KINDS[kind]), draw(st.sampled_from([None, "rep-1"]))))
    return sorted(facts, key=lambda each: each.order)


def reference(facts: list[Fact], chosen: AttributionSettings, as_of: datetime) -> tuple[list[fold.Converted], object]:
    touches = touches_of(facts)
    converted = [fold.Converted(each, tuple(in_window(touches, each, chosen.lookback_days)))
                 for each in conversions_of(facts, chosen)]
    open_journeys = [each.path for each in journeys_of(facts, chosen, as_of) if not each.converted]
    return converted, open_journeys


def folded(taken: list[fold.Converted], state: fold.Attributing, chosen: AttributionSettings,
           as_of: datetime) -> tuple[list[fold.Converted], object]:
    unsettled, open_touches = fold.read(state, as_of, chosen)
    return [*taken, *unsettled], [tuple(each.key for each in open_touches)] if open_touches else []


@settings(max_examples=300, deadline=None)
@given(histories(), SETTINGS, st.sampled_from(AFTER), st.sets(st.integers(0, 40)))
def test_the_fold_equals_the_pure_functions_at_every_moment(facts: list[Fact], chosen: AttributionSettings,
                                                            after: timedelta, checkpoints: set[int]) -> None:
    state, taken = fold.start("acme"), []
    for index, fact in enumerate(facts):
        state = fold.step(state, fact, chosen)
        taken += fold.take_settled(state)
        if index in checkpoints:
            state = decode(encode(state))
        horizon = fact.occurred_at - timedelta(days=chosen.lookback_days)
        assert all(each.occurred_at > horizon for each in state.touches)  # only the window is kept
        if index + 1 == len(facts) or facts[index + 1].occurred_at > fact.occurred_at:
            as_of = fact.occurred_at + (after if index + 1 == len(facts) else timedelta(0))
            assert folded(taken, state, chosen, as_of) == reference(facts[:index + 1], chosen, as_of)


def test_a_conversion_settles_when_a_later_instant_comes_and_not_before() -> None:
    chosen = AttributionSettings()
    touch = Fact(1, "sales.outreach.sent", WON_AT, "a", "t-1", None, {"channel": "call", "intent": "follow_up"})
    win = Fact(2, "sales.opportunity.won", WON_AT, "a", "w-1", None,
               {"opportunityId": "O-1", "amount": "100", "currency": "USD"})
    same_instant = touch._replace(source="b", event_id="t-2")  # orders after the win, at its instant: counts
    later = touch._replace(occurred_at=WON_AT + timedelta(seconds=1), event_id="t-3")
    state = fold.start("acme")
    for fact in (touch, win, same_instant):
        state = fold.step(state, fact, chosen)
        assert fold.take_settled(state) == []
    state = fold.step(state, later, chosen)
    (settled,) = fold.take_settled(state)
    assert [each.fact for each in settled.touches] == [touch, same_instant]
