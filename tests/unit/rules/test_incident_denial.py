"""`incident-denial`: a no-impact status statement while the account opens tickets about the incident."""

from __future__ import annotations

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, fact, findings, only

RULE = "incident-denial"


def started(when: str, incident: str = "INC-7") -> Fact:
    return fact("product.incident.started", when, incidentId=incident, severity="sev1")


def statement(when: str, impact: str = "none", incident: str = "INC-7") -> Fact:
    return fact("product.status.published", when, incidentId=incident, impact=impact, message="All systems go")


def ticket(when: str, ticket_id: str) -> Fact:
    return fact("support.ticket.opened", when, ticketId=ticket_id, priority="high")


def resolved(when: str, incident: str = "INC-7") -> Fact:
    return fact("product.incident.resolved", when, incidentId=incident)


def test_a_no_impact_statement_during_two_tickets_fires() -> None:
    facts = [started("2026-03-02 08:00"), ticket("2026-03-02 09:00", "T-1"), statement("2026-03-02 10:00"),
             ticket("2026-03-02 12:00", "T-2")]
    found = only(RULE, facts, "2026-03-03")
    assert found.severity == "HIGH"
    assert found.departments == ("product", "support")
    assert found.key == "INC-7"
    assert found.detected_at == at("2026-03-02 12:00")  # the 2nd ticket
    assert found.resolved_at is None
    assert found.evidence == tuple(facts[1:])
    assert found.summary == (
        "Product stated on 2 Mar 2026 that incident INC-7 had no impact, "
        "yet this account opened 2 support tickets during it (T-1, T-2)."
    )


def test_tickets_before_the_statement_make_it_true_at_the_statement() -> None:
    facts = [ticket("2026-03-02 09:00", "T-1"), ticket("2026-03-02 09:30", "T-2"), statement("2026-03-02 10:00")]
    assert only(RULE, facts, "2026-03-03").detected_at == at("2026-03-02 10:00")


@pytest.mark.parametrize("impact", ["degraded", "outage"])
def test_a_statement_admitting_impact_does_not_fire(impact: str) -> None:
    facts = [ticket("2026-03-02 09:00", "T-1"), ticket("2026-03-02 09:30", "T-2"), statement("2026-03-02 10:00", impact)]
    assert findings(RULE, facts, "2026-03-03") == []


def test_one_ticket_is_not_enough() -> None:
    assert findings(RULE, [ticket("2026-03-02 09:00", "T-1"), statement("2026-03-02 10:00")], "2026-03-03") == []


@pytest.mark.parametrize(("opened", "fires"), [("2026-03-01 10:00", True), ("2026-03-01 09:59", False)])
def test_without_a_start_the_window_opens_24_hours_before_the_statement(opened: str, fires: bool) -> None:
    facts = [ticket(opened, "T-1"), ticket("2026-03-02 09:00", "T-2"), statement("2026-03-02 10:00")]
    assert len(findings(RULE, facts, "2026-03-04")) == (1 if fires else 0)


@pytest.mark.parametrize(("opened", "fires"), [("2026-03-03 10:00", True), ("2026-03-03 10:01", False)])
def test_the_window_closes_24_hours_after_the_statement(opened: str, fires: bool) -> None:
    facts = [ticket("2026-03-02 09:00", "T-1"), statement("2026-03-02 10:00"), ticket(opened, "T-2")]
    assert len(findings(RULE, facts, "2026-03-04")) == (1 if fires else 0)


@pytest.mark.parametrize(("opened", "fires"), [("2026-02-27 08:00", True), ("2026-02-27 07:59", False)])
def test_with_a_start_the_window_opens_at_the_incident_start(opened: str, fires: bool) -> None:
    facts = [started("2026-02-27 08:00"), ticket(opened, "T-1"), ticket("2026-03-02 09:00", "T-2"),
             statement("2026-03-02 10:00")]
    assert len(findings(RULE, facts, "2026-03-04")) == (1 if fires else 0)


def test_another_incident_does_not_set_the_window_or_get_the_finding() -> None:
    facts = [started("2026-02-27 08:00", "INC-8"), ticket("2026-02-28", "T-1"), ticket("2026-03-02 09:00", "T-2"),
             statement("2026-03-02 10:00"), resolved("2026-03-03", "INC-8")]
    assert findings(RULE, facts, "2026-03-04") == []
    assert only(RULE, [*facts, statement("2026-03-02 11:00", incident="INC-8")], "2026-03-04").key == "INC-8"


def test_it_closes_when_the_incident_is_resolved() -> None:
    facts = [ticket("2026-03-02 09:00", "T-1"), ticket("2026-03-02 09:30", "T-2"), statement("2026-03-02 10:00"),
             resolved("2026-03-04 16:00")]
    assert only(RULE, facts, "2026-03-05").resolved_at == at("2026-03-04 16:00")
    assert only(RULE, facts, "2026-03-04 15:59").resolved_at is None
    assert findings(RULE, facts, "2026-03-02 09:59") == []  # as of before the statement


def test_a_resolution_before_the_second_ticket_means_it_never_held() -> None:
    """Resolved at 11:00, the 2nd ticket at 12:00 (within 24 hours of the 10:00 statement): never true."""
    facts = [started("2026-03-02 08:00"), ticket("2026-03-02 09:00", "T-1"), statement("2026-03-02 10:00"),
             resolved("2026-03-02 11:00"), ticket("2026-03-02 12:00", "T-2")]
    assert findings(RULE, facts, "2026-03-05") == []
    assert findings(RULE, facts, "2026-03-02 12:00") == []
    assert findings(RULE, facts, "2026-03-02 10:30") == []  # one ticket then


