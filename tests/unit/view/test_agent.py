"""The agent context: serious tickets, the billing line, the "don't" warnings and this week's touches."""

from __future__ import annotations

from datetime import datetime

import pytest

from projections.facts import Fact
from projections.history import Timeline, history_of
from projections.view.agent import agent_context
from projections.view.model import AgentContext, RecentTouch, Warning
from tests.unit.rules.builders import ACCOUNT, at, days, fact, tied

AS_OF = "2026-03-10"


def context(facts: list[Fact], as_of: str | datetime = AS_OF) -> AgentContext:
    moment = at(as_of) if isinstance(as_of, str) else as_of
    return agent_context(Timeline(ACCOUNT, history_of(ACCOUNT, facts).facts), moment, ())


def donts(facts: list[Fact], reason: str | None = None) -> list[str]:
    return [each.text for each in context(facts).donts if reason is None or each.reason == reason]


def ticket(when: str, priority: str = "urgent", ticket_id: str = "T-4411") -> Fact:
    return fact("support.ticket.opened", when, ticketId=ticket_id, priority=priority)


def invoice(invoice_id: str, amount: str, due: str) -> Fact:
    return fact("billing.invoice.issued", "2026-01-05", invoiceId=invoice_id, amount=amount, currency="EUR", dueAt=due)


def plan(when: str, until: str = "2026-06-30") -> Fact:
    return fact("billing.payment_plan.granted", when, until=until)


def consent(when: str, channel: str, contact: str | None = "c-17", granted: bool = False) -> Fact:
    return fact("marketing.consent.changed", when, contact, channel=channel, granted=granted)


def nps(when: str, contact: str | None, score: int) -> Fact:
    return fact("marketing.nps.responded", when, contact, score=score)


# open serious tickets


def test_the_open_serious_tickets_are_the_high_urgent_and_escalated_ones() -> None:
    facts = [ticket("2026-03-01", "urgent", "T-1"), ticket("2026-03-02", "high", "T-2"),
             ticket("2026-03-03", "low", "T-3"), fact("support.ticket.escalated", "2026-03-04", ticketId="T-3"),
             ticket("2026-03-05", "normal", "T-4"),
             ticket("2026-03-06", "urgent", "T-5"), fact("support.ticket.resolved", "2026-03-07", ticketId="T-5")]
    assert [item.id for item in context(facts).open_serious_tickets] == ["T-1", "T-2", "T-3"]
    assert donts(facts, "ticket") == [
        "Don't pitch an upgrade or a renewal: urgent ticket T-1 open since 1 Mar 2026",
        "Don't pitch an upgrade or a renewal: high ticket T-2 open since 2 Mar 2026",
        "Don't pitch an upgrade or a renewal: escalated ticket T-3 open since 3 Mar 2026",
    ]


# billing standing


def test_nothing_unpaid_is_good_standing() -> None:
    paid = fact("billing.payment.received", "2026-01-10", invoiceId="I-1", amount="100.00", currency="EUR")
    assert context([]).billing_standing == "In good standing: nothing unpaid."
    assert context([invoice("I-1", "100.00", "2026-02-01"), paid]).billing_standing == "In good standing: nothing unpaid."


def test_a_suspension_and_overdue_invoices_in_one_line() -> None:
    facts = [fact("billing.service.suspended", "2026-03-03", reason="non_payment"),
             *tied(invoice("I-88", "1200.00", "2026-02-25T00:00:00Z"), invoice("I-90", "80.00", "2026-03-08T00:00:00Z"))]
    assert context(facts).billing_standing == (
        "Service suspended since 3 Mar 2026; 2 invoices overdue (I-88: 1200.00 EUR unpaid, 13 days overdue; "
        "I-90: 80.00 EUR unpaid, 2 days overdue).")


def test_a_restored_service_is_no_longer_suspended() -> None:
    facts = [fact("billing.service.suspended", "2026-03-03"), fact("billing.service.restored", "2026-03-04")]
    assert context(facts).billing_standing == "In good standing: nothing unpaid."


def test_an_invoice_not_yet_due_and_a_payment_plan() -> None:
    facts = [invoice("I-91", "50.00", "2026-03-31"), plan("2026-03-01")]
    assert context(facts).billing_standing == "1 invoice unpaid, not yet due; payment plan in force until 30 Jun 2026."
    assert context([plan("2026-03-01")]).billing_standing == "Payment plan in force until 30 Jun 2026."


# opt-outs


@pytest.mark.parametrize(("channel", "text"), [
    ("email", "Don't email c-17: opted out of email on 5 Mar 2026"),
    ("phone", "Don't call c-17: opted out of phone on 5 Mar 2026"),
    ("sms", "Don't text c-17: opted out of sms on 5 Mar 2026"),
    ("all", "Don't contact c-17: opted out of every channel on 5 Mar 2026"),
])
def test_an_opt_out_in_force_warns_with_the_channel_verb(channel: str, text: str) -> None:
    assert context([consent("2026-03-05", channel)]).donts == (Warning(text, "opt_out"),)


