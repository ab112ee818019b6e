"""`sales-pressure-during-escalation`: a sales push while a serious ticket is open."""

from __future__ import annotations

from datetime import datetime

import pytest

from projections.facts import Fact
from projections.thresholds import ThresholdError, thresholds_from
from tests.unit.rules.builders import at, days, fact, findings, only, tied

RULE = "sales-pressure-during-escalation"


def opened(when: str, priority: str = "urgent", ticket: str = "T-4411") -> Fact:
    return fact("support.ticket.opened", when, ticketId=ticket, priority=priority)


def outreach(when: datetime | str, intent: str = "renewal") -> Fact:
    return fact("sales.outreach.sent", when, channel="email", intent=intent)


def resolved(when: str, ticket: str = "T-4411") -> Fact:
    return fact("support.ticket.resolved", when, ticketId=ticket)


@pytest.mark.parametrize("intent", ["prospecting", "upsell", "renewal"])
def test_a_push_during_an_urgent_ticket_fires(intent: str) -> None:
    ticket, push = opened("2026-03-02 09:14"), outreach("2026-03-05 10:00", intent)
    found = only(RULE, [ticket, push], "2026-03-10")
    assert found.severity == "HIGH"
    assert found.departments == ("sales", "support")
    assert found.detected_at == at("2026-03-05 10:00")
    assert found.resolved_at is None
    assert [each.position for each in found.evidence] == [ticket.position, push.position]
    assert found.summary == (
        f"Sales sent {'an' if intent == 'upsell' else 'a'} {intent} outreach on 5 Mar 2026 while urgent ticket T-4411 was open (since 2 Mar 2026)."
    )


@pytest.mark.parametrize("kind", ["expansion", "renewal"])
def test_an_expansion_or_renewal_opportunity_is_a_push(kind: str) -> None:
    push = fact("sales.opportunity.opened", "2026-03-03", opportunityId="O-1", kind=kind, amount="5000", currency="EUR")
    found = only(RULE, [opened("2026-03-02"), push], "2026-03-10")
    assert f"{'an' if kind == 'expansion' else 'a'} {kind} opportunity of 5000 EUR" in found.summary


def test_a_new_business_opportunity_and_a_check_in_are_not_pushes() -> None:
    new = fact("sales.opportunity.opened", "2026-03-03", opportunityId="O-1", kind="new", amount="5000", currency="EUR")
    check_in = outreach("2026-03-04", "check_in")
    follow_up = outreach("2026-03-04", "follow_up")
    assert findings(RULE, [opened("2026-03-02"), new, check_in, follow_up], "2026-03-10") == []


@pytest.mark.parametrize("priority", ["low", "normal"])
def test_a_push_during_an_ordinary_ticket_does_not_fire(priority: str) -> None:
    assert findings(RULE, [opened("2026-03-02", priority), outreach("2026-03-03")], "2026-03-10") == []


def test_an_escalated_ticket_of_any_priority_is_serious_from_its_escalation() -> None:
    ticket = opened("2026-03-02", "low")
    before = outreach("2026-03-03")
    escalation = fact("support.ticket.escalated", "2026-03-04", ticketId="T-4411", level="2")
    after = outreach("2026-03-05")
    found = only(RULE, [ticket, before, escalation, after], "2026-03-10")
    assert found.detected_at == at("2026-03-05")
    assert before not in found.evidence and escalation in found.evidence
    assert "escalated ticket T-4411" in found.summary


def test_pushes_before_the_opening_or_after_the_resolution_do_not_fire() -> None:
    facts = [outreach("2026-03-01"), opened("2026-03-02"), resolved("2026-03-04"), outreach("2026-03-04")]
    assert findings(RULE, facts, "2026-03-10") == []


def test_it_closes_when_the_ticket_is_resolved_and_later_pushes_join_while_open() -> None:
    facts = [opened("2026-03-02"), outreach("2026-03-03"), outreach("2026-03-04", "upsell"), resolved("2026-03-06")]
    found = only(RULE, facts, "2026-03-10")
    assert found.resolved_at == at("2026-03-06")
    assert len(found.evidence) == 3
    assert found.summary.endswith("; 1 more sales push followed while it was open.")
    assert only(RULE, facts, "2026-03-05").resolved_at is None  # as of before the resolution


