"""Lifecycle stages: prospect, onboarding, active, at risk, churned, and back from churned."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from projections.facts import Fact
from projections.history import Timeline, history_of
from projections.view.account import account_view
from projections.view.lifecycle import lifecycle
from projections.view.model import Lifecycle
from tests.unit.rules.builders import ACCOUNT, at, days, fact

NOW = at("2026-06-01 12:00")
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)


def stage(facts: list[Fact], as_of: datetime = NOW) -> Lifecycle:
    known = sorted((each for each in facts if each.occurred_at <= as_of), key=lambda each: each.order)
    return lifecycle(Timeline(ACCOUNT, known), as_of)


def start(when: datetime, change: str = "start", plan: str = "Pro") -> Fact:
    return fact("billing.subscription.changed", when, change=change, plan=plan, mrr="500", currency="EUR")


def cancel(when: datetime) -> Fact:
    return start(when, "cancel")


def won(when: datetime, opportunity: str = "O-1") -> Fact:
    return fact("sales.opportunity.won", when, opportunityId=opportunity, amount="5000", currency="EUR")


CUSTOMER = start(NOW - days(200))  # an established customer, past onboarding


# Prospect

def test_an_account_without_events_is_a_prospect_since_never() -> None:
    assert stage([]) == Lifecycle("prospect", None, "Prospect: no events yet.")


def test_an_account_that_never_bought_is_a_prospect_since_its_first_event() -> None:
    facts = [fact("sales.outreach.sent", NOW - days(3), channel="call", intent="prospecting"),
             fact("marketing.campaign.sent", NOW - days(9), campaignId="C-1", channel="email", intent="acquisition"),
             fact("sales.opportunity.lost", NOW - days(1), opportunityId="O-1")]
    assert stage(facts) == Lifecycle("prospect", NOW - days(9), "Prospect: never a customer (no subscription and "
                                     "no won deal), first seen on 23 May 2026 (marketing.campaign.sent).")


def test_a_cancel_without_a_subscription_does_not_make_a_customer() -> None:
    assert stage([cancel(NOW - days(5))]).stage == "prospect"


# Onboarding and active

def test_a_new_subscription_is_onboarding() -> None:
    assert stage([start(NOW - days(10))]) == Lifecycle(
        "onboarding", NOW - days(10),
        "Onboarding: a customer since 22 May 2026 (subscription to plan Pro started), less than 90 days ago.")


def test_a_subscription_counts_from_just_after_its_change() -> None:
    """rules.md, Terms: a customer at T "if it has a `billing.subscription.changed` before T", and
    "before T" means `occurredAt` earlier than T."""
    assert stage([start(NOW)]).stage == "prospect"
    assert stage([start(NOW)], NOW + MICROSECOND) == Lifecycle(
        "onboarding", NOW, "Onboarding: a customer since 1 Jun 2026 (subscription to plan Pro started), "
        "less than 90 days ago.")


def test_a_cancel_counts_from_just_after_it() -> None:
    facts = [start(NOW - days(200)), cancel(NOW)]
    assert stage(facts).stage == "active"
    assert stage(facts, NOW + MICROSECOND).stage == "churned"
    assert stage(facts, NOW + MICROSECOND).since == NOW


def test_a_won_deal_counts_from_just_after_the_win() -> None:
    """rules.md, Terms: "a `sales.opportunity.won` within the 365 days before T"."""
    assert stage([won(NOW)]).stage == "prospect"
    assert stage([won(NOW)], NOW + MICROSECOND).stage == "onboarding"


def test_onboarding_ends_90_days_after_the_start() -> None:
    assert stage([start(NOW - days(90) + MINUTE)]).stage == "onboarding"
    assert stage([start(NOW - days(90))]) == Lifecycle(
        "active", NOW - days(90),
        "Active: a customer since 3 Mar 2026 (subscription to plan Pro started), with no risk signal.")


def test_later_subscription_changes_do_not_restart_the_spell() -> None:
    facts = [start(NOW - days(200)), start(NOW - days(20), "upgrade"), start(NOW - days(5), "renew")]
    assert stage(facts).stage == "active" and stage(facts).since == NOW - days(200)


def test_a_won_deal_makes_a_customer_from_the_win() -> None:
    assert stage([won(NOW - days(30))]).reason == (
        "Onboarding: a customer since 2 May 2026 (deal O-1 won), less than 90 days ago.")
    assert stage([won(NOW - days(300))]).stage == "active"


# Churned, and back

def test_a_cancel_churns_a_customer() -> None:
    assert stage([start(NOW - days(300)), cancel(NOW - days(10))]) == Lifecycle(
        "churned", NOW - days(10), "Churned: the subscription to plan Pro was cancelled on 22 May 2026, "
        "ending a customer spell that began on 5 Aug 2025.")


def test_a_deal_won_in_the_last_365_days_keeps_a_cancelled_account_a_customer() -> None:
    facts = [start(NOW - days(300)), won(NOW - days(200)), cancel(NOW - days(10))]
    assert stage(facts).stage == "active"
    assert stage(facts, NOW + days(165)).stage == "active"
    assert stage(facts, NOW + days(165) + MICROSECOND) == Lifecycle(
        "churned", NOW + days(165), "Churned: deal O-1 won on 13 Nov 2025 aged out on 13 Nov 2026 with no "
        "subscription in force, ending a customer spell that began on 5 Aug 2025.")


def test_a_won_deal_alone_keeps_a_customer_365_days_after_the_win_both_ends_included() -> None:
    """rules.md, Terms: "**Within N days** means at most N x 24 hours apart, both ends included"."""
    assert stage([won(NOW - days(365))]).stage == "active"
    assert stage([won(NOW - days(365) - MICROSECOND)]).stage == "churned"
    assert stage([won(NOW - days(365) - MICROSECOND)]).since == NOW - MICROSECOND


def test_the_won_days_are_the_operator_threshold_of_prospecting_a_customer() -> None:
    facts = [won(NOW - days(30))]
    known = sorted(facts, key=lambda each: each.order)
    assert lifecycle(Timeline(ACCOUNT, known), NOW, customer_won_days=30).stage == "onboarding"
    churned = lifecycle(Timeline(ACCOUNT, known), NOW + MICROSECOND, customer_won_days=30)
    assert (churned.stage, churned.since) == ("churned", NOW)
    assert churned.reason == ("Churned: deal O-1 won on 2 May 2026 aged out on 1 Jun 2026 with no subscription in "
                              "force, ending a customer spell that began on 2 May 2026.")


def test_a_churned_account_that_signs_again_goes_back_to_onboarding_then_active() -> None:
    facts = [start(NOW - days(400)), cancel(NOW - days(200)), start(NOW - days(20), plan="Team")]
    assert stage(facts) == Lifecycle(
        "onboarding", NOW - days(20), "Onboarding: a customer since 12 May 2026 (subscription to plan Team "
        "started), less than 90 days ago, back after churning on 13 Nov 2025.")
    assert stage(facts, NOW + days(100)) == Lifecycle("active", NOW - days(20), stage(facts, NOW + days(100)).reason)
    assert stage(facts, NOW - days(21)).stage == "churned"


def test_a_deal_won_after_a_churn_starts_a_new_spell() -> None:
    facts = [start(NOW - days(400)), cancel(NOW - days(200)), won(NOW - days(5))]
    assert stage(facts).stage == "onboarding" and stage(facts).since == NOW - days(5)


# At risk: each signal and its near-miss

def opened(when: datetime, priority: str = "urgent", ticket: str = "T-1") -> Fact:
    return fact("support.ticket.opened", when, ticketId=ticket, priority=priority)


def invoice(due: datetime, invoice_id: str = "I-1") -> Fact:
    return fact("billing.invoice.issued", due - days(30), invoiceId=invoice_id, amount="100", currency="EUR",
                dueAt=due.isoformat())


def nps(when: datetime, score: int) -> Fact:
    return fact("marketing.nps.responded", when, "c-17", score=score)


def usage(when: datetime, active: int, seats: int = 10) -> Fact:
    return fact("product.usage.recorded", when, activeUsers=active, seats=seats)


def test_an_open_serious_ticket_is_a_risk_from_its_opening() -> None:
    assert stage([CUSTOMER, opened(NOW - days(4))]) == Lifecycle(
        "at_risk", NOW - days(4), "At risk: a customer since 13 Nov 2025 (subscription to plan Pro started), "
        "with urgent ticket T-1, open since 28 May 2026.")


@pytest.mark.parametrize("priority", ["low", "normal"])
def test_an_ordinary_ticket_is_no_risk(priority: str) -> None:
    assert stage([CUSTOMER, opened(NOW - days(4), priority)]).stage == "active"


def test_a_resolved_serious_ticket_is_no_risk() -> None:
    facts = [CUSTOMER, opened(NOW - days(4)), fact("support.ticket.resolved", NOW - days(1), ticketId="T-1")]
    assert stage(facts).stage == "active"


def test_an_escalated_ticket_is_a_risk_from_its_escalation() -> None:
    facts = [CUSTOMER, opened(NOW - days(4), "low"), fact("support.ticket.escalated", NOW - days(2), ticketId="T-1")]
    assert stage(facts).stage == "at_risk" and stage(facts).since == NOW - days(2)
    assert "low ticket T-1, escalated, open since 28 May 2026" in stage(facts).reason


def test_an_invoice_more_than_30_days_overdue_is_a_risk_from_its_31st_day() -> None:
    found = stage([CUSTOMER, invoice(NOW - days(31))])
    assert (found.stage, found.since) == ("at_risk", NOW)
    assert found.reason.endswith("with invoice I-1 of 100 EUR, 100 unpaid, 31 days overdue.")
    assert stage([CUSTOMER, invoice(NOW - days(40))]).since == NOW - days(9)


def test_an_invoice_30_days_overdue_or_paid_is_no_risk() -> None:
    assert stage([CUSTOMER, invoice(NOW - days(31) + MINUTE)]).stage == "active"
    paid = fact("billing.payment.received", NOW - days(1), invoiceId="I-1", amount="100", currency="EUR")
    assert stage([CUSTOMER, invoice(NOW - days(60)), paid]).stage == "active"


def test_a_suspended_service_is_a_risk_until_restored() -> None:
    suspended = [fact("billing.service.suspended", NOW - days(6), reason="unpaid"),
                 fact("billing.service.suspended", NOW - days(3))]
    found = stage([CUSTOMER, *suspended])
    assert (found.stage, found.since) == ("at_risk", NOW - days(6))
    assert found.reason.endswith("with the service suspended since 26 May 2026.")
    assert stage([CUSTOMER, *suspended, fact("billing.service.restored", NOW - days(1))]).stage == "active"


def test_a_recent_detractor_as_the_latest_response_is_a_risk() -> None:
    found = stage([CUSTOMER, nps(NOW - days(90) + MINUTE, 6)])
    assert (found.stage, found.since) == ("at_risk", NOW - days(90) + MINUTE)
    assert found.reason.endswith("with a detractor NPS score of 6 from contact c-17 on 3 Mar 2026.")


def test_an_old_or_answered_detractor_or_a_passive_is_no_risk() -> None:
    assert stage([CUSTOMER, nps(NOW - days(90), 0)]).stage == "active"
    assert stage([CUSTOMER, nps(NOW - days(20), 0), nps(NOW - days(10), 7)]).stage == "active"
    assert stage([CUSTOMER, nps(NOW - days(10), 7)]).stage == "active"


def test_low_usage_is_a_risk_from_the_first_of_the_latest_low_records() -> None:
    records = [usage(NOW - days(60), 2), usage(NOW - days(30), 9), usage(NOW - days(20), 1), usage(NOW - days(5), 2)]
    found = stage([CUSTOMER, *records])
    assert (found.stage, found.since) == ("at_risk", NOW - days(20))
    assert found.reason.endswith("with 2 of 10 seats active (20%) on 27 May 2026.")


def test_usage_of_30_percent_recovered_usage_or_no_seats_is_no_risk() -> None:
    assert stage([CUSTOMER, usage(NOW - days(5), 3)]).stage == "active"
    assert stage([CUSTOMER, usage(NOW - days(20), 1), usage(NOW - days(5), 5)]).stage == "active"
    assert stage([CUSTOMER, usage(NOW - days(5), 0, seats=0)]).stage == "active"


def test_several_signals_are_named_and_the_earliest_dates_the_risk() -> None:
    facts = [CUSTOMER, usage(NOW - days(5), 1), opened(NOW - days(2), "high"), invoice(NOW - days(35))]
    found = stage(facts)
    assert found.since == NOW - days(5)  # the usage; the invoice turned 31 days overdue a day later
    assert found.reason == (
        "At risk: a customer since 13 Nov 2025 (subscription to plan Pro started), with high ticket T-1, open "
        "since 30 May 2026; invoice I-1 of 100 EUR, 100 unpaid, 35 days overdue; 1 of 10 seats active (10%) "
        "on 27 May 2026.")


def test_a_risk_older_than_the_customer_spell_dates_from_the_spell() -> None:
    assert stage([opened(NOW - days(300)), CUSTOMER]).since == NOW - days(200)


def test_onboarding_comes_before_at_risk() -> None:
    assert stage([start(NOW - days(10)), opened(NOW - days(4))]).stage == "onboarding"


def test_risk_signals_do_not_matter_to_a_churned_account() -> None:
    assert stage([CUSTOMER, opened(NOW - days(4)), cancel(NOW - days(1))]).stage == "churned"


def test_the_account_view_passes_the_won_days_on() -> None:
    history = history_of(ACCOUNT, [won(NOW - days(30))])
    assert account_view(history, NOW + MICROSECOND, []).lifecycle == stage([won(NOW - days(30))], NOW)
    assert account_view(history, NOW + MICROSECOND, [], customer_won_days=30).lifecycle.stage == "churned"  # type: ignore[union-attr]
