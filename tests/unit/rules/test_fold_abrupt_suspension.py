"""`abrupt-suspension` folded, against its detector: tenures a year back, episodes 15 days long, to the microsecond."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import Timeline
from projections.rules.abrupt_suspension import Arrears, detect
from projections.state_codec import encode
from projections.thresholds import DEFAULT_THRESHOLDS
from tests.unit.rules.builders import fact
from tests.unit.rules.fold_edges import (
    assert_fold_matches_detector,
    edge_histories,
    edges,
    state_after,
    state_and_final,
)

RULE = "abrupt-suspension"
START = datetime(2026, 3, 2, tzinfo=timezone.utc)
RECENT = st.integers(0, 2 * 30).map(lambda halves: START + timedelta(hours=12 * halves))
A_YEAR_EARLIER = st.integers(-2 * 380, -2 * 340).map(lambda halves: START + timedelta(hours=12 * halves))
OFFSETS = edges(timedelta(days=15), timedelta(days=365), timedelta(days=380))
MICRO = timedelta(microseconds=1)
AFTER = [timedelta(0), MICRO, timedelta(days=7), timedelta(days=15) - MICRO, timedelta(days=15)]
A_YEAR = [timedelta(days=365) - MICRO, timedelta(days=365), timedelta(days=365) + MICRO]
INVOICES = st.sampled_from(["I-1", "I-2", "I-3"])
TENURE: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "billing.subscription.changed": st.fixed_dictionaries({"change": st.sampled_from(["start", "renew", "cancel"]),
                                                           "plan": st.just("pro")}),
    "sales.opportunity.won": st.fixed_dictionaries({"opportunityId": st.just("O-1"), "amount": st.just("900"),
                                                    "currency": st.just("EUR")}),
}
UNPAID: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "billing.payment.failed": st.fixed_dictionaries({"invoiceId": INVOICES}),
    "billing.dunning.sent": st.fixed_dictionaries({"invoiceId": INVOICES, "level": st.integers(1, 3)}),
    "billing.payment.received": st.fixed_dictionaries({"invoiceId": INVOICES}),
    "billing.service.suspended": st.just({}),
    "billing.service.restored": st.just({}),
}


@st.composite
def spine(draw: st.DrawFn) -> list[Fact]:
    """An episode's first failure, a suspension about 15 days later and a tenure a year before; maybe a failure too."""
    first = draw(RECENT)
    facts = [Fact(0, "billing.payment.failed", first, "test", "s-1", None, {"invoiceId": "I-1"}),
             Fact(0, "billing.service.suspended", first + draw(st.sampled_from(AFTER)),
                  "test", "s-2", None, {})]
    if draw(st.booleans()):
        facts.append(Fact(0, "billing.payment.failed", first - draw(st.sampled_from(A_YEAR)), "test", "s-3", None, {"invoiceId": "I-2"}))
    since = facts[1].occurred_at - draw(st.sampled_from([*A_YEAR, timedelta(days=400)]))
    facts.append(Fact(0, "sales.opportunity.won", since, "test", "s-4", None,
                      {"opportunityId": "O-1", "amount": "900", "currency": "EUR"}))
    return facts


@st.composite
def accounts(draw: st.DrawFn) -> list[Fact]:
    """A tenure a year back (its own events, at its edges), and payments, suspensions and restores over weeks.

    The recent events' edges reach back a year too: a failure 365 days before an episode. Three in four
    accounts have a spine at the edges of all three spans, and fewer recent events.
    """
    backbone = draw(spine()) if draw(st.integers(0, 3)) else []
    tenure = draw(edge_histories(TENURE, A_YEAR_EARLIER, OFFSETS, max_size=4))
    recent = draw(edge_histories({**UNPAID, **TENURE}, RECENT, OFFSETS, max_size=8 if backbone else 24,
                                 types=[*UNPAID, *UNPAID, "billing.service.suspended"]))
    facts = [*tenure, *(fact._replace(event_id=f"r-{fact.event_id}") for fact in recent), *backbone]
    return [fact._replace(position=n) for n, fact in enumerate(facts, 1)]


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_the_fold_reads_as_the_detector_judges_at_every_edge(facts: list[Fact]) -> None:
    assert_fold_matches_detector(RULE, facts, OFFSETS)