def test_an_account_wide_opt_out_names_everyone() -> None:
    assert donts([consent("2026-03-05", "email", contact=None)]) == [
        "Don't email anyone at the account: the account opted out of email on 5 Mar 2026"]


def test_consent_granted_again_ends_the_opt_out() -> None:
    assert donts([consent("2026-03-05", "email"), consent("2026-03-07", "email", granted=True)]) == []


# payment plans


def test_a_payment_plan_in_force_protects_each_unpaid_invoice() -> None:
    facts = [*tied(invoice("I-88", "1200.00", "2026-02-25"), invoice("I-90", "80.00", "2026-03-31")), plan("2026-03-01")]
    assert donts(facts, "payment_plan") == [
        "Don't chase invoice I-88: payment plan in force until 30 Jun 2026",
        "Don't chase invoice I-90: payment plan in force until 30 Jun 2026",
    ]


def test_a_payment_plan_with_nothing_unpaid_still_warns_against_chasing() -> None:
    assert donts([plan("2026-03-01")]) == ["Don't chase payments: payment plan in force until 30 Jun 2026"]


def test_a_payment_plan_that_ran_out_warns_no_more() -> None:
    facts = [invoice("I-88", "1200.00", "2026-02-25"), plan("2026-01-01", until="2026-03-09")]
    assert donts(facts) == []
    assert "payment plan" not in context(facts).billing_standing


# incidents


def test_an_open_incident_warns_until_it_is_resolved() -> None:
    started = fact("product.incident.started", "2026-03-02", incidentId="INC-7", severity="sev1")
    assert donts([started]) == ["Don't say the service is unaffected: sev1 incident INC-7 open since 2 Mar 2026"]
    assert donts([started, fact("product.incident.resolved", "2026-03-03", incidentId="INC-7")]) == []


# detractors


def test_a_recent_detractor_response_warns_against_upselling() -> None:
    assert context([nps("2026-03-02", "c-17", 3)]).donts == (
        Warning("Don't upsell c-17: NPS of 3 on 2 Mar 2026", "detractor"),)
    assert donts([nps("2026-03-02", "c-17", 6)]) == ["Don't upsell c-17: NPS of 6 on 2 Mar 2026"]
    assert donts([nps("2026-03-02", None, 0)]) == ["Don't upsell the account: NPS of 0 on 2 Mar 2026"]


def test_a_passive_an_old_detractor_or_a_later_better_response_does_not_warn() -> None:
    assert donts([nps("2026-03-02", "c-17", 7)]) == []
    assert donts([nps("2026-02-08", "c-17", 2)]) == []  # 30 days ago: outside the last 30 days
    assert donts([nps("2026-03-02", "c-17", 2), nps("2026-03-05", "c-17", 9)]) == []
    assert donts([nps("2026-03-02", "c-17", 2), nps("2026-03-05", "c-18", 9)]) == [
        "Don't upsell c-17: NPS of 2 on 2 Mar 2026"]


def test_the_warnings_come_in_a_fixed_order() -> None:
    facts = [nps("2026-03-01", "c-17", 1),
             fact("product.incident.started", "2026-03-01", incidentId="INC-7", severity="sev2"),
             plan("2026-03-01"), consent("2026-03-01", "email"), ticket("2026-03-02")]
    assert [each.reason for each in context(facts).donts] == ["ticket", "opt_out", "payment_plan", "incident", "detractor"]


# this week


def test_each_departments_latest_event_of_the_last_7_days_in_department_order() -> None:
    facts = [fact("billing.payment.failed", "2026-03-09", invoiceId="I-88"),
             fact("support.ticket.opened", "2026-03-04", ticketId="T-1", priority="low"),
             fact("support.ticket.resolved", "2026-03-05", ticketId="T-1"),
             fact("marketing.campaign.sent", "2026-03-08", campaignId="C-1", channel="email", intent="nurture"),
             fact("sales.outreach.sent", at(AS_OF) - days(7), channel="email", intent="check_in"),
             fact("product.usage.recorded", at(AS_OF) - days(7) + days(1 / 1440), activeUsers=3, seats=10)]
    assert context(facts).this_week == (
        RecentTouch("marketing", "marketing.campaign.sent", at("2026-03-08")),
        RecentTouch("product", "product.usage.recorded", at(AS_OF) - days(7) + days(1 / 1440)),
        RecentTouch("support", "support.ticket.resolved", at("2026-03-05")),
        RecentTouch("billing", "billing.payment.failed", at("2026-03-09")),
    )
    assert context([]).this_week == ()
