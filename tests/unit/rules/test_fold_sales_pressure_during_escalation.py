"""`sales-pressure-during-escalation` folded against its detector: ticket events and pushes on shared instants.

Openings, escalations, resolutions and reopenings of two tickets, and pushes, often on one
instant in either order of the tie (the events of a ticket at one instant take effect
together), or one microsecond either side; read at every fact's instant, +-1 us.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import advance, findings_at, start
from projections.facts import Fact
from projections.findings import Moment
from projections.state_codec import encode
from projections.thresholds import DEFAULT_THRESHOLDS
from tests.unit.rules.fold_clusters import START, assert_fold_matches_detector, daily, edge_histories, folded_state

RULE = "sales-pressure-during-escalation"

TICKET = st.fixed_dictionaries({"ticketId": st.sampled_from(["T-1", "T-1", "T-2"])})
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "support.ticket.opened": st.fixed_dictionaries({"ticketId": st.sampled_from(["T-1", "T-1", "T-2"]),
                                                    "priority": st.sampled_from(["low", "high", "urgent"])}),
    "support.ticket.escalated": TICKET,
    "support.ticket.resolved": TICKET,
    "support.ticket.reopened": TICKET,
    "sales.outreach.sent": st.fixed_dictionaries({"channel": st.just("email"),
                                                  "intent": st.sampled_from(["renewal", "upsell", "check_in"])}),
    "sales.opportunity.opened": st.fixed_dictionaries({"opportunityId": st.just("O-1"),
                                                       "kind": st.sampled_from(["expansion", "new"]),
                                                       "amount": st.just("100"), "currency": st.just("EUR")}),
}
KINDS = [*sorted(DATA), "support.ticket.opened", "support.ticket.resolved", "sales.outreach.sent"]
GAPS = [timedelta(0), timedelta(0), timedelta(hours=12)]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_fold_reads_as_the_detector_at_every_edge(data: st.DataObject) -> None:
    facts: list[Fact] = data.draw(edge_histories(DATA, GAPS, kinds=KINDS, size=16))
    assert_fold_matches_detector(RULE, facts, [], DEFAULT_THRESHOLDS)


def test_a_push_looks_only_at_the_open_tickets_however_long_the_history() -> None:
    """Every day for 400 days an urgent ticket opens, a renewal outreach goes out, and the ticket is resolved."""
    hour = timedelta(hours=1)
    facts = [each._replace(data={**each.data, "ticketId": f"T-{each.event_id.split('-')[0]}"})
             if "ticketId" in each.data else each
             for each in daily(400, (hour, "support.ticket.opened", None, {"ticketId": "", "priority": "urgent"}),
                               (2 * hour, "sales.outreach.sent", None, {"channel": "email", "intent": "renewal"}),
                               (3 * hour, "support.ticket.resolved", None, {"ticketId": ""}))]
    escalations = folded_state(RULE, facts, DEFAULT_THRESHOLDS)
    assert len(escalations.open) == 1 and len(escalations.pending) == 1  # the last resolution takes effect when read
    assert len(escalations.resolved) == 399 and all(len(ticket.joined) == 1 for ticket in escalations.resolved.values())


def pushes_during_open_tickets(pushes: int) -> list[Fact]:
    """Eight urgent tickets opened on the first day and never resolved, and a renewal outreach every day."""
    openings = [Fact(0, "support.ticket.opened", START, "test", f"t-{n}", None,
                     {"ticketId": f"T-{n}", "priority": "urgent"}) for n in range(8)]
    return openings + daily(pushes, (timedelta(hours=1), "sales.outreach.sent", None,
                                     {"channel": "email", "intent": "renewal"}))


def test_a_push_that_joins_many_tickets_is_kept_once() -> None:
    """Every finding is open, so nothing leaves; but each push costs its own bytes, not one copy per ticket."""
    one_push = len(encode(pushes_during_open_tickets(1)[-1]))
    size = [len(encode(folded_state(RULE, pushes_during_open_tickets(days), DEFAULT_THRESHOLDS))) for days in (50, 500)]
    assert size[1] - size[0] <= 450 * (one_push + 8), size


def test_a_ticket_resolved_years_ago_is_never_final() -> None:
    """rules.md keys the finding by the ticket with no end in time: a reopening three years on changes it."""
    urgent = {"ticketId": "T-1", "priority": "urgent"}
    facts = [Fact(1, "support.ticket.opened", START, "test", "o", None, urgent),
             Fact(2, "sales.outreach.sent", START + timedelta(hours=1), "test", "p1", None,
                  {"channel": "email", "intent": "renewal"}),
             Fact(3, "support.ticket.resolved", START + timedelta(days=1), "test", "r", None, {"ticketId": "T-1"})]
    later = START + timedelta(days=3 * 365)
    reopening = [Fact(4, "support.ticket.reopened", later, "test", "ro", None, {"ticketId": "T-1"}),
                 Fact(5, "sales.outreach.sent", later + timedelta(hours=1), "test", "p2", None,
                      {"channel": "email", "intent": "upsell"})]
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in facts + reopening:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
        assert not account.final
    found = findings_at(account, Moment(later + timedelta(days=1)), DEFAULT_THRESHOLDS, [RULE])
    assert [each.resolved_at for each in found] == [None] and len(found[0].evidence) == 4


def test_a_reopened_ticket_takes_only_the_pushes_of_its_own_stretches() -> None:
    """T-1 is resolved while T-2 takes a push, then reopened: its evidence skips that push, kept once for both."""
    def at(day: int, kind: str, **data: Any) -> Fact:
        return Fact(day + 1, kind, START + timedelta(days=day), "test", f"e-{day}", None, data)

    push = {"channel": "email", "intent": "renewal"}
    facts = [at(0, "support.ticket.opened", ticketId="T-1", priority="urgent"), at(1, "sales.outreach.sent", **push),
             at(2, "support.ticket.resolved", ticketId="T-1"), at(3, "support.ticket.opened", ticketId="T-2",
                                                                  priority="high"),
             at(4, "sales.outreach.sent", **push), at(5, "support.ticket.reopened", ticketId="T-1"),
             at(6, "sales.outreach.sent", **push)]
    assert_fold_matches_detector(RULE, facts, [], DEFAULT_THRESHOLDS)
    one, two = findings_at(start_and_fold(facts), Moment(START + timedelta(days=7)), DEFAULT_THRESHOLDS, [RULE])
    assert [each.event_id for each in one.evidence] == ["e-0", "e-1", "e-5", "e-6"]
    assert [each.event_id for each in two.evidence] == ["e-3", "e-4", "e-6"]


def start_and_fold(facts: list[Fact]) -> Any:
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in facts:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    return account
