"""`collections-during-supportive-messaging`: a collections action within 14 days of a supportive campaign."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from projections.facts import Fact
from projections.thresholds import ThresholdError, thresholds_from
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


def test_a_late_earlier_send_does_not_take_back_the_finding_of_a_later_send() -> None:
    """Sent 10 Mar, a dunning 20 Mar: open until 24 Mar. A send of 6 Mar arriving late has its own window, which
    ends at the dunning: it holds nothing and is no part of the finding; the 10 Mar send still holds it."""
    facts = [campaign("2026-03-10 09:00"), dunning("2026-03-20 09:00")]
    found = only(RULE, facts, "2026-03-21")
    assert found.resolved_at is None
    assert only(RULE, [*facts, campaign("2026-03-06 09:00", contact="c-2")], "2026-03-21") == found


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


# rules.md, rule 2: "A collections action within 14 days before or after a `marketing.campaign.sent` whose intent
# is supportive or retention. Key: the campaign. Evidence: the campaign and the collections actions in its window.
# Closes: 14 days after the campaign." Every send is a `marketing.campaign.sent`: each has its own window.


def test_each_send_of_a_campaign_has_its_own_window() -> None:
    """Sent 2 Mar 09:14 and 6 Mar 00:00; a dunning on 18 Mar is 16 days after the first send, 12 after the second."""
    first, second = campaign(contact="c-1"), campaign("2026-03-06", contact="c-2")
    notice = dunning("2026-03-18")
    found = only(RULE, [first, second, notice], "2026-04-30")
    assert found.key == "C-7"
    assert found.detected_at == at("2026-03-18")
    assert found.resolved_at == at("2026-03-06") + days(14)
    assert found.evidence == (second, notice)  # the first send has no collections action within 14 days
    assert found.summary == (
        "Marketing sent the supportive email campaign C-7 on 6 Mar 2026, "
        "and billing sent a level 2 dunning notice for invoice INV-3 on 18 Mar 2026."
    )


def test_a_campaign_sent_several_times_is_one_finding_until_14_days_after_its_last_send_that_holds_it() -> None:
    first, second = campaign(contact="c-1"), campaign("2026-03-06", contact="c-2")
    inside, notice = dunning("2026-03-10"), dunning("2026-03-18")
    found = only(RULE, [first, second, inside, notice], "2026-04-30")
    assert found.detected_at == at("2026-03-10")
    assert found.evidence == (first, second, inside, notice)
    assert found.resolved_at == at("2026-03-06") + days(14)
    assert found.summary.endswith("; 1 more collections action fell within 14 days of the campaign.")
    assert only(RULE, [first, second, inside, notice], "2026-03-19 23:59").resolved_at is None
    assert next_change([first, second, inside, notice], "2026-03-19") == at("2026-03-20")


def test_the_finding_holds_from_the_first_send_to_hold_it() -> None:
    """Sends on 2 Mar 09:14 and 10 Mar 00:00, a dunning on 12 Mar: both hold it; it holds from 12 Mar."""
    first, second, notice = campaign(), campaign("2026-03-10", contact="c-2"), dunning("2026-03-12")
    found = only(RULE, [first, second, notice], "2026-04-30")
    assert found.detected_at == at("2026-03-12")
    assert found.resolved_at == at("2026-03-24")
    before = only(RULE, [suspended("2026-02-20"), first, second], "2026-04-30")
    assert before.detected_at == SENT  # the suspension is in the first send's window, not the second's
    assert before.resolved_at == SENT + days(14)
    assert before.evidence[1:] == (first,)


def test_a_later_send_with_its_own_collections_within_30_days_opens_the_finding_again() -> None:
    """Sent 2 Mar 09:14 with a dunning on 5 Mar (closed 16 Mar 09:14); sent again on 1 Apr with a dunning on 3 Apr."""
    early, late = [campaign(), dunning("2026-03-05")], [campaign("2026-04-01", contact="c-2"), dunning("2026-04-03")]
    assert only(RULE, [*early, *late], "2026-03-31").resolved_at == SENT + days(14)
    assert only(RULE, [*early, *late], "2026-04-01").resolved_at == SENT + days(14)
    reopened = only(RULE, [*early, *late], "2026-04-03")
    assert reopened.key == "C-7"
    assert reopened.resolved_at is None
    assert reopened.detected_at == at("2026-03-05")
    assert reopened.evidence == (*early, *late)
    assert only(RULE, [*early, *late], "2026-07-01").resolved_at == at("2026-04-15")


# Reopening horizon (docs/rules.md, rule 2: the code's choice over the spec's "Closes"): a send that holds the finding
# again more than 30 days (`reopen_days`) after it closed opens a new finding, keyed after that send.


def test_a_send_holding_it_more_than_30_days_after_it_closed_opens_a_new_finding() -> None:
    """Closed 16 Mar 09:14 (horizon 15 Apr 09:14); sent again on 1 Jun with a dunning on 3 Jun."""
    early, late = [campaign(), dunning("2026-03-05")], [campaign("2026-06-01", contact="c-2"), dunning("2026-06-03")]
    closed = only(RULE, early, "2026-05-01")
    assert only(RULE, [*early, *late], "2026-06-01") == closed
    old, new = findings(RULE, [*early, *late], "2026-06-03")
    assert old == closed  # still resolved, unchanged
    assert new.key == f"C-7@test/{late[0].event_id}"
    assert new.id != old.id
    assert (new.detected_at, new.resolved_at, new.evidence) == (at("2026-06-03"), None, tuple(late))
    assert new.summary == (
        "Marketing sent the supportive email campaign C-7 on 1 Jun 2026, "
        "and billing sent a level 2 dunning notice for invoice INV-3 on 3 Jun 2026."
    )
    later = findings(RULE, [*early, *late], "2026-07-01")
    assert later[0] == old
    assert (later[1].id, later[1].resolved_at) == (new.id, at("2026-06-15"))


@pytest.mark.parametrize(("after", "reopens"), [(days(30), True), (days(30) + timedelta(microseconds=1), False)])
def test_the_horizon_is_judged_at_the_moment_the_send_holds_it_again_30_days_included(after: timedelta,
                                                                                     reopens: bool) -> None:
    """Closed 16 Mar 09:14. Sent again 10 Apr; its first dunning comes 30 days after the closing, or 1 us later."""
    early = [campaign(), dunning("2026-03-05")]
    again, notice = campaign("2026-04-10", contact="c-2"), dunning(SENT + days(14) + after)
    found = findings(RULE, [*early, again, notice], "2026-06-30")
    if reopens:
        assert [(each.key, each.evidence, each.resolved_at) for each in found] == [
            ("C-7", (*early, again, notice), at("2026-04-24"))]
    else:
        assert [(each.key, each.evidence) for each in found] == [
            ("C-7", tuple(early)), (f"C-7@test/{again.event_id}", (again, notice))]


def test_after_a_new_finding_the_next_one_is_keyed_after_its_own_send() -> None:
    sends = [campaign(at("2026-03-02") + days(90 * n), contact=f"c-{n}") for n in range(3)]
    facts = [each for send in sends for each in (send, dunning(send.occurred_at + days(1)))]
    assert [each.key for each in findings(RULE, facts, "2027-01-01")] == [
        "C-7", f"C-7@test/{sends[1].event_id}", f"C-7@test/{sends[2].event_id}"]


def test_the_horizon_is_a_threshold() -> None:
    early, late = [campaign(), dunning("2026-03-05")], [campaign("2026-06-01", contact="c-2"), dunning("2026-06-03")]
    assert only(RULE, [*early, *late], "2026-07-01", reopen_days=90).evidence == (*early, *late)
    assert len(findings(RULE, [*early, *late], "2026-07-01", reopen_days=60)) == 2
    just_after = campaign(SENT + days(14) + timedelta(microseconds=1), contact="c-2")  # holds by the 5 Mar dunning
    assert only(RULE, [*early, just_after], "2026-07-01", reopen_days=1).key == "C-7"
    old, new = findings(RULE, [*early, just_after], "2026-07-01", reopen_days=0)
    assert (old.evidence, new.evidence) == (tuple(early), (early[1], just_after))


def test_a_negative_horizon_is_refused() -> None:
    with pytest.raises(ThresholdError, match=f"{RULE}.reopen_days: must not be negative"):
        thresholds_from({RULE: {"reopen_days": -1}})


def test_a_send_whose_only_action_comes_as_its_window_closes_does_not_extend_the_finding() -> None:
    """Sent 2 Mar 09:14 with a dunning on 5 Mar; sent again 10 Mar 09:14, whose window ends at a dunning of 24 Mar 09:14."""
    later = campaign(SENT + days(8), contact="c-2")
    at_its_end = dunning(SENT + days(22))
    found = only(RULE, [campaign(), dunning("2026-03-05"), later, at_its_end], "2026-04-30")
    assert found.resolved_at == SENT + days(22)  # the second send holds it through the 5 Mar dunning
    alone = [campaign(), dunning("2026-03-05"), campaign(SENT + days(20), contact="c-2"), dunning(SENT + days(34))]
    found = only(RULE, alone, "2026-04-30")
    assert found.resolved_at == SENT + days(14)
    assert found.evidence == tuple(alone[:2])


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
