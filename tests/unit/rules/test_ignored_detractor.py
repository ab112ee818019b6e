"""`ignored-detractor`: an NPS score of 0-6 with no follow-up within 7 days (a deadline rule)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, days, fact, findings, next_change, only

RULE = "ignored-detractor"

RESPONDED = at("2026-03-02 09:14")
DEADLINE = RESPONDED + days(7)


def nps(score: int = 3, when: datetime | str = RESPONDED, contact: str | None = "c-17") -> Fact:
    return fact("marketing.nps.responded", when, contact, score=score, surveyId="S-1")


def contact_made(when: datetime | str, reason: str | None = "detractor_follow_up", contact: str | None = None) -> Fact:
    data = {"channel": "call"} if reason is None else {"channel": "call", "reason": reason}
    return fact("support.contact.made", when, contact, **data)


def outreach(when: datetime | str, intent: str = "check_in") -> Fact:
    return fact("sales.outreach.sent", when, channel="email", intent=intent)


def test_a_detractor_left_alone_for_7_days_fires_at_the_deadline() -> None:
    response = nps()
    found = only(RULE, [response], "2026-03-10")
    assert found.severity == "MEDIUM"
    assert found.departments == ("marketing", "support")
    assert found.key == f"{response.source}/{response.event_id}"
    assert found.detected_at == DEADLINE
    assert found.resolved_at is None
    assert found.evidence == (response,)
    assert found.summary == (
        "Contact c-17 gave an NPS score of 3 on 2 Mar 2026 and nobody from support or sales followed up by 9 Mar 2026."
    )


def test_before_the_deadline_nothing_and_the_deadline_is_the_next_change() -> None:
    assert findings(RULE, [nps()], DEADLINE - timedelta(minutes=1)) == []
    assert next_change([nps()], "2026-03-05") == DEADLINE
    assert len(findings(RULE, [nps()], DEADLINE)) == 1


@pytest.mark.parametrize(("score", "fires"), [(0, True), (6, True), (7, False), (10, False)])
def test_only_scores_of_0_to_6_are_detractors(score: int, fires: bool) -> None:
    assert len(findings(RULE, [nps(score)], "2026-03-20")) == (1 if fires else 0)


@pytest.mark.parametrize(
    "follow_up",
    [contact_made(RESPONDED), contact_made(DEADLINE), contact_made("2026-03-05", "onboarding"),
     contact_made("2026-03-05", None), outreach(DEADLINE)],
)
def test_a_follow_up_within_7_days_both_ends_included_prevents_it(follow_up: Fact) -> None:
    assert findings(RULE, [nps(), follow_up], "2026-03-20") == []


@pytest.mark.parametrize(
    "other",
    [outreach("2026-03-05", "upsell"), outreach("2026-03-05", "follow_up"),
     fact("marketing.campaign.sent", "2026-03-05", campaignId="C-7", channel="email", intent="supportive"),
     fact("billing.dunning.sent", "2026-03-05", invoiceId="INV-3", level=1),
     contact_made(RESPONDED - timedelta(minutes=1))],
)
def test_other_touches_and_earlier_contacts_are_not_follow_ups(other: Fact) -> None:
    assert len(findings(RULE, [nps(), other], "2026-03-20")) == 1


@pytest.mark.parametrize(
    ("late", "words"),
    [(contact_made(DEADLINE + timedelta(minutes=1)), "a call from support"),
     (outreach(DEADLINE + timedelta(minutes=1)), "a check-in email from sales")],
)
def test_it_closes_at_the_first_follow_up_after_the_deadline(late: Fact, words: str) -> None:
    response = nps()
    found = only(RULE, [response, late], "2026-03-20")
    assert found.detected_at == DEADLINE
    assert found.resolved_at == DEADLINE + timedelta(minutes=1)
    assert found.evidence == (response, late)
    assert found.summary.endswith(f"followed up by 9 Mar 2026; the first follow-up, {words}, came on 9 Mar 2026.")
    assert only(RULE, [response, late], DEADLINE).resolved_at is None
    assert only(RULE, [response, late], DEADLINE).id == found.id


def test_the_evidence_is_the_response_and_the_late_follow_up_that_closed_it() -> None:
    """Score 3 on 2 Mar 09:14; a contact before it, and two after the 9 Mar deadline: only the first late one."""
    response, before, late, later = (nps(), contact_made(RESPONDED - days(1)), outreach(DEADLINE + days(1)),
                                     contact_made(DEADLINE + days(2)))
    found = only(RULE, [before, response, late, later], "2026-03-20")
    assert found.evidence == (response, late)
    assert found.resolved_at == DEADLINE + days(1)


def test_a_late_follow_up_dated_within_the_7_days_takes_the_finding_back() -> None:
    """Reported open from the 9 Mar 09:14 deadline; a contact dated 5 Mar arrives afterwards: answered in time."""
    assert only(RULE, [nps()], "2026-03-20").resolved_at is None
    assert findings(RULE, [nps(), contact_made("2026-03-05")], "2026-03-20") == []


def test_the_account_is_judged_as_a_whole() -> None:
    assert findings(RULE, [nps(contact="c-17"), contact_made("2026-03-05", contact="c-99")], "2026-03-20") == []
    anonymous = only(RULE, [nps(contact=None)], "2026-03-20")
    assert anonymous.summary.startswith("Someone at the account gave an NPS score of 3")


def test_each_response_is_its_own_finding_and_one_follow_up_answers_both() -> None:
    first, second = nps(3), nps(5, "2026-03-04", contact="c-18")
    assert len(findings(RULE, [first, second], "2026-03-20")) == 2
    late = contact_made("2026-03-10")  # late for the first, in time for the second
    found = only(RULE, [first, second, late], "2026-03-20")
    assert found.key == f"test/{first.event_id}" and found.resolved_at == at("2026-03-10")


def test_the_score_the_delay_and_the_intents_are_thresholds() -> None:
    assert len(findings(RULE, [nps(7)], "2026-03-20", detractor_max_score=7)) == 1
    facts = [nps(), contact_made("2026-03-06")]
    assert only(RULE, facts, "2026-03-20", follow_up_days=3).detected_at == RESPONDED + days(3)
    assert findings(RULE, [nps(), outreach("2026-03-05", "follow_up")], "2026-03-20",
                    follow_up_intents=["check_in", "follow_up"]) == []