def test_a_reopened_ticket_with_a_new_push_reopens_the_same_finding() -> None:
    first = [opened("2026-03-02"), outreach("2026-03-03"), resolved("2026-03-06")]
    reopened = [fact("support.ticket.reopened", "2026-03-08", ticketId="T-4411"), outreach("2026-03-09")]
    before, after = only(RULE, first, "2026-03-10"), only(RULE, first + reopened, "2026-03-10")
    assert after.id == before.id and after.resolved_at is None
    assert only(RULE, first + reopened[:1], "2026-03-10").resolved_at == at("2026-03-06")


def reopened(when: str, ticket: str = "T-4411") -> Fact:
    return fact("support.ticket.reopened", when, ticketId=ticket)


@pytest.mark.parametrize("resolved_first", [True, False])
def test_a_ticket_opened_and_resolved_at_one_instant_was_never_open(resolved_first: bool) -> None:
    """Opened and resolved both at 2 Mar 09:00, in either order of the tie; pushes then and on 3 Mar."""
    pair = (resolved("2026-03-02 09:00"), opened("2026-03-02 09:00"))
    facts = [*tied(*(pair if resolved_first else pair[::-1])), outreach("2026-03-02 09:00"), outreach("2026-03-03")]
    assert findings(RULE, facts, "2026-03-10") == []


@pytest.mark.parametrize("resolved_first", [True, False])
def test_a_ticket_resolved_and_reopened_at_one_instant_is_open_again(resolved_first: bool) -> None:
    """Open since 2 Mar, resolved and reopened both at 4 Mar 09:00, in either order of the tie; a push on 5 Mar."""
    pair = (resolved("2026-03-04 09:00"), reopened("2026-03-04 09:00"))
    facts = [opened("2026-03-02"), *tied(*(pair if resolved_first else pair[::-1])), outreach("2026-03-05")]
    found = only(RULE, facts, "2026-03-10")
    assert (found.detected_at, found.resolved_at) == (at("2026-03-05"), None)


def test_a_late_resolution_dated_at_the_opening_takes_the_finding_back() -> None:
    """Reported open from the push on 3 Mar; a resolution dated at the opening (2 Mar 09:00) arrives afterwards.

    The resolution is ordered first in the tie: it must still close the stretch opened at its instant.
    """
    late, opening = tied(resolved("2026-03-02 09:00"), opened("2026-03-02 09:00"))
    facts = [opening, outreach("2026-03-03")]
    assert only(RULE, facts, "2026-03-10").resolved_at is None
    assert findings(RULE, [*facts, late], "2026-03-10") == []


def test_the_evidence_is_the_opening_escalations_reopenings_and_pushes_while_open_and_serious() -> None:
    """Low priority, escalated on 3 Mar, resolved on 5 Mar, reopened on 8 Mar: pushes on 4 and 9 Mar count."""
    ticket, escalation = opened("2026-03-02", "low"), fact("support.ticket.escalated", "2026-03-03", ticketId="T-4411")
    counted, again = [outreach("2026-03-04"), outreach("2026-03-09")], reopened("2026-03-08")
    not_counted = [outreach("2026-03-02 12:00"), outreach("2026-03-06")]  # before serious; while resolved
    facts = [ticket, not_counted[0], escalation, counted[0], resolved("2026-03-05"), not_counted[1], again, counted[1]]
    assert only(RULE, facts, "2026-03-10").evidence == (ticket, escalation, counted[0], again, counted[1])


def test_each_ticket_is_its_own_finding() -> None:
    facts = [opened("2026-03-02", ticket="T-1"), opened("2026-03-02", "high", ticket="T-2"), outreach("2026-03-03")]
    assert len({each.id for each in findings(RULE, facts, "2026-03-10")}) == 2