def test_a_statement_published_after_the_resolution_never_held() -> None:
    """Two tickets at 09:00 and 09:30, resolved at 10:00, the statement of no impact at 11:00."""
    facts = [started("2026-03-02 08:00"), ticket("2026-03-02 09:00", "T-1"), ticket("2026-03-02 09:30", "T-2"),
             resolved("2026-03-02 10:00"), statement("2026-03-02 11:00")]
    assert findings(RULE, facts, "2026-03-05") == []
    assert findings(RULE, facts, "2026-03-02 11:00") == []


@pytest.mark.parametrize(("resolved_at", "holds"), [("2026-03-02 12:00", False), ("2026-03-02 12:01", True)])
def test_a_resolution_at_the_instant_it_would_become_true_means_it_never_held(resolved_at: str, holds: bool) -> None:
    """The 2nd ticket at 12:00 makes it true; a resolution at 12:00 too comes first."""
    facts = [ticket("2026-03-02 09:00", "T-1"), statement("2026-03-02 10:00"), resolved(resolved_at),
             ticket("2026-03-02 12:00", "T-2")]
    found = findings(RULE, facts, "2026-03-05")
    assert [(each.detected_at, each.resolved_at) for each in found] == (
        [(at("2026-03-02 12:00"), at(resolved_at))] if holds else [])


def test_a_late_resolution_dated_before_the_second_ticket_takes_the_finding_back() -> None:
    """Reported open from 12:00; a resolution at 11:00 that arrives afterwards shows it never held."""
    facts = [ticket("2026-03-02 09:00", "T-1"), statement("2026-03-02 10:00"), ticket("2026-03-02 12:00", "T-2")]
    assert only(RULE, facts, "2026-03-05").resolved_at is None
    assert findings(RULE, [*facts, resolved("2026-03-02 11:00")], "2026-03-05") == []


def test_a_resolution_after_the_detection_closes_it_even_if_resolved_again() -> None:
    facts = [ticket("2026-03-02 09:00", "T-1"), statement("2026-03-02 10:00"), ticket("2026-03-02 12:00", "T-2"),
             resolved("2026-03-02 13:00"), resolved("2026-03-03 13:00")]
    assert only(RULE, facts, "2026-03-05").resolved_at == at("2026-03-02 13:00")


def test_another_incidents_resolution_does_not_close_it() -> None:
    facts = [ticket("2026-03-02 09:00", "T-1"), resolved("2026-03-02 09:30", "INC-8"), statement("2026-03-02 10:00"),
             ticket("2026-03-02 12:00", "T-2")]
    assert only(RULE, facts, "2026-03-05").resolved_at is None


def test_a_statement_with_fewer_than_2_tickets_in_its_own_window_is_not_evidence() -> None:
    quiet, repeated = statement("2026-03-01 10:00"), statement("2026-03-02 10:00")
    facts = [quiet, ticket("2026-03-02 09:00", "T-1"), repeated, ticket("2026-03-02 12:00", "T-2")]
    found = only(RULE, facts, "2026-03-03")
    assert found.detected_at == at("2026-03-02 12:00")  # the first statement's window ends before T-2
    assert found.evidence == (facts[1], repeated, facts[3])
    assert found.summary == (
        "Product stated on 2 Mar 2026 that incident INC-7 had no impact, "
        "yet this account opened 2 support tickets during it (T-1, T-2)."
    )


def test_several_qualifying_statements_make_one_finding_detected_at_the_earliest() -> None:
    """Both statements have T-1 and T-2 in their windows; each is evidence with its tickets."""
    first, second = statement("2026-03-02 10:00"), statement("2026-03-02 14:00")
    facts = [ticket("2026-03-02 09:00", "T-1"), first, ticket("2026-03-02 12:00", "T-2"), second,
             ticket("2026-03-03 13:00", "T-3")]
    found = only(RULE, facts, "2026-03-04")
    assert found.detected_at == at("2026-03-02 12:00")
    assert found.evidence == tuple(facts)  # T-3 is in the second statement's window only
    assert found.summary == (
        "Product stated on 2 Mar 2026 that incident INC-7 had no impact (and said so 1 more time), "
        "yet this account opened 3 support tickets during it (T-1, T-2, T-3)."
    )


def test_a_statement_that_would_qualify_only_after_the_resolution_is_not_evidence() -> None:
    """Held from 12:00 to the resolution at 13:00; the 18:00 statement came after it and joins nothing."""
    before, after = statement("2026-03-02 10:00"), statement("2026-03-02 18:00")
    facts = [ticket("2026-03-02 09:00", "T-1"), before, ticket("2026-03-02 12:00", "T-2"), resolved("2026-03-02 13:00"),
             after]
    found = only(RULE, facts, "2026-03-04")
    assert found.resolved_at == at("2026-03-02 13:00")
    assert after not in found.evidence and before in found.evidence


def test_the_window_and_the_count_are_thresholds() -> None:
    facts = [ticket("2026-03-01 11:00", "T-1"), statement("2026-03-02 10:00")]
    assert len(findings(RULE, facts, "2026-03-03", min_tickets=1)) == 1
    facts.append(ticket("2026-02-28 11:00", "T-0"))
    assert findings(RULE, facts, "2026-03-03") == []
    assert len(findings(RULE, facts, "2026-03-03", lookback_hours=48)) == 1
