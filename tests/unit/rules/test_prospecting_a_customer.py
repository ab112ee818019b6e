"""`prospecting-a-customer`: an acquisition campaign or prospecting outreach to a customer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, days, fact, findings, next_change, only, tied

RULE = "prospecting-a-customer"


def subscription(when: str, change: str = "start", plan: str = "pro") -> Fact:
    return fact("billing.subscription.changed", when, change=change, plan=plan, mrr="900", currency="EUR")


def won(when: str, opportunity: str = "O-7") -> Fact:
    return fact("sales.opportunity.won", when, opportunityId=opportunity, amount="12000", currency="EUR")


def campaign(when: str, intent: str = "acquisition", campaign_id: str = "CMP-1") -> Fact:
    return fact("marketing.campaign.sent", when, campaignId=campaign_id, channel="email", intent=intent)


def outreach(when: str, intent: str = "prospecting") -> Fact:
    return fact("sales.outreach.sent", when, channel="call", intent=intent)


def test_an_acquisition_campaign_to_a_subscriber_fires() -> None:
    started, sent = subscription("2026-01-10"), campaign("2026-03-02 09:14")
    found = only(RULE, [started, sent], "2026-03-10")
    assert found.severity == "LOW"
    assert found.departments == ("marketing", "billing")
    assert found.key == "marketing"
    assert found.detected_at == at("2026-03-02 09:14")
    assert found.resolved_at is None
    assert found.evidence == (started, sent)
    assert found.summary == (
        "Marketing sent acquisition campaign CMP-1 (email) on 2 Mar 2026 to an account that is already a customer "
        "(its pro subscription was started on 10 Jan 2026)."
    )


def test_a_prospecting_outreach_after_a_won_deal_fires() -> None:
    deal, call = won("2026-02-01"), outreach("2026-03-02")
    found = only(RULE, [deal, call], "2026-03-10")
    assert found.departments == ("sales", "billing")
    assert found.key == "sales"
    assert found.evidence == (deal, call)
    assert found.summary == (
        "Sales sent a prospecting outreach (call) on 2 Mar 2026 to an account that is already a customer "
        "(deal O-7 of 12000 EUR was won on 1 Feb 2026)."
    )


@pytest.mark.parametrize("intent", ["nurture", "upsell", "retention", "supportive", "announcement"])
def test_other_campaign_intents_do_not_count(intent: str) -> None:
    assert findings(RULE, [subscription("2026-01-10"), campaign("2026-03-02", intent)], "2026-03-10") == []


@pytest.mark.parametrize("intent", ["follow_up", "upsell", "renewal", "check_in"])
def test_other_outreach_intents_do_not_count(intent: str) -> None:
    assert findings(RULE, [subscription("2026-01-10"), outreach("2026-03-02", intent)], "2026-03-10") == []


def test_prospecting_an_account_that_is_not_a_customer_does_not_fire() -> None:
    assert findings(RULE, [campaign("2026-03-02"), outreach("2026-03-02")], "2026-03-10") == []


def test_a_cancelled_subscription_is_not_a_customer() -> None:
    facts = [subscription("2025-01-10"), subscription("2026-01-10", "cancel"), campaign("2026-03-02")]
    assert findings(RULE, facts, "2026-03-10") == []


def test_a_subscription_at_the_same_instant_is_not_before_the_message() -> None:
    assert findings(RULE, [subscription("2026-03-02 09:14"), campaign("2026-03-02 09:14")], "2026-03-10") == []


@pytest.mark.parametrize(("won_at", "fires"), [("2025-03-02 09:14", True), ("2025-03-02 09:13", False)])
def test_a_won_deal_makes_a_customer_for_365_days(won_at: str, fires: bool) -> None:
    facts = [won(won_at), outreach("2026-03-02 09:14")]  # 2026 is not a leap year: 365 days apart exactly
    assert len(findings(RULE, facts, "2026-03-10")) == (1 if fires else 0)


def test_a_deal_won_after_a_cancellation_makes_a_customer_again() -> None:
    deal = won("2026-02-01")
    facts = [subscription("2025-01-10"), subscription("2026-01-10", "cancel"), deal, campaign("2026-03-02")]
    assert only(RULE, facts, "2026-03-10").evidence[0] == deal


def test_the_evidence_is_the_latest_reason_at_the_first_message() -> None:
    renewed = subscription("2026-02-15", "renew")
    facts = [won("2026-02-01"), renewed, campaign("2026-03-02"), subscription("2026-03-05", "upgrade"), campaign("2026-03-09")]
    found = only(RULE, facts, "2026-03-10")
    assert found.evidence[0] == renewed and len(found.evidence) == 3
    assert "(its pro subscription was renewed on 15 Feb 2026); 1 more prospecting message followed on 9 Mar 2026." in (
        found.summary)


def test_a_customer_making_event_at_the_instant_of_the_first_message_is_not_before_it() -> None:
    """Won on 1 Feb; renewed at 2 Mar 09:14 with the first message: the evidence is the won deal."""
    deal = won("2026-02-01")
    facts = [deal, subscription("2026-03-02 09:14", "renew"), campaign("2026-03-02 09:14")]
    assert only(RULE, facts, "2026-03-10").evidence == (deal, facts[2])


def test_changes_at_the_instant_of_the_first_message_are_not_before_it() -> None:
    """A cancel and a restart both at 2 Mar 09:14, with the message: the customer-making event is the January start."""
    started = subscription("2026-01-10")
    facts = [started, *tied(subscription("2026-03-02 09:14", "cancel"), subscription("2026-03-02 09:14", "start")),
             campaign("2026-03-02 09:14")]
    assert only(RULE, facts, "2026-03-10").evidence == (started, facts[3])


def test_it_closes_30_days_after_the_last_message() -> None:
    facts = [subscription("2026-01-10"), campaign("2026-03-02"), outreach("2026-03-04"), campaign("2026-03-20")]
    marketing = next(each for each in findings(RULE, facts, "2026-04-19") if each.key == "marketing")
    assert marketing.resolved_at == at("2026-04-19")
    assert len(marketing.evidence) == 3
    assert only(RULE, facts[:2] + facts[3:], "2026-04-18 23:59").resolved_at is None
    assert next_change(facts, "2026-03-25") == at("2026-04-03")  # the sales finding closes first
    assert next_change(facts, "2026-04-10") == at("2026-04-19")


def test_a_message_to_a_former_customer_does_not_extend_the_finding() -> None:
    facts = [subscription("2026-01-10"), campaign("2026-03-02"), subscription("2026-03-05", "cancel"), campaign("2026-03-20")]
    found = only(RULE, facts, "2026-04-10")
    assert found.resolved_at == at("2026-04-01")
    assert len(found.evidence) == 2


def test_a_message_exactly_30_days_later_joins_the_open_finding() -> None:
    facts = [subscription("2026-01-10"), campaign("2026-03-02 09:00"), campaign("2026-04-01 09:00")]
    found = only(RULE, facts, "2026-04-10")
    assert found.resolved_at is None and len(found.evidence) == 3


# rules.md, rule 8: "Key: the sending department. Evidence: the prospecting messages and the
# latest event that made the account a customer before the first of those messages.
# Closes: 30 days after the last such message."

def test_a_message_after_the_finding_closed_reopens_the_same_finding() -> None:
    """Key: the sending department: one finding per department, open again while it prospects again."""
    started = subscription("2026-01-10")
    first, again = campaign("2026-03-02 09:00"), campaign("2026-04-01 09:01")
    facts = [started, first, again]
    closed = only(RULE, facts, "2026-04-01 09:00")
    assert closed.resolved_at == at("2026-04-01 09:00")  # 30 days after the last message so far
    reopened = only(RULE, facts, "2026-04-10")
    assert reopened.id == closed.id and reopened.key == "marketing"
    assert reopened.detected_at == at("2026-03-02 09:00") and reopened.resolved_at is None
    assert reopened.evidence == (started, first, again)
    assert reopened.summary.endswith("; 1 more prospecting message followed on 1 Apr 2026.")
    assert only(RULE, facts, "2026-05-01 09:01").resolved_at == at("2026-05-01 09:01")


def test_a_reopened_finding_keeps_the_reason_before_the_first_message() -> None:
    """Evidence: the latest event that made the account a customer before the first of those messages."""
    started, renewed = subscription("2026-01-10"), subscription("2026-04-10", "renew")
    facts = [started, campaign("2026-03-02"), renewed, campaign("2026-04-20"), campaign("2026-06-15")]
    found = only(RULE, facts, "2026-06-16")  # each message within 30 days of the closing before it
    assert found.evidence == (started, facts[1], facts[3], facts[4])
    assert found.summary.endswith("; 2 more prospecting messages followed, the latest on 15 Jun 2026.")


def test_as_of_between_two_episodes_the_finding_is_resolved() -> None:
    """Time travel: as of T, the messages after T do not count; the finding then closed 30 days after the last."""
    facts = [subscription("2026-01-10"), campaign("2026-03-02"), campaign("2026-06-01")]
    found = only(RULE, facts, "2026-05-15")
    assert found.resolved_at == at("2026-04-01") and len(found.evidence) == 2
    assert next_change(facts, "2026-05-15") == at("2026-06-01")  # the next message, not a deadline


def test_messages_while_not_a_customer_neither_reopen_nor_extend() -> None:
    facts = [subscription("2026-01-10"), campaign("2026-03-02"), subscription("2026-03-20", "cancel"),
             campaign("2026-04-10"), subscription("2026-04-15", "start"), campaign("2026-04-25")]
    assert only(RULE, facts, "2026-04-20").resolved_at == at("2026-04-01")
    found = only(RULE, facts, "2026-04-26")
    assert found.resolved_at is None and found.evidence == (facts[0], facts[1], facts[5])


def test_each_department_has_its_own_finding() -> None:
    facts = [subscription("2026-01-10"), campaign("2026-03-02"), outreach("2026-03-03")]
    assert sorted(each.key for each in findings(RULE, facts, "2026-03-10")) == ["marketing", "sales"]


def test_as_of_before_the_message_there_is_nothing() -> None:
    facts = [subscription("2026-01-10"), campaign("2026-03-02 09:14")]
    assert findings(RULE, facts, "2026-03-02 09:13") == []
    assert next_change(facts, at("2026-03-02 09:14") + days(1)) == at("2026-04-01 09:14")


def test_the_windows_are_thresholds() -> None:
    facts = [won("2026-01-01"), campaign("2026-03-02"), campaign("2026-03-10")]
    assert findings(RULE, facts, "2026-03-20", customer_won_days=30) == []
    found = only(RULE, facts, "2026-03-20", close_days=7)  # 8 days apart: closed 9 Mar, reopened 10 Mar
    assert found.resolved_at == at("2026-03-17") and len(found.evidence) == 3
    assert only(RULE, facts, "2026-03-09 12:00", close_days=7).resolved_at == at("2026-03-09")


# The reopening horizon (docs/rules.md, rule 8, differs from the spec): a message reopens the
# department's finding only within `reopen_days` (30) of its resolution; a later one opens a new
# finding, keyed by the department and that message, and the old one stays as it was for good.

def test_a_message_within_the_horizon_reopens_the_same_finding() -> None:
    started, first, again = subscription("2026-01-10"), campaign("2026-03-02 09:00"), campaign("2026-04-20 09:00")
    closed, reopened = only(RULE, [started, first, again], "2026-04-19"), only(RULE, [started, first, again], "2026-04-21")
    assert closed.resolved_at == at("2026-04-01 09:00")
    assert reopened.id == closed.id and reopened.key == "marketing" and reopened.resolved_at is None
    assert reopened.evidence == (started, first, again)


def test_a_message_after_the_horizon_opens_a_new_finding() -> None:
    """Closed 1 Apr 09:00, so the horizon is 1 May 09:00: a message one minute later is a new case."""
    started, renewed = subscription("2026-01-10"), subscription("2026-04-15", "renew")
    first, again = campaign("2026-03-02 09:00"), campaign("2026-05-01 09:01", campaign_id="CMP-2")
    facts = [started, first, renewed, again]
    before = only(RULE, facts, "2026-05-01 09:00")
    old, new = findings(RULE, facts, "2026-05-10")
    assert old == before  # resolved, its evidence and summary unchanged, and the same id
    assert old.key == "marketing" and old.resolved_at == at("2026-04-01 09:00") and old.evidence == (started, first)
    assert new.key == f"marketing@{again.source}/{again.event_id}" and new.id != old.id
    assert new.detected_at == at("2026-05-01 09:01") and new.resolved_at is None
    assert new.evidence == (renewed, again)  # its own customer-making event, before its own first message
    assert new.summary == (
        "Marketing sent acquisition campaign CMP-2 (email) on 1 May 2026 to an account that is already a customer "
        "(its pro subscription was renewed on 15 Apr 2026).")
    assert findings(RULE, facts, "2026-06-01 09:01") == [old, replace(new, resolved_at=at("2026-05-31 09:01"))]


def test_a_message_exactly_at_the_horizon_still_reopens() -> None:
    started, first, again = subscription("2026-01-10"), campaign("2026-03-02 09:00"), campaign("2026-05-01 09:00")
    found = only(RULE, [started, first, again], "2026-05-10")
    assert found.key == "marketing" and found.resolved_at is None and found.evidence == (started, first, again)


def test_later_findings_are_keyed_by_their_own_first_message_and_join_within_their_own_horizon() -> None:
    started = subscription("2026-01-10")
    messages = [campaign("2026-02-01"), campaign("2026-05-01"), campaign("2026-06-20"), campaign("2026-09-01"),
                outreach("2026-09-02")]
    found = findings(RULE, [started, *messages], "2026-09-10")
    assert [(each.key, len(each.evidence)) for each in found] == [
        ("marketing", 2), (f"marketing@test/{messages[1].event_id}", 3), (f"marketing@test/{messages[3].event_id}", 2),
        ("sales", 2)]  # each department has its own horizon: sales' first finding
    assert [each.resolved_at for each in found] == [at("2026-03-03"), at("2026-07-20"), None, None]


@pytest.mark.parametrize(("reopen_days", "reopens"), [(0, False), (45, True), (44, False)])
def test_the_horizon_is_a_threshold(reopen_days: int, reopens: bool) -> None:
    """Closed 1 Apr 09:00; a message on 16 May 09:00 is 45 days later."""
    facts = [subscription("2026-01-10"), campaign("2026-03-02 09:00"), campaign("2026-05-16 09:00")]
    found = findings(RULE, facts, "2026-05-20", reopen_days=reopen_days)
    assert [each.key for each in found] == (["marketing"] if reopens else ["marketing", f"marketing@test/{facts[2].event_id}"])


def test_with_no_horizon_only_a_message_at_the_closing_instant_joins() -> None:
    facts = [subscription("2026-01-10"), campaign("2026-03-02 09:00"), campaign("2026-04-01 09:00"),
             campaign("2026-05-01 09:00:00.000001")]
    assert [len(each.evidence) for each in findings(RULE, facts, "2026-05-02", reopen_days=0)] == [3, 2]