def test_serious_priorities_are_a_threshold() -> None:
    facts = [opened("2026-03-02", "normal"), outreach("2026-03-03")]
    assert len(findings(RULE, facts, "2026-03-10", serious_priorities=["normal", "high", "urgent"])) == 1


EPISODE = [opened("2026-03-02 09:00"), outreach("2026-03-03 09:00"), resolved("2026-03-06 09:00")]  # horizon 5 Apr 09:00


def test_a_push_in_a_reopening_within_30_days_of_the_resolution_reopens_the_same_finding() -> None:
    again = [reopened("2026-04-01 09:00"), outreach("2026-04-02 09:00")]
    before, after = only(RULE, EPISODE, "2026-04-03"), only(RULE, EPISODE + again, "2026-04-03")
    assert (after.id, after.resolved_at, after.detected_at) == (before.id, None, at("2026-03-03 09:00"))
    assert after.evidence == (*EPISODE[:2], *again)


def test_a_push_more_than_30_days_after_the_resolution_opens_a_new_finding() -> None:
    """Reopened on 1 Apr (within the horizon: it joins the old finding), pushed on 5 Apr 09:01 (after it)."""
    again, push = reopened("2026-04-01 09:00"), outreach("2026-04-05 09:01", "upsell")
    old, new = findings(RULE, [*EPISODE, again, push], "2026-04-10")
    assert old == only(RULE, [*EPISODE, again], "2026-04-10")  # resolved and unchanged by the push
    assert (old.key, old.resolved_at, old.evidence) == ("T-4411", at("2026-03-06 09:00"), (*EPISODE[:2], again))
    assert new.key == f"T-4411@{push.source}/{push.event_id}" and new.id != old.id
    assert (new.detected_at, new.resolved_at, new.evidence) == (push.occurred_at, None, (again, push))
    assert new.summary == "Sales sent an upsell outreach on 5 Apr 2026 while urgent ticket T-4411 was open (since 1 Apr 2026)."


def test_events_after_the_horizon_join_only_the_new_finding() -> None:
    """Reopened on 20 Apr, escalated on 21 Apr, pushed on 22 Apr: the old finding keeps its evidence."""
    later = [reopened("2026-04-20"), fact("support.ticket.escalated", "2026-04-21", ticketId="T-4411"),
             outreach("2026-04-22")]
    old, new = findings(RULE, EPISODE + later, "2026-05-01")
    assert old.evidence == tuple(EPISODE[:2]) and new.evidence == tuple(later)
    assert findings(RULE, EPISODE + later[:2], "2026-05-01") == [old]  # no push after the horizon: no new finding
    assert new.summary.endswith("was open (since 20 Apr 2026).")


def test_a_push_exactly_30_days_after_the_resolution_still_reopens_it() -> None:
    """The ticket reopened within the horizon; the push at 5 Apr 09:00, the horizon itself."""
    facts = [*EPISODE, reopened("2026-04-04"), outreach("2026-04-05 09:00")]
    found = only(RULE, facts, "2026-04-10")
    assert (found.key, found.resolved_at, len(found.evidence)) == ("T-4411", None, 4)


def test_a_reopening_exactly_at_the_horizon_joins_the_old_finding() -> None:
    """Reopened at 5 Apr 09:00 with a push then (it reopens the finding), or pushed only on 6 Apr (a new one)."""
    again = reopened("2026-04-05 09:00")
    facts = [*EPISODE, again, outreach("2026-04-05 09:00")]
    assert only(RULE, facts, "2026-04-10").evidence == tuple(facts[:2] + facts[3:])
    old, new = findings(RULE, [*EPISODE, again, push := outreach("2026-04-06")], "2026-04-10")
    assert (old.evidence, new.evidence) == ((*EPISODE[:2], again), (again, push))


def test_a_ticket_escalated_before_the_horizon_is_still_serious_after_it() -> None:
    """A low ticket escalated on 3 Mar, pushed, resolved on 6 Mar; reopened on 1 Jun and pushed: a new finding."""
    escalation, push = fact("support.ticket.escalated", "2026-03-03", ticketId="T-4411"), outreach("2026-03-04")
    later = [reopened("2026-06-01"), outreach("2026-06-02")]
    old, new = findings(RULE, [opened("2026-03-02", "low"), escalation, push, resolved("2026-03-06"), *later], "2026-06-10")
    assert new.evidence == tuple(later) and "escalated ticket T-4411" in new.summary


