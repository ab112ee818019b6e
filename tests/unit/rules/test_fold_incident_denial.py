"""`incident-denial` folded against its detector, over incidents, statements and tickets with edge instants."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import Timeline
from projections.rules.incident_denial import ID, Denials, Thresholds, detect, read
from projections.state_codec import encode
from tests.unit.rules.builders import fact
from tests.unit.rules.fold_edges import assert_fold_matches_detector, edge_histories, edges, state_and_final

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


@settings(max_examples=100, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS, max_size=30, types=MORE), st.one_of(st.just(Thresholds()), THRESHOLDS))
def test_the_fold_gives_the_detectors_denials_at_every_edge(facts: list[Fact], thresholds: Thresholds) -> None:
    assert_fold_matches_detector(ID, facts, OFFSETS, thresholds=thresholds)


def folded(facts: list[Fact]) -> tuple[Denials, list[Finding]]:
    """The state after the facts in order, and the findings it gave up as final on the way."""
    state, final = state_and_final(ID, facts)
    return state, final


def denied_every_10_days(incidents: int, started: bool = True) -> list[Fact]:
    """Incident n (started, or not), 2 tickets, a statement of no impact, its resolution a day later, and a ticket
    opened after its window."""
    facts: list[Fact] = []
    for n in range(incidents):
        begin, incident = START + timedelta(days=10 * n), {"incidentId": f"INC-{n}"}
        facts += [*([fact("product.incident.started", begin, severity="sev1", **incident)] if started else []),
                  fact("support.ticket.opened", begin + timedelta(hours=1), ticketId=f"T-{n}a", priority="high"),
                  fact("support.ticket.opened", begin + timedelta(hours=2), ticketId=f"T-{n}b", priority="high"),
                  fact("product.status.published", begin + timedelta(hours=3), impact="none", **incident),
                  fact("product.incident.resolved", begin + timedelta(days=1), **incident),
                  fact("support.ticket.opened", begin + timedelta(days=5), ticketId=f"T-{n}c", priority="low")]
    return facts


def test_a_long_history_of_denials_keeps_the_ids_of_the_resolved_incidents_only() -> None:
    """`over` keeps one id per resolved incident: a statement for it, whenever it comes, never holds."""
    states = {incidents: folded(denied_every_10_days(incidents)) for incidents in (50, 500)}
    assert [(len(final), len(denials.over)) for denials, final in states.values()] == [(50, 50), (500, 500)]
    sizes = {incidents: len(encode(replace(denials, over=set()))) for incidents, (denials, _) in states.items()}
    assert sizes[500] <= sizes[50] + 64, sizes


def test_a_denial_given_up_as_final_is_the_detectors_finding_years_later() -> None:
    facts = denied_every_10_days(30)
    _, final = folded(facts)
    much_later = START + timedelta(days=10 * 30 + 3 * 365)
    again = [fact("product.incident.started", much_later - timedelta(days=400), incidentId="INC-1", severity="sev1"),
             fact("product.status.published", much_later - timedelta(hours=1), incidentId="INC-1", impact="none"),
             *(fact("support.ticket.opened", much_later, ticketId=f"T-x{n}", priority="high") for n in range(2))]
    detected = list(detect(Timeline("acme", [*facts, *again]), Moment(much_later), Thresholds()))
    assert len(final) == 30 and final == sorted(detected, key=lambda each: (each.detected_at, each.id))
    denials, more = folded([*facts, *again])
    assert more == final and list(read(denials, Moment(much_later), Thresholds())) == []  # INC-1 stays resolved


def test_a_resolved_incident_never_started_keeps_its_finding_until_a_start_empties_its_windows() -> None:
    facts = denied_every_10_days(1, started=False)
    denials, final = folded(facts)
    assert final == [] and list(denials.final) == ["INC-0"]
    denials, final = folded([*facts, fact("product.incident.started", START + timedelta(days=30), incidentId="INC-0",
                                          severity="sev1")])
    assert final == [] and denials.final == {} and denials.over == {"INC-0"}
