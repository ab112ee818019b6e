"""`incident-denial` folded against its detector, over incidents, statements and tickets with edge instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.rules.incident_denial import ID, Thresholds
from tests.unit.rules.fold_edges import assert_fold_matches_detector, edge_histories, edges

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
INCIDENTS = st.sampled_from(["INC-1", "INC-2"])
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "product.incident.started": st.fixed_dictionaries({"incidentId": INCIDENTS, "severity": st.just("sev1")}),
    "product.incident.resolved": st.fixed_dictionaries({"incidentId": INCIDENTS}),
    "product.status.published": st.fixed_dictionaries({"incidentId": INCIDENTS,
                                                       "impact": st.sampled_from(["none", "none", "outage"])}),
    "support.ticket.opened": st.fixed_dictionaries({"ticketId": st.sampled_from(["T-1", "T-2", "T-3"]),
                                                    "priority": st.just("high")}),
}
MORE = [*["product.status.published"] * 2, *["support.ticket.opened"] * 5]  # statements and tickets, often
INSTANTS = st.integers(0, 6 * 12).map(lambda halves: START + timedelta(hours=2 * halves))
OFFSETS = [*edges(timedelta(hours=24)), timedelta(hours=2)]
THRESHOLDS = st.builds(Thresholds, lookback_hours=st.sampled_from([0, 12, 24, 48]),
                       after_hours=st.sampled_from([0, 12, 24]), min_tickets=st.integers(0, 3))


@settings(max_examples=200, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS, max_size=30, types=MORE), st.one_of(st.just(Thresholds()), THRESHOLDS))
def test_the_fold_gives_the_detectors_denials_at_every_edge(facts: list[Fact], thresholds: Thresholds) -> None:
    assert_fold_matches_detector(ID, facts, OFFSETS, thresholds=thresholds)
