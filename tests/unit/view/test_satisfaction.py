"""NPS and CSAT summary: latest score per contact, account NPS, CSAT average, detractors not followed up."""

from __future__ import annotations

from datetime import datetime

import pytest

from projections.facts import Fact
from projections.history import Timeline
from projections.view.model import ContactScore, Satisfaction
from projections.view.satisfaction import satisfaction
from tests.unit.rules.builders import ACCOUNT, at, days, fact

NOW = at("2026-06-01 12:00")


def of(facts: list[Fact], as_of: datetime = NOW) -> Satisfaction:
    return satisfaction(Timeline(ACCOUNT, sorted(facts, key=lambda each: each.order)), as_of)


def nps(when: datetime, score: int, contact: str | None = "c-1") -> Fact:
    return fact("marketing.nps.responded", when, contact, score=score, surveyId="S-1")


def csat(when: datetime, score: int) -> Fact:
    return fact("support.csat.recorded", when, score=score, ticketId="T-1")


def test_without_responses_nothing_is_known() -> None:
    assert of([]) == Satisfaction((), None, 0, 0, 0, 0, None, 0, 0)


def test_each_contact_counts_by_its_latest_response_newest_first() -> None:
    facts = [nps(NOW - days(50), 3, "c-1"), nps(NOW - days(10), 10, "c-1"), nps(NOW - days(20), 8, "c-2")]
    found = of(facts)
    assert found.latest_nps == (ContactScore("c-1", 10, NOW - days(10)), ContactScore("c-2", 8, NOW - days(20)))
    assert (found.promoters, found.passives, found.detractors) == (1, 1, 0)
    assert found.responses == 3
    assert found.nps == 50


def test_responses_without_a_contact_count_as_one_more_respondent() -> None:
    facts = [nps(NOW - days(30), 2, None), nps(NOW - days(5), 6, None), nps(NOW - days(10), 9, "c-1")]
    found = of(facts)
    assert found.latest_nps == (ContactScore(None, 6, NOW - days(5)), ContactScore("c-1", 9, NOW - days(10)))
    assert found.nps == 0


@pytest.mark.parametrize(("scores", "expected"), [
    ([9, 10, 7, 0], 25),
    ([0, 6, 8], -67),
    ([9, 9, 9, 9, 9, 9, 9, 8], 88),  # 87.5 rounds half to even
    ([9, 7, 7, 7, 7, 7, 7, 7], 12),  # 12.5 too
    ([9, 9, 9, 7, 7, 7, 7, 0], 25),
])
def test_nps_is_percent_promoters_minus_percent_detractors(scores: list[int], expected: int) -> None:
    facts = [nps(NOW - days(1), score, f"c-{n}") for n, score in enumerate(scores)]
    assert of(facts).nps == expected


def test_the_score_bands() -> None:
    facts = [nps(NOW - days(1), score, f"c-{score}") for score in range(11)]
    found = of(facts)
    assert (found.promoters, found.passives, found.detractors) == (2, 2, 7)


def test_only_the_last_365_days_count() -> None:
    facts = [nps(NOW - days(365), 0, "c-1"), nps(NOW - days(364), 10, "c-2"), csat(NOW - days(365), 1),
             csat(NOW - days(364), 5)]
    found = of(facts)
    assert [each.contact_id for each in found.latest_nps] == ["c-2"]
    assert (found.responses, found.nps) == (1, 100)
    assert (found.csat_average, found.csat_responses) == (5.0, 1)


def test_a_contact_whose_latest_response_is_older_counts_by_its_latest_within_the_year() -> None:
    facts = [nps(NOW - days(200), 2, "c-1"), nps(NOW - days(400), 10, "c-1")]
    assert of(facts).latest_nps == (ContactScore("c-1", 2, NOW - days(200)),)


def test_csat_average_is_rounded_to_two_decimals() -> None:
    assert of([csat(NOW - days(1), score) for score in (5, 4, 4)]).csat_average == 4.33
    assert of([csat(NOW - days(1), score) for score in (5, 4, 4, 4, 4, 4, 4, 4)]).csat_average == 4.12  # 4.125


def followed(response: Fact, *later: Fact) -> int:
    return of([response, *later]).detractors_not_followed_up


def test_a_detractor_with_no_follow_up_counts() -> None:
    assert followed(nps(NOW - days(1), 6)) == 1


def test_a_passive_or_promoter_needs_no_follow_up() -> None:
    assert followed(nps(NOW - days(1), 7)) == 0


def test_a_support_contact_at_or_after_the_response_follows_it_up() -> None:
    response = nps(NOW - days(10), 3)
    assert followed(response, fact("support.contact.made", NOW - days(10), channel="call")) == 0
    assert followed(response, fact("support.contact.made", NOW - days(2), "c-9", channel="email")) == 0
    assert followed(response, fact("support.contact.made", NOW - days(11), channel="call")) == 1


def test_a_check_in_from_sales_follows_it_up_but_other_outreach_does_not() -> None:
    response = nps(NOW - days(10), 3)
    assert followed(response, fact("sales.outreach.sent", NOW - days(9), channel="call", intent="check_in")) == 0
    assert followed(response, fact("sales.outreach.sent", NOW - days(9), channel="call", intent="upsell")) == 1


def test_every_detractor_response_counts_not_only_the_latest() -> None:
    facts = [nps(NOW - days(20), 2, "c-1"), nps(NOW - days(10), 9, "c-1"), nps(NOW - days(400), 0, "c-2")]
    assert of(facts).detractors_not_followed_up == 1
    contact = fact("support.contact.made", NOW - days(15), channel="call")
    assert of([*facts, contact]).detractors_not_followed_up == 0


def test_a_follow_up_after_the_view_moment_does_not_count() -> None:
    facts = [nps(NOW - days(10), 3), fact("support.contact.made", NOW + days(1), channel="call")]
    assert of(facts).detractors_not_followed_up == 1
