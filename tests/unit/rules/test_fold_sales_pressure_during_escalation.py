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

from projections.facts import Fact
from projections.thresholds import DEFAULT_THRESHOLDS
from tests.unit.rules.fold_clusters import assert_fold_matches_detector, daily, edge_histories, folded_state

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
    assert len(escalations.resolved) == 399 and all(len(ticket.pushes) == 1 for ticket in escalations.resolved.values())
