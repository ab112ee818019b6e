"""The health score: each component with its cases, the weights, missing components and the trend."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from projections.facts import Fact
from projections.findings import Finding, finding
from projections.history import Timeline, history_of
from projections.view.health import (
    DEFAULT_WEIGHTS,
    HealthWeightError,
    HealthWeights,
    health,
    weights_from,
)
from projections.view.model import Health, HealthComponent
from tests.unit.rules.builders import ACCOUNT, at, days, fact

AS_OF = "2026-03-10"


def timeline(facts: list[Fact]) -> Timeline:
    return Timeline(ACCOUNT, history_of(ACCOUNT, facts).facts)


def judged(facts: list[Fact], as_of: str | datetime = AS_OF, findings: tuple[Finding, ...] = (),
           weights: HealthWeights = DEFAULT_WEIGHTS, trend_weeks: int = 12) -> Health:
    moment = at(as_of) if isinstance(as_of, str) else as_of
    return health(timeline(facts), moment, findings, weights, trend_weeks)


def component(name: str, facts: list[Fact], as_of: str | datetime = AS_OF,
              findings: tuple[Finding, ...] = ()) -> HealthComponent:
    return next(each for each in judged(facts, as_of, findings, trend_weeks=0).components if each.name == name)


def value(name: str, facts: list[Fact], as_of: str | datetime = AS_OF) -> int | None:
    return component(name, facts, as_of).value


SUBSCRIBED = fact("billing.subscription.changed", "2025-01-01", change="start", plan="pro", mrr="100", currency="EUR")
WON = fact("sales.opportunity.won", "2026-01-02", opportunityId="O-1", amount="5000", currency="EUR")  # no billing event


def found(severity: str, detected: str, resolved: str | None = None, key: str = "k") -> Finding:
    return finding(ACCOUNT, "some-rule", f"{key}-{severity}-{detected}", severity=severity, departments=("sales",),
                   evidence=(), detected_at=at(detected), resolved_at=at(resolved) if resolved else None,
                   summary="Something contradicts.")


# weights


def test_the_default_weights() -> None:
    assert DEFAULT_WEIGHTS == HealthWeights(25.0, 20.0, 20.0, 20.0, 10.0, 5.0)
    assert weights_from({}) == DEFAULT_WEIGHTS


def test_a_table_overrides_the_defaults_and_whole_numbers_are_taken() -> None:
    weights = weights_from({"engagement": 0, "open_findings": 12.5})
    assert weights == HealthWeights(25.0, 20.0, 20.0, 20.0, 0.0, 12.5)
    assert isinstance(weights.engagement, float)


@pytest.mark.parametrize(("table", "message"), [
    ({"usage": 10}, "usage: unknown health weight; the weights are product_usage, support_load"),
    ({"support_load": True}, "support_load: must be a number, not True"),
    ({"support_load": "20"}, "support_load: must be a number, not '20'"),
    ({"satisfaction": math.nan}, "satisfaction: must be a number, not nan"),
    ({"billing_standing": -1}, "billing_standing: must not be negative (got -1)"),
    ({name: 0 for name in ("product_usage", "support_load", "satisfaction", "billing_standing", "engagement",
                           "open_findings")}, "all health weights are zero"),
])
def test_weights_that_cannot_be_used_are_refused_naming_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(HealthWeightError, match=message.replace("(", r"\(").replace(")", r"\)")):
        weights_from(table)


# product usage


def usage(when: str, active: int, seats: int = 100) -> Fact:
    return fact("product.usage.recorded", when, activeUsers=active, seats=seats)


def test_usage_is_active_users_per_seat_full_marks_from_80_percent() -> None:
    earlier = usage("2026-02-01", 60)
    part = component("product_usage", [WON, earlier, usage("2026-03-02", 42)])
    assert part.value == 53  # 42 % / 80 % = 52.5, halves up
    assert part.weight == 25.0
    assert part.explanation == "42 of 100 seats active (42 %) on 2 Mar 2026, down from 60 % on 1 Feb 2026."
    assert value("product_usage", [WON, usage("2026-03-02", 80)]) == 100
    assert value("product_usage", [WON, usage("2026-03-02", 120)]) == 100
    assert value("product_usage", [WON, usage("2026-03-02", 0)]) == 0


@pytest.mark.parametrize(("before", "words"), [(30, "up from 30 %"), (42, "steady from 42 %")])
def test_the_usage_trend_goes_up_or_stays_steady(before: int, words: str) -> None:
    part = component("product_usage", [WON, usage("2026-02-02", before), usage("2026-03-02", 42)])
    assert part.explanation.endswith(f", {words} on 2 Feb 2026.")


def test_the_trend_compares_with_the_latest_record_at_least_28_days_earlier() -> None:
    records = [usage("2026-01-01", 90), usage("2026-02-02", 60), usage("2026-02-03", 10), usage("2026-03-02", 42)]
    exactly_28_days = component("product_usage", [WON, *records])
    assert exactly_28_days.explanation.endswith("down from 60 % on 2 Feb 2026.")
    recent_only = [usage("2026-02-03", 10), usage("2026-03-02", 42)]  # 27 days earlier: too recent
    assert component("product_usage", [WON, *recent_only]).explanation == (
        "42 of 100 seats active (42 %) on 2 Mar 2026; no usage record 28 days or more earlier to compare with.")


def test_the_latest_record_counts_not_the_best() -> None:
    assert value("product_usage", [WON, usage("2026-03-01", 80), usage("2026-03-02", 16)]) == 20


def test_no_usage_or_no_seats_leaves_usage_without_a_value() -> None:
    assert value("product_usage", [WON]) is None
    assert value("product_usage", [WON, usage("2026-03-02", 3, seats=0)]) is None


# support load


def ticket(when: str, priority: str = "normal", ticket_id: str = "T-1") -> Fact:
    return fact("support.ticket.opened", when, ticketId=ticket_id, priority=priority)


def resolved(when: str, ticket_id: str = "T-1") -> Fact:
    return fact("support.ticket.resolved", when, ticketId=ticket_id)


@pytest.mark.parametrize(("priority", "expected"), [("urgent", 75), ("high", 85), ("normal", 95), ("low", 95)])
def test_each_open_ticket_weighs_by_its_priority(priority: str, expected: int) -> None:
    assert value("support_load", [ticket("2026-03-02", priority)]) == expected


def test_a_resolved_ticket_weighs_nothing() -> None:
    part = component("support_load", [ticket("2026-03-02", "urgent"), resolved("2026-03-03")])
    assert part.value == 100
    assert part.explanation == ("No open ticket; 0 escalations and 0 reopenings against 1 ticket opened "
                                "in the last 90 days (reopen rate 0 %).")


def test_escalations_count_within_the_last_90_days() -> None:
    def escalated(when: str) -> list[Fact]:
        return [ticket("2025-12-01"), fact("support.ticket.escalated", when, ticketId="T-1"), resolved("2026-03-01")]
    assert value("support_load", escalated("2025-12-10 00:01")) == 90
    assert value("support_load", escalated("2025-12-10")) == 100  # exactly 90 days ago: outside


def test_the_reopen_rate_is_reopenings_per_ticket_opened_in_the_last_90_days() -> None:
    facts = [ticket("2026-02-01", ticket_id="T-1"), resolved("2026-02-02", "T-1"),
             ticket("2026-02-03", ticket_id="T-2"), resolved("2026-02-04", "T-2"),
             fact("support.ticket.reopened", "2026-02-05", ticketId="T-1")]
    part = component("support_load", facts)
    assert part.value == 80  # 100 - 5 (T-1 open again) - 30 x 1/2
    assert part.explanation == ("1 open ticket (1 other); 0 escalations and 1 reopening against 2 tickets opened "
                                "in the last 90 days (reopen rate 50 %).")


def test_a_reopening_without_a_ticket_opened_in_the_window_is_a_full_reopen_rate() -> None:
    facts = [ticket("2025-10-01"), resolved("2025-10-02"), fact("support.ticket.reopened", "2026-03-01", ticketId="T-1")]
    assert value("support_load", facts) == 65  # 100 - 5 - 30


def test_support_load_stays_within_0_and_100() -> None:
    facts = [ticket("2026-03-02", "urgent", f"T-{n}") for n in range(5)]
    part = component("support_load", facts)
    assert part.value == 0
    assert part.explanation.startswith("5 open tickets (5 urgent);")


def test_support_load_needs_a_support_event() -> None:
    assert value("support_load", []) is None
    assert value("support_load", [fact("support.csat.recorded", "2026-03-01", score=5)]) == 100


# satisfaction


def nps(when: str, contact: str | None, score: int) -> Fact:
    return fact("marketing.nps.responded", when, contact, score=score)


def csat(when: str, score: int) -> Fact:
    return fact("support.csat.recorded", when, score=score)


def test_satisfaction_from_nps_alone() -> None:
    facts = [nps("2026-03-01", "c-1", 10), nps("2026-03-01", "c-2", 9), nps("2026-03-01", "c-3", 3),
             nps("2026-03-01", "c-4", 8)]
    part = component("satisfaction", facts)
    assert part.value == 63  # NPS 25 -> 62.5
    assert part.explanation == ("NPS 25 from the latest responses of 4 contacts and no CSAT response "
                                "in the last 365 days.")


def test_only_the_latest_response_of_each_contact_within_365_days_counts() -> None:
    facts = [nps("2026-01-01", "c-1", 2), nps("2026-02-01", "c-1", 10), nps("2025-03-10", "c-2", 0)]
    assert value("satisfaction", facts) == 100  # c-1 is now a promoter; c-2 answered 365 days ago
    assert value("satisfaction", facts[2:]) is None


def test_satisfaction_from_csat_alone_and_from_both() -> None:
    part = component("satisfaction", [csat("2026-03-01", 5), csat("2026-03-02", 4), csat("2025-03-10", 1)])
    assert part.value == 88  # average 4.5 -> 87.5
    assert part.explanation == "No NPS response and CSAT average 4.5 from 2 responses in the last 365 days."
    assert value("satisfaction", [csat("2026-03-01", 5), nps("2026-03-01", "c-1", 0)]) == 50  # (100 + 0) / 2


def test_the_sentence_shows_nps_and_csat_as_the_nps_summary_does() -> None:
    facts = [nps("2026-03-01", "c-0", 9), *(nps("2026-03-01", f"c-{n}", 7) for n in range(1, 8)),
             csat("2026-03-01", 4), csat("2026-03-01", 4), csat("2026-03-01", 5)]
    part = component("satisfaction", facts)
    assert part.explanation == ("NPS 12 from the latest responses of 8 contacts and CSAT average 4.33 from "
                                "3 responses in the last 365 days.")  # 12.5 rounds half to even, as in `satisfaction`
    assert part.value == 70  # (56.25 + 83.33) / 2, from the exact figures

def test_no_response_leaves_satisfaction_without_a_value() -> None:
    part = component("satisfaction", [])
    assert (part.value, part.explanation) == (None, "No NPS or CSAT response in the last 365 days.")


# billing standing


def invoice(when: str, due: str, invoice_id: str = "I-88", amount: str = "1200.00") -> Fact:
    return fact("billing.invoice.issued", when, invoiceId=invoice_id, amount=amount, currency="EUR", dueAt=due)


def plan(when: str, until: str = "2026-06-30") -> Fact:
    return fact("billing.payment_plan.granted", when, until=until)




def test_an_account_in_good_standing() -> None:
    part = component("billing_standing", [SUBSCRIBED])
    assert (part.value, part.explanation) == (
        100, "In good standing: nothing unpaid and no failed payment in the last 90 days.")
    assert value("billing_standing", []) is None


def test_a_suspension_until_it_is_restored() -> None:
    suspended = fact("billing.service.suspended", "2026-03-03", reason="non_payment")
    part = component("billing_standing", [SUBSCRIBED, suspended])
    assert (part.value, part.explanation) == (60, "Service suspended since 3 Mar 2026.")
    assert value("billing_standing", [SUBSCRIBED, suspended, fact("billing.service.restored", "2026-03-05")]) == 100


def test_failed_payments_within_the_last_90_days() -> None:
    part = component("billing_standing", [SUBSCRIBED,
                                          fact("billing.payment.failed", at(AS_OF) - days(89), invoiceId="I-1"),
                                          fact("billing.payment.failed", at(AS_OF) - days(90), invoiceId="I-1")])
    assert (part.value, part.explanation) == (90, "1 failed payment in the last 90 days.")


@pytest.mark.parametrize(("due", "expected", "words"), [
    ("2026-02-06", 80, "1 invoice overdue (I-88: 1200.00 EUR unpaid, 31 days overdue)"),
    ("2026-02-07", 90, "1 invoice overdue (I-88: 1200.00 EUR unpaid, 30 days overdue)"),
    ("2026-03-08", 90, "1 invoice overdue (I-88: 1200.00 EUR unpaid, 1 day overdue)"),
    ("2026-03-20", 100, "1 invoice unpaid, not yet due"),
])
def test_unpaid_invoices_weigh_by_how_long_they_are_overdue(due: str, expected: int, words: str) -> None:
    part = component("billing_standing", [SUBSCRIBED, invoice("2026-01-15", due + "T23:59:59Z")])
    assert (part.value, part.explanation) == (expected, words + ".")


def test_a_paid_invoice_weighs_nothing() -> None:
    paid = fact("billing.payment.received", "2026-02-01", invoiceId="I-88", amount="1200.00", currency="EUR")
    assert value("billing_standing", [SUBSCRIBED, invoice("2026-01-01", "2026-01-31"), paid]) == 100


def test_a_payment_plan_in_force_adds_10_up_to_100() -> None:
    overdue = invoice("2026-01-15", "2026-03-01T00:00:00Z")
    part = component("billing_standing", [SUBSCRIBED, overdue, plan("2026-03-05")])
    assert part.value == 100
    assert part.explanation == ("1 invoice overdue (I-88: 1200.00 EUR unpaid, 9 days overdue); "
                                "payment plan in force until 30 Jun 2026.")
    assert value("billing_standing", [SUBSCRIBED, plan("2026-03-05")]) == 100
    assert value("billing_standing", [SUBSCRIBED, overdue, plan("2026-01-05", until="2026-03-09")]) == 90  # ran out


def test_billing_standing_stays_within_0_and_100() -> None:
    facts = [fact("billing.service.suspended", "2026-03-03"),
             *(invoice("2025-11-01", "2025-12-01", f"I-{n}") for n in range(4))]
    assert value("billing_standing", [SUBSCRIBED, *facts]) == 0


# engagement


@pytest.mark.parametrize(("ago", "expected"), [
    (days(14), 100), (days(14) + days(1 / 1440), 75), (days(30), 75), (days(31), 40), (days(90), 40), (days(91), 10)])
def test_engagement_by_the_recency_of_the_latest_engagement(ago: timedelta, expected: int) -> None:
    engaged = fact("marketing.engagement.recorded", at(AS_OF) - ago, campaignId="C-9", channel="email", action="click")
    assert value("engagement", [engaged]) == expected


def test_engagement_explains_the_latest_engagement_and_needs_one() -> None:
    facts = [fact("marketing.engagement.recorded", day, campaignId="C-9", channel="email", action=action)
             for day, action in (("2026-02-01", "open"), ("2026-03-02", "click"))]
    part = component("engagement", facts)
    assert (part.value, part.explanation) == (100, "Latest marketing engagement on 2 Mar 2026 (click on campaign C-9), "
                                                   "within the last 14 days.")
    assert value("engagement", []) is None


# open findings


def test_open_findings_weigh_by_severity() -> None:
    findings = (found("HIGH", "2026-03-01"), found("MEDIUM", "2026-03-01"), found("LOW", "2026-03-01"),
                found("HIGH", "2026-03-01", resolved="2026-03-05", key="closed"))
    part = component("open_findings", [], findings=findings)
    assert (part.value, part.explanation) == (50, "3 open findings: 1 HIGH, 1 MEDIUM, 1 LOW.")
    assert component("open_findings", []).value == 100
    assert component("open_findings", []).explanation == "No open finding."
    many = tuple(found("HIGH", "2026-03-01", key=str(n)) for n in range(4))
    assert component("open_findings", [], findings=many).value == 0


# what health cannot judge: usage of a prospect or a churned account, billing standing of a prospect


def cancelled(when: str) -> Fact:
    return fact("billing.subscription.changed", when, change="cancel", plan="pro", mrr="0", currency="EUR")


def test_a_prospect_is_not_scored_on_usage_nor_on_billing_standing() -> None:
    """A prospect is never a customer (rules.md, Terms): its usage and its billing say nothing of a customer's health."""
    facts = [usage("2026-03-02", 0), invoice("2026-01-15", "2026-02-01")]
    result = judged(facts, trend_weeks=0)
    assert component("product_usage", facts) == HealthComponent(
        "product_usage", None, 25.0, "Not scored: a prospect (never a customer) is not judged by product usage.")
    assert component("billing_standing", facts) == HealthComponent(
        "billing_standing", None, 20.0, "Not scored: a prospect (never a customer) has no billing standing.")
    assert result.score == 100  # left out of the mean: open findings alone


