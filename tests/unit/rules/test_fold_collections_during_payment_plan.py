"""`collections-during-payment-plan` folded, against its detector: actions at a plan's start and `until`, to the microsecond."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import Timeline
from projections.rules.collections_during_payment_plan import Plans, detect
from projections.state_codec import encode
from projections.thresholds import DEFAULT_THRESHOLDS
from tests.unit.rules.builders import fact, tied
from tests.unit.rules.fold_edges import (
    assert_fold_matches_detector,
    edge_histories,
    edges,
    instant_only,
    state_after,
    state_and_final,
)

RULE = "collections-during-payment-plan"
START = datetime(2026, 3, 2, tzinfo=timezone.utc)
INSTANTS = st.integers(0, 2 * 30).map(lambda halves: START + timedelta(hours=12 * halves))
OFFSETS = edges(timedelta(days=7))
UNTIL = st.one_of(
    st.integers(-3, 30).map(lambda days: (START + timedelta(days=days)).date().isoformat()),  # the end of that day
    INSTANTS.map(lambda instant: instant.isoformat().replace("+00:00", "Z")),
)
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "billing.payment_plan.granted": st.fixed_dictionaries({"until": UNTIL}),
    "billing.dunning.sent": st.fixed_dictionaries({"invoiceId": st.just("I-1"), "level": st.integers(1, 3)}),
    "billing.service.suspended": st.just({}),
}


def anchors(fact: Fact) -> list[datetime]:
    """A plan's `until` is an edge too: actions at it, just before and just after."""
    return [*instant_only(fact), *([fact.instant("until")] if "until" in fact.data else [])]


@settings(max_examples=100, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS, anchors))
def test_the_fold_reads_as_the_detector_judges_at_every_edge(facts: list[Fact]) -> None:
    assert_fold_matches_detector(RULE, facts, OFFSETS, anchors)


def test_the_state_forgets_plans_that_ended_without_a_finding_and_gives_up_those_with_one() -> None:
    quiet = fact("billing.payment_plan.granted", "2026-03-02", until="2026-03-10")  # to 11 Mar 00:00
    busy = fact("billing.payment_plan.granted", "2026-03-03", until="2026-03-10T12:00:00Z")
    notice = fact("billing.dunning.sent", "2026-03-11", invoiceId="I-1", level=1)  # the end of `quiet`'s last day
    state = state_after(RULE, [quiet, busy, notice])
    assert [(each.plan, each.actions) for each in state.in_force] == [(quiet, [notice])]
    assert [(each.plan, each.actions) for each in state.ended] == []  # `busy` ended empty
    later = fact("billing.service.suspended", "2026-03-11 00:00:00.000001")
    state = state_after(RULE, [quiet, busy, notice, later])
    assert state.in_force == [] and state.ended == []  # `quiet` ended with an action at its end alone: never held
    assert state.now == [later]
    with_one = [busy, fact("billing.dunning.sent", "2026-03-05", invoiceId="I-1", level=1), later]
    state, final = folded(with_one)
    assert state.in_force == [] and state.ended == []
    assert [(each.key, each.evidence) for each in final] == [("test/" + busy.event_id, tuple(with_one[:2]))]


def test_an_action_of_the_plans_own_instant_counts_whatever_their_order() -> None:
    granted = fact("billing.payment_plan.granted", "2026-03-02", until="2026-03-10")
    notice = fact("billing.dunning.sent", "2026-03-02", invoiceId="I-1", level=1)
    for facts in tied(notice, granted), tied(granted, notice):
        dunned = next(each for each in facts if each.type == "billing.dunning.sent")
        assert [each.actions for each in state_after(RULE, facts).in_force] == [[dunned]]


def folded(facts: list[Fact]) -> tuple[Plans, list[Finding]]:
    """The state after the facts in order, and the findings it gave up as final on the way."""
    state, final = state_and_final(RULE, facts)
    return state, final


def plan_every_20_days(episodes: int) -> list[Fact]:
    """A 10-day plan every 20 days, dunned twice while it runs and once after it ended."""
    facts: list[Fact] = []
    for n in range(episodes):
        begin = START + timedelta(days=20 * n)
        facts += [fact("billing.payment_plan.granted", begin, until=(begin + timedelta(days=10)).isoformat()),
                  fact("billing.dunning.sent", begin + timedelta(days=2), invoiceId=f"I-{n}", level=1),
                  fact("billing.service.suspended", begin + timedelta(days=9)),
                  fact("billing.dunning.sent", begin + timedelta(days=15), invoiceId=f"I-{n}", level=2)]
    return facts


def test_a_long_history_leaves_a_state_of_the_plans_in_force_only() -> None:
    sizes = {episodes: len(encode(folded(plan_every_20_days(episodes))[0])) for episodes in (50, 500)}
    assert sizes[500] <= sizes[50] + 64, sizes
    assert len(folded(plan_every_20_days(500))[1]) == 500


def test_a_plan_given_up_as_final_is_the_detectors_finding_years_later() -> None:
    facts = plan_every_20_days(60)
    _, final = folded(facts)
    much_later = START + timedelta(days=20 * 60 + 3 * 365)
    later_facts = [*facts, fact("billing.payment_plan.granted", much_later - timedelta(days=1), until="2040-01-01"),
                   fact("billing.dunning.sent", much_later, invoiceId="I-X", level=3)]
    detected = list(detect(Timeline("acme", later_facts), Moment(much_later), DEFAULT_THRESHOLDS[RULE]))
    assert final == detected[:-1] and detected[-1].resolved_at is None
