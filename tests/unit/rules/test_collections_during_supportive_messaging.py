"""`collections-during-supportive-messaging`: a collections action within 14 days of a supportive campaign."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, days, fact, findings, next_change, only

RULE = "collections-during-supportive-messaging"

SENT = at("2026-03-02 09:14")


def campaign(when: datetime | str = SENT, intent: str = "supportive", campaign_id: str = "C-7",
             contact: str | None = None) -> Fact:
    return fact("marketing.campaign.sent", when, contact, campaignId=campaign_id, channel="email", intent=intent)


def dunning(when: datetime | str, invoice: str = "INV-3") -> Fact:
    return fact("billing.dunning.sent", when, invoiceId=invoice, level=2, channel="email")


def suspended(when: datetime | str) -> Fact:
    return fact("billing.service.suspended", when, reason="non_payment")


@pytest.mark.parametrize("intent", ["supportive", "retention"])
def test_a_dunning_notice_after_a_supportive_campaign_fires(intent: str) -> None:
    sent, notice = campaign(intent=intent), dunning("2026-03-05 10:00")
    found = only(RULE, [sent, notice], "2026-03-10")
    assert found.severity == "MEDIUM"
    assert found.departments == ("marketing", "billing")
    assert found.key == "C-7"
    assert found.detected_at == at("2026-03-05 10:00")
    assert found.resolved_at is None
    assert found.evidence == (sent, notice)
    assert found.summary == (
        f"Marketing sent the {intent} email campaign C-7 on 2 Mar 2026, "
        "and billing sent a level 2 dunning notice for invoice INV-3 on 5 Mar 2026."
    )


def test_a_collections_action_before_the_campaign_fires_from_the_campaign() -> None:
    found = only(RULE, [suspended("2026-02-20"), campaign()], "2026-03-10")
    assert found.detected_at == SENT
    assert found.summary == (
        "Billing suspended the service on 20 Feb 2026, "
        "and marketing sent the supportive email campaign C-7 on 2 Mar 2026."
    )


@pytest.mark.parametrize(
    ("offset", "fires"),
    [(-days(14), True), (-days(14) - timedelta(minutes=1), False), (days(14) - timedelta(minutes=1), True),
     (days(14) + timedelta(minutes=1), False), (days(0), True)],
)
def test_the_window_is_14_days_either_side_both_ends_included(offset: timedelta, fires: bool) -> None:
    facts = [campaign(), dunning(SENT + offset)]
    assert len(findings(RULE, facts, "2026-04-30")) == (1 if fires else 0)


def test_an_action_alone_14_days_after_the_campaign_never_held_but_joins_an_open_finding() -> None:
    """Campaign 2 Mar 09:14; a dunning at 16 Mar 09:14, the instant the window closes."""
    at_the_end = dunning(SENT + days(14))
    assert findings(RULE, [campaign(), at_the_end], "2026-04-30") == []
    assert findings(RULE, [campaign(), at_the_end], SENT + days(14)) == []
    earlier = dunning("2026-03-05")
    assert only(RULE, [campaign(), earlier, at_the_end], "2026-04-30").evidence[1:] == (earlier, at_the_end)


def test_a_late_earlier_send_that_closes_the_window_at_the_action_takes_the_finding_back() -> None:
    """Sent 10 Mar, a dunning 20 Mar: open until 24 Mar; a send of 6 Mar arriving late closes it at 20 Mar."""
    facts = [campaign("2026-03-10 09:00"), dunning("2026-03-20 09:00")]
    assert only(RULE, facts, "2026-03-21").resolved_at is None
    assert findings(RULE, [*facts, campaign("2026-03-06 09:00", contact="c-2")], "2026-03-21") == []


def test_instants_are_compared_with_their_offsets() -> None:
    # 11:15 at +02:00 is 09:15 UTC: 14 days and 1 minute after the campaign
    late = dunning(datetime(2026, 3, 16, 11, 15, tzinfo=timezone(timedelta(hours=2))))
    assert findings(RULE, [campaign(), late], "2026-04-30") == []


@pytest.mark.parametrize("intent", ["acquisition", "nurture", "upsell", "announcement"])
def test_other_campaign_intents_do_not_fire(intent: str) -> None:
    assert findings(RULE, [campaign(intent=intent), dunning("2026-03-05")], "2026-03-10") == []


def test_other_billing_events_are_not_collections_actions() -> None:
    failed = fact("billing.payment.failed", "2026-03-03", invoiceId="INV-3", reason="card_declined")
    invoice = fact("billing.invoice.issued", "2026-03-04", invoiceId="INV-4", amount="120.00", currency="EUR",
                   dueAt="2026-04-04")
    assert findings(RULE, [campaign(), failed, invoice], "2026-03-10") == []


def test_contacts_need_not_match() -> None:
    assert len(findings(RULE, [campaign(contact="c-17"), dunning("2026-03-05")], "2026-03-10")) == 1


def test_it_closes_14_days_after_the_campaign_and_later_actions_join_it() -> None:
    facts = [campaign(), dunning("2026-03-05"), suspended("2026-03-12")]
    found = only(RULE, facts, "2026-04-01")
    assert found.resolved_at == SENT + days(14)
    assert found.detected_at == at("2026-03-05")
    assert found.evidence == tuple(facts)
    assert found.summary.endswith("; 1 more collections action fell within 14 days of the campaign.")
    assert only(RULE, facts, "2026-03-16 09:13").resolved_at is None
    assert only(RULE, facts, "2026-03-16 09:14").resolved_at == SENT + days(14)
    assert only(RULE, facts[:2], "2026-03-10").id == found.id


def test_as_of_before_the_collections_action_nothing_and_then_the_closing_is_the_next_change() -> None:
    facts = [campaign(), dunning("2026-03-05")]
    assert findings(RULE, facts, "2026-03-04") == []
    assert next_change(facts, "2026-03-06") == SENT + days(14)


def test_a_campaign_sent_to_several_contacts_is_one_finding_timed_by_its_first_send() -> None:
    first, second = campaign(contact="c-1"), campaign("2026-03-06", contact="c-2")
    notice = dunning("2026-03-18")  # 16 days after the first send, 12 after the second
    assert findings(RULE, [first, second, notice], "2026-04-30") == []
    inside = dunning("2026-03-10")
    found = only(RULE, [first, second, notice, inside], "2026-04-30")
    assert found.evidence == (first, second, inside)
    assert found.resolved_at == SENT + days(14)


def test_each_campaign_is_its_own_finding() -> None:
    facts = [campaign(campaign_id="C-7"), campaign(campaign_id="C-8", intent="retention"), dunning("2026-03-05")]
    assert sorted(each.key for each in findings(RULE, facts, "2026-03-10")) == ["C-7", "C-8"]


def test_the_window_and_the_intents_are_thresholds() -> None:
    facts = [campaign(), dunning("2026-03-12")]
    assert findings(RULE, facts, "2026-04-30", window_days=7) == []
    assert only(RULE, facts, "2026-04-30", window_days=10).resolved_at == SENT + days(10)
    assert findings(RULE, facts, "2026-04-30", supportive_intents=["retention"]) == []
    assert len(findings(RULE, [campaign(intent="nurture"), dunning("2026-03-05")], "2026-03-10",
                        supportive_intents=["nurture"])) == 1