def test_a_subscription_at_the_moment_itself_does_not_make_a_customer_yet() -> None:
    """rules.md, Terms: a customer "if it has a `billing.subscription.changed` before T"."""
    started = fact("billing.subscription.changed", AS_OF, change="start", plan="pro", mrr="100", currency="EUR")
    assert value("billing_standing", [started]) is None
    assert value("billing_standing", [started], at(AS_OF) + timedelta(microseconds=1)) == 100


def test_a_churned_account_is_not_scored_on_usage_but_keeps_its_billing_standing() -> None:
    facts = [SUBSCRIBED, usage("2026-03-02", 80), cancelled("2026-03-05"), invoice("2026-01-15", "2026-03-01")]
    assert component("product_usage", facts).value is None
    assert component("product_usage", facts).explanation == (
        "Not scored: the account churned on 5 Mar 2026, so its last product usage no longer says anything.")
    assert value("billing_standing", facts) == 90
    assert judged(facts, trend_weeks=0).score == 92  # (20 x 90 + 5 x 100) / 25


def test_a_won_deal_past_its_customer_won_days_churns_the_usage_out() -> None:
    facts = [WON, usage("2026-03-02", 80)]
    assert value("product_usage", facts) == 100
    assert value("product_usage", facts, WON.occurred_at + days(365) + timedelta(microseconds=1)) is None
    short = health(timeline(facts), at(AS_OF), (), trend_weeks=0, won_days=30)
    assert short.components[0].explanation == (
        "Not scored: the account churned on 1 Feb 2026, so its last product usage no longer says anything.")


