"""Department summaries: last touch, events and outbound touches over 7/30/90 days, open items."""

from __future__ import annotations

from datetime import datetime

from projections.facts import Fact
from projections.history import Timeline
from projections.view.departments import department_summaries
from projections.view.model import DepartmentSummary, WindowCounts
from tests.unit.rules.builders import ACCOUNT, at, days, fact

NOW = at("2026-06-01 12:00")


def summaries(facts: list[Fact], as_of: datetime = NOW) -> dict[str, DepartmentSummary]:
    ordered = sorted(facts, key=lambda each: each.order)
    return {each.department: each for each in department_summaries(Timeline(ACCOUNT, ordered), as_of)}


def test_no_events_no_departments() -> None:
    assert department_summaries(Timeline(ACCOUNT, []), NOW) == ()


def test_only_departments_with_events_in_catalogue_order() -> None:
    facts = [
        fact("billing.credit.issued", NOW - days(1), amount="10", currency="EUR"),
        fact("marketing.survey.sent", NOW - days(2), surveyId="S-1", kind="nps"),
        fact("support.contact.made", NOW - days(3), channel="call"),
    ]
    timeline = Timeline(ACCOUNT, sorted(facts, key=lambda each: each.order))
    assert [each.department for each in department_summaries(timeline, NOW)] == ["marketing", "support", "billing"]


def test_last_touch_is_the_latest_event_of_any_type() -> None:
    facts = [
        fact("sales.outreach.sent", NOW - days(10), channel="email", intent="follow_up"),
        fact("sales.account.updated", NOW - days(2), name="Acme"),
        fact("sales.opportunity.stage_changed", NOW - days(5), opportunityId="O-1", stage="proposal"),
    ]
    sales = summaries(facts)["sales"]
    assert sales.last_touch_at == NOW - days(2)
    assert sales.last_touch_type == "sales.account.updated"


def test_windows_hold_the_last_n_days_with_the_older_end_left_out() -> None:
    facts = [fact("product.feature.adopted", NOW - delta, feature="sso")
             for delta in (days(0), days(7) - days(0.001), days(7), days(30), days(89), days(90), days(200))]
    assert summaries(facts)["product"].events == WindowCounts(days_7=2, days_30=3, days_90=5)


def test_outbound_touches_are_messages_our_side_sent() -> None:
    facts = [
        fact("marketing.campaign.sent", NOW - days(1), campaignId="C-1", channel="email", intent="nurture"),
        fact("marketing.engagement.recorded", NOW - days(1), campaignId="C-1", channel="email", action="open"),
        fact("support.contact.made", NOW - days(20), channel="call"),
        fact("support.ticket.opened", NOW - days(20), ticketId="T-1", priority="low"),
        fact("billing.dunning.sent", NOW - days(60), invoiceId="I-1", level=1),
        fact("billing.payment.failed", NOW - days(60), invoiceId="I-1"),
        fact("sales.outreach.sent", NOW - days(100), channel="call", intent="check_in"),
    ]
    found = summaries(facts)
    assert found["marketing"].outbound_touches == WindowCounts(1, 1, 1)
    assert found["marketing"].events == WindowCounts(2, 2, 2)
    assert found["support"].outbound_touches == WindowCounts(0, 1, 1)
    assert found["billing"].outbound_touches == WindowCounts(0, 0, 1)
    assert found["sales"].outbound_touches == WindowCounts(0, 0, 0)


def test_each_department_lists_its_open_items() -> None:
    facts = [
        fact("marketing.consent.changed", "2026-05-01", contact="c-17", channel="email", granted=False),
        fact("sales.opportunity.opened", "2026-05-02", opportunityId="O-1", kind="new", amount="5000", currency="EUR"),
        fact("product.incident.started", "2026-05-03", incidentId="INC-1", severity="sev2"),
        fact("support.ticket.opened", "2026-05-04", ticketId="T-1", priority="urgent"),
        fact("billing.invoice.issued", "2026-05-05", invoiceId="I-1", amount="100", currency="EUR",
             dueAt="2026-05-10"),
    ]
    found = summaries(facts)
    assert [(item.kind, item.id) for summary in found.values() for item in summary.open_items] == [
        ("opt_out", "email"), ("opportunity", "O-1"), ("incident", "INC-1"), ("ticket", "T-1"), ("invoice", "I-1"),
    ]
    assert found["billing"].open_items[0].days_overdue == 21  # judged at the view's moment


def test_closed_items_are_not_listed_but_the_department_is() -> None:
    facts = [
        fact("support.ticket.opened", "2026-05-04", ticketId="T-1", priority="urgent"),
        fact("support.ticket.resolved", "2026-05-06", ticketId="T-1"),
        fact("billing.invoice.issued", "2026-05-05", invoiceId="I-1", amount="100", currency="EUR",
             dueAt="2026-05-10"),
        fact("billing.payment.received", "2026-05-07", invoiceId="I-1", amount="100", currency="EUR"),
    ]
    found = summaries(facts)
    assert found["support"].open_items == () and found["billing"].open_items == ()
    assert found["support"].last_touch_type == "support.ticket.resolved"