def test_each_later_episode_is_its_own_finding() -> None:
    later = [reopened("2026-05-01"), outreach("2026-05-02"), resolved("2026-05-03"),
             reopened("2026-07-01"), outreach("2026-07-02")]
    found = findings(RULE, EPISODE + later, "2026-07-10")
    assert [each.key for each in found] == ["T-4411", f"T-4411@test/{later[1].event_id}", f"T-4411@test/{later[4].event_id}"]
    assert [each.resolved_at for each in found] == [at("2026-03-06 09:00"), at("2026-05-03"), None]


def test_reopen_days_is_a_threshold() -> None:
    again = [reopened("2026-03-20"), outreach("2026-03-21")]
    assert len(findings(RULE, EPISODE + again, "2026-04-01")) == 1
    assert len(findings(RULE, EPISODE + again, "2026-04-01", reopen_days=10)) == 2
    assert len(findings(RULE, EPISODE + again, "2026-04-01", reopen_days=15)) == 1  # the push before 21 Mar 09:00
    with pytest.raises(ThresholdError, match="reopen_days: must not be negative"):
        thresholds_from({RULE: {"reopen_days": -1}})


def test_a_ticket_left_open_keeps_its_first_and_latest_pushes_and_counts_them_all() -> None:
    """Differs from the spec (every push): 150 daily pushes while an urgent ticket stays open; the escalation of
    day 60 stays evidence, as the ticket's events are not cut."""
    ticket = opened("2026-01-05 09:00")
    pushes = [outreach(at("2026-01-06 10:00") + days(n)) for n in range(150)]
    escalation = fact("support.ticket.escalated", at("2026-01-06 11:00") + days(60), ticketId="T-4411")
    found = only(RULE, [ticket, *pushes, escalation], "2026-07-01")
    assert found.resolved_at is None and found.detected_at == at("2026-01-06 10:00")
    assert found.evidence == (ticket, *pushes[:20], escalation, *pushes[-80:])  # in time order
    assert found.summary == (
        "Sales sent a renewal outreach on 6 Jan 2026 while urgent ticket T-4411 was open (since 5 Jan 2026); "
        "149 more sales pushes followed while it was open (the evidence shows 100 of the 150 pushes: the first and "
        "the latest)."
    )
    few = only(RULE, [ticket, *pushes], "2026-07-01", evidence_first=0, evidence_latest=1)
    assert few.evidence == (ticket, pushes[0], pushes[-1])  # the first push, which it names, always
    assert few.summary.endswith("(the evidence shows 2 of the 150 pushes: the first and the latest).")


def test_the_pushes_of_a_reopening_join_the_same_capped_evidence() -> None:
    """60 pushes, resolved, reopened within the horizon, 60 more: one finding of 120 pushes, its first 20 and latest 80."""
    first = [outreach(at("2026-01-06 10:00") + days(n)) for n in range(60)]
    again = reopened("2026-03-10 09:00")
    later = [outreach(at("2026-03-10 10:00") + days(n)) for n in range(60)]
    facts = [opened("2026-01-05 09:00"), *first, resolved("2026-03-07 09:00"), again, *later]
    found = only(RULE, facts, "2026-07-01")
    pushes = first + later
    assert found.evidence == (facts[0], *pushes[:20], *pushes[20:60][-20:], again, *later)
    assert "119 more sales pushes" in found.summary and "shows 100 of the 120 pushes" in found.summary


@pytest.mark.parametrize(("key", "value", "message"), [("evidence_first", -1, "must not be negative"),
                                                       ("evidence_latest", "80", "must be a whole number")])
def test_a_bad_evidence_limit_is_refused_naming_it(key: str, value: object, message: str) -> None:
    with pytest.raises(ThresholdError, match=f"^{RULE}.{key}: {message}"):
        thresholds_from({RULE: {key: value}})