def test_each_trend_point_judges_whether_the_account_was_a_customer_then() -> None:
    facts = [fact("billing.subscription.changed", "2026-02-25", change="start", plan="pro", mrr="1", currency="EUR"),
             usage("2026-02-20", 40)]
    points = judged(facts, trend_weeks=4).trend  # 23 Feb (a prospect), 2 Mar, 9 Mar, 10 Mar
    assert [point.score for point in points] == [100, 75, 75, 75]  # (25 x 50 + 20 x 100 + 5 x 100) / 50


# the score


def test_the_score_is_the_weighted_mean_of_the_components_with_a_value() -> None:
    facts = [WON, usage("2026-03-02", 40)]  # 50
    findings = (found("HIGH", "2026-03-01"),)  # 70
    result = judged(facts, findings=findings, trend_weeks=0)
    assert [each.name for each in result.components] == [
        "product_usage", "support_load", "satisfaction", "billing_standing", "engagement", "open_findings"]
    assert [each.value for each in result.components] == [50, None, None, None, None, 70]
    assert result.score == 53  # (25 x 50 + 5 x 70) / 30
    assert judged(facts, findings=findings, weights=weights_from({"open_findings": 25}), trend_weeks=0).score == 60


def test_an_account_with_nothing_to_judge_scores_by_its_open_findings_alone() -> None:
    assert judged([], trend_weeks=0).score == 100
    assert judged([], weights=weights_from({"open_findings": 0}), trend_weeks=0).score is None


