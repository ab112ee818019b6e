"""`upsell-to-detractor`: an upsell push within 30 days after an NPS score of 0-6."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, days, fact, findings, next_change, only, tied

RULE = "upsell-to-detractor"

RESPONDED = at("2026-03-02 09:14")


def nps(score: int, when: datetime | str = RESPONDED, contact: str | None = "c-17") -> Fact:
    return fact("marketing.nps.responded", when, contact, score=score, surveyId="S-1")


def outreach(when: datetime | str, intent: str = "upsell", contact: str | None = None) -> Fact:
    return fact("sales.outreach.sent", when, contact, channel="email", intent=intent)


def campaign(when: datetime | str, intent: str = "upsell") -> Fact:
    return fact("marketing.campaign.sent", when, campaignId="C-9", channel="email", intent=intent)


def opportunity(when: datetime | str, kind: str = "expansion") -> Fact:
    return fact("sales.opportunity.opened", when, opportunityId="O-1", kind=kind, amount="5000", currency="EUR")


@pytest.mark.parametrize(
    ("push", "departments", "words"),
    [
        (outreach("2026-03-10"), ("marketing", "sales"), "Sales sent an upsell outreach"),
        (campaign("2026-03-10"), ("marketing",), "Marketing sent the upsell email campaign C-9"),
        (opportunity("2026-03-10"), ("marketing", "sales"), "Sales opened an expansion opportunity of 5000 EUR"),
    ],
)
def test_an_upsell_push_after_a_detractor_response_fires(push: Fact, departments: tuple[str, ...], words: str) -> None:
    response = nps(3)
    found = only(RULE, [response, push], "2026-03-12")
    assert found.severity == "MEDIUM"
    assert found.departments == departments
    assert found.key == f"{response.source}/{response.event_id}"
    assert found.detected_at == at("2026-03-10")
    assert found.resolved_at is None
    assert found.evidence == (response, push)
    assert found.summary == f"{words} on 10 Mar 2026 after contact c-17 gave an NPS score of 3 on 2 Mar 2026."


@pytest.mark.parametrize(("score", "fires"), [(0, True), (6, True), (7, False), (10, False)])
def test_only_scores_of_0_to_6_are_detractors(score: int, fires: bool) -> None:
    assert len(findings(RULE, [nps(score), outreach("2026-03-10")], "2026-03-12")) == (1 if fires else 0)


@pytest.mark.parametrize(
    ("offset", "fires"),
    [(-timedelta(minutes=1), False), (days(0), True), (days(30) - timedelta(minutes=1), True),
     (days(30) + timedelta(minutes=1), False)],
)
def test_the_push_must_come_within_30_days_after_the_response(offset: timedelta, fires: bool) -> None:
    facts = [nps(3), outreach(RESPONDED + offset)]
    assert len(findings(RULE, facts, "2026-05-01")) == (1 if fires else 0)


def test_a_push_alone_30_days_after_the_response_never_held_but_joins_an_open_finding() -> None:
    """Score 3 on 2 Mar 09:14; a push on 1 Apr 09:14, the instant the window closes."""
    at_the_end = campaign(RESPONDED + days(30))
    assert findings(RULE, [nps(3), at_the_end], "2026-05-01") == []
    assert findings(RULE, [nps(3), at_the_end], RESPONDED + days(30)) == []
    earlier = outreach("2026-03-10")
    assert only(RULE, [nps(3), earlier, at_the_end], "2026-05-01").evidence[1:] == (earlier, at_the_end)


@pytest.mark.parametrize("promoter_first", [True, False])
def test_a_response_of_7_or_more_at_the_instant_of_the_detractor_response_answers_it(promoter_first: bool) -> None:
    """Scores 3 and 9 both at 2 Mar 09:14, in either order of the tie; pushes at that instant and later."""
    detractor, promoter = nps(3), nps(9, contact="c-18")
    pair = (promoter, detractor) if promoter_first else (detractor, promoter)
    assert findings(RULE, [*tied(*pair), outreach(RESPONDED), outreach("2026-03-10")], "2026-03-12") == []


def test_a_late_response_of_7_or_more_dated_before_the_push_takes_the_finding_back() -> None:
    """Reported open from the push on 10 Mar; a score of 8 dated 5 Mar that arrives afterwards clears the detractor."""
    facts = [nps(3), outreach("2026-03-10")]
    assert only(RULE, facts, "2026-03-12").resolved_at is None
    assert findings(RULE, [*facts, nps(8, "2026-03-05", contact="c-18")], "2026-03-12") == []


@pytest.mark.parametrize(
    "push",
    [outreach("2026-03-10", "check_in"), outreach("2026-03-10", "renewal"), campaign("2026-03-10", "retention"),
     campaign("2026-03-10", "nurture"), opportunity("2026-03-10", "renewal"), opportunity("2026-03-10", "new")],
)
def test_other_intents_and_kinds_are_not_upsell_pushes(push: Fact) -> None:
    assert findings(RULE, [nps(3), push], "2026-03-12") == []


@pytest.mark.parametrize("score", [7, 10])
def test_a_response_of_7_or_more_in_between_clears_the_detractor(score: int) -> None:
    facts = [nps(3), nps(score, "2026-03-05", contact="c-18"), outreach("2026-03-10")]
    assert findings(RULE, facts, "2026-03-12") == []


def test_a_push_at_the_instant_of_the_recovery_no_longer_counts() -> None:
    assert findings(RULE, [nps(3), nps(8, "2026-03-10"), outreach("2026-03-10")], "2026-03-12") == []


def test_it_closes_at_the_next_response_of_7_or_more() -> None:
    push, recovery, after = outreach("2026-03-10"), nps(9, "2026-03-15"), outreach("2026-03-20")
    facts = [nps(3), push, recovery, after]
    found = only(RULE, facts, "2026-03-25")
    assert found.resolved_at == at("2026-03-15")
    assert push in found.evidence and recovery not in found.evidence and after not in found.evidence
    assert only(RULE, facts, "2026-03-14").resolved_at is None


def test_it_closes_30_days_after_the_response_and_later_pushes_join_it() -> None:
    facts = [nps(3), outreach("2026-03-10"), campaign("2026-03-20")]
    found = only(RULE, facts, "2026-05-01")
    assert found.resolved_at == RESPONDED + days(30)
    assert found.departments == ("marketing", "sales")
    assert found.summary.endswith("; 1 more upsell push followed within 30 days of that response.")
    assert only(RULE, facts, "2026-04-01 09:13").resolved_at is None
    assert next_change(facts, "2026-03-21") == RESPONDED + days(30)
    assert only(RULE, facts[:2], "2026-03-12").id == found.id


def test_as_of_before_the_push_nothing() -> None:
    assert findings(RULE, [nps(3), outreach("2026-03-10")], "2026-03-09") == []


def test_another_detractor_response_is_its_own_finding_sharing_the_push() -> None:
    first, second, push = nps(3), nps(5, "2026-03-05", contact="c-18"), outreach("2026-03-10")
    found = findings(RULE, [first, second, push], "2026-03-12")
    assert sorted(each.key for each in found) == sorted(f"test/{each.event_id}" for each in (first, second))
    assert all(push in each.evidence for each in found)


def test_the_account_is_judged_as_a_whole() -> None:
    found = only(RULE, [nps(3, contact="c-17"), outreach("2026-03-10", contact="c-99")], "2026-03-12")
    assert "contact c-17" in found.summary
    anonymous = only(RULE, [nps(3, contact=None), outreach("2026-03-10")], "2026-03-12")
    assert "after someone at the account gave an NPS score of 3" in anonymous.summary


def test_the_detractor_score_and_the_window_are_thresholds() -> None:
    assert len(findings(RULE, [nps(7), outreach("2026-03-10")], "2026-03-12", detractor_max_score=7)) == 1
    facts = [nps(3), outreach("2026-03-20")]
    assert findings(RULE, facts, "2026-05-01", window_days=14) == []
    assert only(RULE, facts, "2026-05-01", window_days=20).resolved_at == RESPONDED + days(20)
    assert len(findings(RULE, [nps(3), outreach("2026-03-10", "renewal")], "2026-03-12",
                        upsell_outreach_intents=["upsell", "renewal"])) == 1
