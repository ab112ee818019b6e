"""The working set of a view: the facts relevant at T give the same view at T as every fact up to T."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.history import History, history_of
from projections.view.account import account_view
from projections.view.relevance import expiries, relevant_at
from tests.unit.test_findings_laws import CONTACTS, DATA, IDS

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
EVERY_TYPE: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    **DATA,
    "sales.account.updated": st.fixed_dictionaries({}, optional={"name": st.sampled_from(["", "Acme", "Beta"])}),
    "sales.opportunity.stage_changed": st.fixed_dictionaries({"opportunityId": IDS, "stage": st.just("proposal")}),
    "sales.opportunity.lost": st.fixed_dictionaries({"opportunityId": IDS}),
    "support.csat.recorded": st.fixed_dictionaries({"score": st.integers(1, 5)}),
    "product.usage.recorded": st.fixed_dictionaries({"activeUsers": st.integers(0, 12), "seats": st.sampled_from([0, 10])}),
    "marketing.engagement.recorded": st.fixed_dictionaries({"campaignId": IDS, "channel": st.just("email"),
                                                            "action": st.just("click")}),
}
HOURS = st.integers(-24 * 500, 24 * 500)


@st.composite
def histories(draw: st.DrawFn) -> History:
    """An account's events over about three years, so that windows, plans and superseded facts all expire."""
    facts = []
    for n in range(draw(st.integers(1, 45))):
        event_type = draw(st.sampled_from(sorted(EVERY_TYPE)))
        occurred_at = START + timedelta(hours=draw(HOURS), minutes=draw(st.sampled_from([0, 30])))
        facts.append(Fact(n + 1, event_type, occurred_at, "test", f"e-{n}", draw(CONTACTS), draw(EVERY_TYPE[event_type])))
    return history_of("a-1", facts)


def moments(history: History) -> st.SearchStrategy[datetime]:
    """Any time, or just at, after or before a fact, or when one of them expires."""
    times = [fact.occurred_at for fact in history.facts]
    near = [until for until in expiries(history.facts).values() if until is not None] + times
    return st.one_of(
        HOURS.map(lambda hours: START + timedelta(hours=hours)),
        st.integers(600, 24 * 900).map(lambda hours: START + timedelta(hours=hours)),  # long after
        st.tuples(st.sampled_from(near), st.sampled_from([-1, 0, 1])).map(lambda at: at[0] + timedelta(seconds=at[1])),
    )


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_the_working_set_gives_the_same_view_as_every_fact(data: st.DataObject) -> None:
    history = data.draw(histories())
    as_of = data.draw(moments(history))
    working_set = relevant_at(history.facts, expiries(history.facts), as_of)
    assert account_view(History("a-1", tuple(working_set)), as_of, []) == account_view(history, as_of, [])


def test_old_touches_superseded_records_and_closed_tickets_expire() -> None:
    def fact(position: int, kind: str, day: int, **data: Any) -> Fact:
        return Fact(position, kind, START + timedelta(days=day), "test", f"e-{position}", None, data)

    facts = (
        fact(1, "marketing.campaign.sent", 0, campaignId="C", channel="email", intent="nurture"),
        fact(2, "support.ticket.opened", 10, ticketId="T", priority="low"),
        fact(3, "support.ticket.resolved", 12, ticketId="T"),
        fact(4, "product.usage.recorded", 20, activeUsers=5, seats=10),
        fact(5, "product.usage.recorded", 21, activeUsers=6, seats=10),
        fact(6, "support.contact.made", 30, channel="call"),
        fact(7, "billing.subscription.changed", 40, change="start", plan="pro", mrr="10", currency="EUR"),
        fact(8, "marketing.campaign.sent", 41, campaignId="C", channel="email", intent="nurture"),
    )
    until = expiries(facts, trend_weeks=12)
    slack = timedelta(weeks=12, hours=1)
    assert until[1] is None  # the account's first fact: "first seen on"
    assert until[2] == until[3] == START + timedelta(days=12 + 90) + slack  # closed, then out of the windows
    assert until[4] == START + timedelta(days=20 + 90) + slack  # superseded on day 21, in the windows until 110
    assert until[5] is None and until[6] is None  # the latest usage record; support's last touch
    assert until[7] is None and until[8] is None  # subscriptions; marketing's last touch
    after_a_year = START + timedelta(days=400)
    assert [fact.position for fact in relevant_at(facts, until, after_a_year)] == [1, 5, 6, 7, 8]


def test_the_end_of_a_low_usage_run_is_kept_as_long_as_its_start() -> None:
    """The first fact (kept for "first seen") is a low usage record; the record that ended its run
    must stay with it, or the run would seem to start there (hypothesis rarely builds this case)."""
    def usage(position: int, day: int, active: int) -> Fact:
        return Fact(position, "product.usage.recorded", START + timedelta(days=day), "test", f"e-{position}", None,
                    {"activeUsers": active, "seats": 10})

    subscription = Fact(2, "billing.subscription.changed", START + timedelta(days=1), "test", "e-2", None,
                        {"change": "start", "plan": "pro", "mrr": "10", "currency": "EUR"})
    history = history_of("a-1", [usage(1, 0, 1), subscription, usage(3, 5, 9), usage(4, 200, 1), usage(5, 240, 1)])
    as_of = START + timedelta(days=400)
    working_set = relevant_at(history.facts, expiries(history.facts), as_of)
    view = account_view(History("a-1", tuple(working_set)), as_of, [])
    assert view == account_view(history, as_of, [])
    assert view.lifecycle.stage == "at_risk" and view.lifecycle.since == START + timedelta(days=200)
