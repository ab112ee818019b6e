"""`collections-during-payment-plan`: a collections action while a payment plan is in force."""

from __future__ import annotations

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, fact, findings, next_change, only

RULE = "collections-during-payment-plan"


def plan(when: str, until: str = "2026-03-31") -> Fact:
    return fact("billing.payment_plan.granted", when, until=until, terms="3 monthly instalments")


def dunning(when: str, level: int = 2) -> Fact:
    return fact("billing.dunning.sent", when, invoiceId="INV-7", level=level)


def suspension(when: str) -> Fact:
    return fact("billing.service.suspended", when, reason="non_payment")


def test_a_dunning_notice_during_a_payment_plan_fires() -> None:
    granted, notice = plan("2026-03-01 10:00"), dunning("2026-03-05 09:00")
    found = only(RULE, [granted, notice], "2026-03-10")
    assert found.severity == "HIGH"
    assert found.departments == ("billing",)
    assert found.key == f"test/{granted.event_id}"
    assert found.detected_at == at("2026-03-05 09:00")
    assert found.resolved_at is None
    assert found.evidence == (granted, notice)
    assert found.summary == (
        "Billing sent a level 2 dunning notice for invoice INV-7 on 5 Mar 2026 although it had granted "
        "a payment plan on 1 Mar 2026 running until 31 Mar 2026."
    )


def test_a_suspension_during_a_payment_plan_fires() -> None:
    found = only(RULE, [plan("2026-03-01"), suspension("2026-03-12")], "2026-03-20")
    assert found.summary.startswith("Billing suspended the service on 12 Mar 2026 although")


def test_other_billing_events_are_not_collections_actions() -> None:
    others = [
        fact("billing.invoice.issued", "2026-03-05", invoiceId="INV-8", amount="100", currency="EUR", dueAt="2026-04-01"),
        fact("billing.payment.failed", "2026-03-06", invoiceId="INV-7"),
    ]
    assert findings(RULE, [plan("2026-03-01"), *others], "2026-03-20") == []


@pytest.mark.parametrize(("when", "fires"), [("2026-03-01 09:59", False), ("2026-03-01 10:00", True)])
def test_the_plan_is_in_force_from_its_occurred_at(when: str, fires: bool) -> None:
    assert len(findings(RULE, [plan("2026-03-01 10:00"), dunning(when)], "2026-03-20")) == int(fires)


@pytest.mark.parametrize(("when", "fires"), [("2026-03-31 23:59", True), ("2026-04-01 00:01", False)])
def test_a_plain_date_until_runs_to_the_end_of_that_day(when: str, fires: bool) -> None:
    assert len(findings(RULE, [plan("2026-03-01"), dunning(when)], "2026-04-10")) == int(fires)


@pytest.mark.parametrize(("when", "fires"), [("2026-03-20 09:59", True), ("2026-03-20 10:01", False)])
def test_a_date_time_until_is_an_instant_with_its_offset(when: str, fires: bool) -> None:
    facts = [plan("2026-03-01", until="2026-03-20T12:00:00+02:00"), dunning(when)]
    assert len(findings(RULE, facts, "2026-04-10")) == int(fires)


@pytest.mark.parametrize(("until", "action"), [("2026-03-31", "2026-04-01 00:00"),
                                                ("2026-03-20T12:00:00+02:00", "2026-03-20 10:00")])
def test_an_action_alone_at_the_instant_the_plan_ends_means_it_never_held(until: str, action: str) -> None:
    """The plan runs until `action` (the end of 31 Mar; 12:00 at +02:00): its end comes with the action."""
    facts = [plan("2026-03-01", until=until), dunning(action)]
    assert findings(RULE, facts, "2026-04-10") == []
    assert findings(RULE, facts, action) == []


def test_a_late_earlier_action_opens_the_finding_and_the_one_at_the_end_joins_it() -> None:
    """Plan until 31 Mar: a dunning at its end (1 Apr 00:00) alone is none; one of 10 Mar arriving late opens it."""
    granted, at_the_end, earlier = plan("2026-03-01"), dunning("2026-04-01 00:00", 3), dunning("2026-03-10")
    assert findings(RULE, [granted, at_the_end], "2026-04-10") == []
    found = only(RULE, [granted, at_the_end, earlier], "2026-04-10")
    assert (found.detected_at, found.resolved_at) == (at("2026-03-10"), at("2026-04-01"))
    assert found.evidence == (granted, earlier, at_the_end)


def test_it_closes_at_the_plans_until_and_later_actions_join_while_in_force() -> None:
    facts = [plan("2026-03-01"), dunning("2026-03-05"), suspension("2026-03-20"), dunning("2026-04-02", 3)]
    found = only(RULE, facts, "2026-04-10")
    assert found.resolved_at == at("2026-04-01")
    assert len(found.evidence) == 3
    assert found.summary.endswith("; 1 more collections action followed during the plan.")


def test_as_of_before_the_first_action_nothing_and_before_the_until_open() -> None:
    facts = [plan("2026-03-01"), dunning("2026-03-05")]
    assert findings(RULE, facts, "2026-03-04") == []
    assert only(RULE, facts, "2026-03-31 23:59").resolved_at is None
    assert next_change(facts, "2026-03-10") == at("2026-04-01")


def test_the_summary_names_the_day_of_a_date_time_until() -> None:
    found = only(RULE, [plan("2026-03-01", until="2026-03-20T12:00:00Z"), dunning("2026-03-05")], "2026-03-10")
    assert "running until 20 Mar 2026." in found.summary


def test_each_plan_is_its_own_finding() -> None:
    facts = [plan("2026-03-01"), plan("2026-03-03", until="2026-04-30"), dunning("2026-03-05")]
    assert len({each.id for each in findings(RULE, facts, "2026-03-10")}) == 2
