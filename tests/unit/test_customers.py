"""Who is a customer (`rules.md`, Terms): one definition, shared by the rules and the account view."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.customers import customer_reason
from projections.facts import Fact
from projections.history import Timeline, history_of
from projections.rules import prospecting_a_customer
from tests.unit.rules.builders import ACCOUNT, at, days, fact
from tests.unit.test_folds_match_reference import histories

NOW = at("2026-06-01 12:00")
MICROSECOND = timedelta(microseconds=1)


def timeline(*facts: Fact) -> Timeline:
    return Timeline(ACCOUNT, history_of(ACCOUNT, facts).facts)


def change(when: str, kind: str) -> Fact:
    return fact("billing.subscription.changed", when, change=kind, plan="Pro", mrr="500", currency="EUR")


def test_a_subscription_change_counts_before_t_only() -> None:
    """"a `billing.subscription.changed` before T ... "before T" means `occurredAt` earlier than T"."""
    started = change("2026-06-01 12:00", "start")
    assert customer_reason(timeline(started), NOW) is None
    assert customer_reason(timeline(started), NOW + MICROSECOND) == started


def test_the_latest_change_decides_and_a_cancel_ends_it() -> None:
    started, cancelled = change("2026-01-01", "start"), change("2026-05-01", "cancel")
    assert customer_reason(timeline(started, cancelled), NOW) is None
    assert customer_reason(timeline(started, cancelled), at("2026-05-01")) == started


def test_a_win_counts_within_the_won_days_before_t_both_ends_included() -> None:
    """"a `sales.opportunity.won` within the 365 days before T"; within: "at most N x 24 hours apart,
    both ends included"."""
    won = fact("sales.opportunity.won", NOW - days(365), opportunityId="O-1", amount="10", currency="EUR")
    assert customer_reason(timeline(won), NOW) == won
    assert customer_reason(timeline(won), NOW + MICROSECOND) is None
    assert customer_reason(timeline(won), NOW - days(300), won_days=30) is None


TYPES = ["billing.subscription.changed", "sales.opportunity.won", "sales.outreach.sent"]


@settings(max_examples=200, deadline=None)
@given(histories(TYPES), st.sampled_from([30, 365]), st.data())
def test_the_shared_definition_is_the_rules(facts: list[Fact], won_days: int, data: st.DataObject) -> None:
    """`prospecting-a-customer` judges with its own copy of the definition: the two agree."""
    known = timeline(*facts)
    thresholds = prospecting_a_customer.Thresholds(customer_won_days=won_days)
    instants = sorted({fact.occurred_at + offset for fact in facts
                       for offset in (timedelta(0), MICROSECOND, days(won_days), days(won_days) + MICROSECOND)})
    for instant in data.draw(st.lists(st.sampled_from(instants), min_size=1, max_size=10)):
        assert customer_reason(known, instant, won_days) == prospecting_a_customer.customer_reason(
            known, instant, thresholds)