def test_the_state_keeps_unpaid_invoices_a_year_and_a_grace_of_failures_and_the_findings() -> None:
    tenure = fact("billing.subscription.changed", "2024-01-01", change="start", plan="pro")
    old = fact("billing.payment.failed", "2025-02-15 00:00:00.000001", invoiceId="I-0")
    paid = fact("billing.payment.received", "2025-02-16", invoiceId="I-0")
    first = fact("billing.dunning.sent", "2026-03-01", invoiceId="I-1", level=1)
    suspension = fact("billing.service.suspended", "2026-03-02")
    state = state_after(RULE, [tenure, old, paid, first, suspension])
    assert state.tenure == tenure
    assert state.unpaid == {"I-1": first}
    assert state.failures == [old.occurred_at]  # 380 days before 2 Mar 2026 is 15 Feb 2025 00:00: still read
    assert state.pending == [suspension] and state.open == []
    later = fact("billing.payment.failed", "2026-03-02 00:00:00.000001", invoiceId="I-0")  # paid: starts no episode
    state = state_after(RULE, [tenure, old, paid, first, suspension, later])
    assert state.failures == [later.occurred_at]
    assert state.unpaid == {"I-1": first} and state.paid == {"I-0"}
    assert state.pending == [] and [(each.suspension, each.first) for each in state.open] == [(suspension, first)]
    restored = fact("billing.service.restored", "2026-03-03")
    state, final = folded([tenure, old, paid, first, suspension, later, restored])
    assert state.open == [] and state.closed == []  # given up as final at the restore
    assert [(each.evidence, each.resolved_at) for each in final] == [((tenure, first, suspension), restored.occurred_at)]


def folded(facts: list[Fact]) -> tuple[Arrears, list[Finding]]:
    """The state after the facts in order, and the findings it gave up as final on the way."""
    state, final = state_and_final(RULE, facts)
    return state, final


def suspended_every_60_days(episodes: int) -> list[Fact]:
    """A customer since 2020, its invoice n dunned and suspended 3 days later, then restored and paid, every 60 days."""
    facts = [fact("billing.subscription.changed", "2020-01-01", change="start", plan="pro")]
    for n in range(episodes):
        begin = START + timedelta(days=60 * n)
        facts += [fact("billing.dunning.sent", begin, invoiceId=f"I-{n}", level=1),
                  fact("billing.service.suspended", begin + timedelta(days=3)),
                  fact("billing.service.restored", begin + timedelta(days=5)),
                  fact("billing.payment.received", begin + timedelta(days=6), invoiceId=f"I-{n}")]
    return facts


def test_a_long_history_of_restored_suspensions_leaves_a_bounded_state_but_for_the_paid_invoices() -> None:
    """`paid` keeps one id per paid invoice (rules.md: a payment at any time keeps it out of every later episode)."""
    states = {episodes: folded(suspended_every_60_days(episodes)) for episodes in (50, 500)}
    assert [len(final) for _, final in states.values()] == [50, 500]
    sizes = {episodes: len(encode(replace(arrears, paid=set()))) for episodes, (arrears, _) in states.items()}
    assert sizes[500] <= sizes[50] + 64, sizes


def test_a_suspension_given_up_as_final_is_the_detectors_finding_years_later() -> None:
    facts = suspended_every_60_days(20)
    _, final = folded(facts)
    much_later = START + timedelta(days=60 * 20 + 3 * 365)
    later = [*facts, fact("billing.payment.failed", much_later - timedelta(days=2), invoiceId="I-X"),
             fact("billing.service.suspended", much_later)]
    detected = list(detect(Timeline("acme", later), Moment(much_later), DEFAULT_THRESHOLDS[RULE]))
    assert len(final) == 20 and final == detected[:-1] and detected[-1].resolved_at is None