# the trend


def test_the_trend_is_weekly_oldest_first_ending_at_the_score() -> None:
    facts = [SUBSCRIBED, fact("billing.service.suspended", at(AS_OF) - days(20))]
    result = judged(facts)
    mondays = [at("2026-03-09") - days(7 * k) for k in range(10, -1, -1)]  # AS_OF is a Tuesday
    assert [point.at for point in result.trend] == [*mondays, at(AS_OF)]
    assert [point.score for point in result.trend] == [100] * 8 + [68] * 4  # (20 x 60 + 5 x 100) / 25
    assert result.trend[-1].score == result.score
    assert judged(facts, trend_weeks=0).trend == ()
    assert [point.at for point in judged(facts, trend_weeks=1).trend] == [at(AS_OF)]


def test_each_point_judges_the_facts_and_deadlines_as_they_stood_then() -> None:
    overdue = invoice("2026-01-01", "2026-02-05T00:00:00Z")  # not due on 3 Feb, then 5 to 26 days overdue, then 33
    result = judged([SUBSCRIBED, overdue], trend_weeks=7)  # 2 Feb, 9 Feb ... 9 Mar, 10 Mar
    assert [point.score for point in result.trend] == [100, 92, 92, 92, 92, 84, 84]  # (20 x 100|90|80 + 5 x 100) / 25


def test_each_point_counts_the_findings_open_then() -> None:
    findings = (found("HIGH", "2026-02-20", resolved="2026-03-05", key="a"), found("MEDIUM", "2026-02-28", key="b"))
    result = judged([], findings=findings, trend_weeks=4)
    assert [point.score for point in result.trend] == [70, 55, 85, 85]  # 23 Feb, 2 Mar, 9 Mar, 10 Mar


def test_a_moment_on_a_boundary_is_the_last_point_and_not_repeated() -> None:
    assert [point.at for point in judged([], "2026-03-09", trend_weeks=3).trend] == [
        at("2026-02-23"), at("2026-03-02"), at("2026-03-09")]

