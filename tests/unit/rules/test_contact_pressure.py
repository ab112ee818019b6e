"""`contact-pressure`: more than 6 outbound touches within 7 days, from at least 2 departments."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, days, fact, findings, next_change, only

RULE = "contact-pressure"

AFTER = timedelta(microseconds=1)


def touch(department: str, when: datetime | str) -> Fact:
    if department == "marketing":
        return fact("marketing.campaign.sent", when, campaignId="SPRING-26", channel="email", intent="nurture")
    if department == "sales":
        return fact("sales.outreach.sent", when, channel="email", intent="follow_up")
    if department == "support":
        return fact("support.contact.made", when, channel="call", reason="onboarding")
    return fact("billing.dunning.sent", when, invoiceId="INV-7", level=1)


def daily(start: str, departments: list[str]) -> list[Fact]:
    """One touch a day from `start`, by the given departments in turn."""
    return [touch(department, at(start) + days(n)) for n, department in enumerate(departments)]


SEVEN = ["marketing", "sales"] * 3 + ["marketing"]  # 2 Mar .. 8 Mar, 09:00


def test_a_seventh_touch_within_7_days_from_two_departments_fires() -> None:
    touches = daily("2026-03-02 09:00", SEVEN)
    found = only(RULE, touches, "2026-03-08 12:00")
    assert found.severity == "MEDIUM"
    assert found.departments == ("marketing", "sales")
    assert found.key == f"test/{touches[0].event_id}"
    assert found.detected_at == at("2026-03-08 09:00")
    assert found.resolved_at is None
    assert found.evidence == tuple(touches)
    assert found.summary == (
        "Marketing and sales sent the account 7 outbound touches between 2 Mar 2026 and 8 Mar 2026, "
        "more than 6 within 7 days."
    )


def test_it_closes_just_after_the_first_touch_leaves_the_window() -> None:
    touches = daily("2026-03-02 09:00", SEVEN)
    assert next_change(touches, "2026-03-08 12:00") == at("2026-03-09 09:00") + AFTER
    assert only(RULE, touches, "2026-03-09 09:00").resolved_at is None
    assert only(RULE, touches, "2026-03-09 09:01").resolved_at == at("2026-03-09 09:00") + AFTER


def test_as_of_before_the_seventh_touch_nothing() -> None:
    assert findings(RULE, daily("2026-03-02 09:00", SEVEN), "2026-03-08 08:59") == []


def test_six_touches_do_not_fire() -> None:
    assert findings(RULE, daily("2026-03-02 09:00", SEVEN[:6]), "2026-03-10") == []


@pytest.mark.parametrize(("last", "fires"), [("2026-03-09 09:00", True), ("2026-03-09 09:01", False)])
def test_the_window_is_7_days_with_both_ends_included(last: str, fires: bool) -> None:
    touches = [*daily("2026-03-02 09:00", SEVEN[:6]), touch("marketing", last)]
    assert len(findings(RULE, touches, "2026-03-20")) == int(fires)


def test_touches_from_one_department_alone_do_not_fire() -> None:
    assert findings(RULE, daily("2026-03-02 09:00", ["marketing"] * 10), "2026-03-20") == []


@pytest.mark.parametrize(("sales", "fires"), [("2026-03-01 12:00", True), ("2026-03-01 11:59", False)])
def test_the_second_department_must_be_in_the_window(sales: str, fires: bool) -> None:
    touches = [touch("sales", sales), *(touch("marketing", "2026-03-08 12:00") for _ in range(7))]
    assert len(findings(RULE, touches, "2026-03-20")) == int(fires)


def test_other_events_are_not_outbound_touches() -> None:
    others = [
        fact("marketing.engagement.recorded", "2026-03-08 10:00", campaignId="SPRING-26", channel="email", action="open"),
        fact("support.ticket.opened", "2026-03-08 10:00", ticketId="T-1", priority="low"),
        fact("billing.service.suspended", "2026-03-08 10:00"),
    ]
    assert findings(RULE, [*daily("2026-03-02 09:00", SEVEN[:6]), *others], "2026-03-20") == []


def test_it_is_detected_when_a_second_department_joins_the_burst() -> None:
    marketing = daily("2026-03-02 09:00", ["marketing"] * 7)
    billing = touch("billing", "2026-03-08 18:00")
    found = only(RULE, [*marketing, billing], "2026-03-20")
    assert found.key == f"test/{marketing[0].event_id}"
    assert found.detected_at == at("2026-03-08 18:00")
    assert found.departments == ("marketing", "billing")
    assert found.summary.startswith("Marketing and billing sent the account 8 outbound touches between 2 Mar")


def test_touches_in_the_burst_extend_it_and_every_department_is_named() -> None:
    touches = [*daily("2026-03-02 09:00", SEVEN), touch("support", "2026-03-08 10:00"), touch("billing", "2026-03-09")]
    found = only(RULE, touches, "2026-03-20")
    assert found.departments == ("marketing", "sales", "support", "billing")
    assert found.resolved_at == at("2026-03-11 09:00") + AFTER  # 6 touches are left once the 4 Mar one leaves
    assert len(found.evidence) == 9
    assert found.summary.startswith("Marketing, sales, support and billing sent the account 9 outbound touches")


def test_a_touch_after_the_burst_ends_is_not_evidence_and_a_later_burst_is_another_finding() -> None:
    first = daily("2026-03-02 09:00", SEVEN)
    after = touch("sales", "2026-03-10 12:00")  # 6 touches in its window
    second = daily("2026-03-20 09:00", SEVEN)
    found = findings(RULE, [*first, after, *second], "2026-04-10")
    assert [each.key for each in found] == [f"test/{first[0].event_id}", f"test/{second[0].event_id}"]
    assert found[0].evidence == tuple(first)


def test_the_thresholds_can_be_changed() -> None:
    touches = daily("2026-03-02 09:00", ["marketing"] * 8)
    assert findings(RULE, touches, "2026-03-20", min_departments=1, max_touches=7) != []
    assert findings(RULE, touches[:7], "2026-03-20", min_departments=1, max_touches=7) == []
    assert findings(RULE, touches[:7], "2026-03-20", min_departments=1, window_days=5) == []


def test_a_count_that_falls_back_and_rises_again_starts_a_new_burst() -> None:
    first = daily("2026-03-02 09:00", SEVEN)
    again = touch("sales", "2026-03-09 12:00")  # 7 again, 3 hours after the count fell back to 6
    found = findings(RULE, [*first, again], "2026-04-10")
    assert [each.key for each in found] == [f"test/{first[0].event_id}", f"test/{first[1].event_id}"]
    assert [each.resolved_at for each in found] == [at("2026-03-09 09:00") + AFTER, at("2026-03-10 09:00") + AFTER]
    assert found[1].evidence == (*first[1:], again)


def test_a_burst_that_never_ends_keeps_its_first_and_latest_touches_as_evidence_and_counts_them_all() -> None:
    """Differs from the spec (every touch): a year of daily touches is one burst; its evidence stays bounded."""
    touches = daily("2026-01-05 09:00", ["marketing", "sales"] * 100 + ["support"])  # 201 days, never 6 or fewer
    found = only(RULE, touches, "2026-07-24 10:00")
    assert found.resolved_at is None
    assert found.evidence == (*touches[:20], *touches[-80:])
    assert found.departments == ("marketing", "sales", "support")  # the support touch is evidence as one of the latest
    assert found.summary == (
        "Marketing, sales and support sent the account 201 outbound touches between 5 Jan 2026 and 24 Jul 2026, "
        "more than 6 within 7 days (the evidence shows 100 of them: the first and the latest)."
    )
    few = only(RULE, touches, "2026-07-24 10:00", evidence_first=0, evidence_latest=0)
    assert few.evidence == (touches[0],)  # the first touch, the finding's key, always
    assert few.departments == ("marketing", "sales", "support") and few.summary.startswith("Marketing, sales and "
                                                                                           "support sent the account 201")


def test_a_department_seen_only_in_the_middle_of_a_long_burst_is_still_named() -> None:
    touches = daily("2026-01-05 09:00", ["marketing", "sales"] * 30)
    touches[30] = touch("billing", touches[30].occurred_at)
    found = only(RULE, touches, "2026-03-10 10:00", evidence_first=5, evidence_latest=5)
    assert touches[30] not in found.evidence and len(found.evidence) == 10
    assert found.departments == ("marketing", "sales", "billing")
