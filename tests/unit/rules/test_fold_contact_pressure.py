"""`contact-pressure` folded against its detector, over bursts of touches with edge instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.rules.contact_pressure import ID, Thresholds
from tests.unit.rules.fold_edges import assert_fold_matches_detector, edge_histories, edges

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "marketing.campaign.sent": st.just({"campaignId": "C-1", "channel": "email", "intent": "nurture"}),
    "sales.outreach.sent": st.just({"channel": "call", "intent": "follow_up"}),
    "support.contact.made": st.just({"channel": "call", "reason": "onboarding"}),
    "billing.dunning.sent": st.just({"invoiceId": "INV-1", "level": 1}),
}
MOSTLY_MARKETING = ["marketing.campaign.sent"] * 4  # so that bursts wait for a second department
INSTANTS = st.integers(0, 4 * 24).map(lambda quarters: START + timedelta(hours=6 * quarters))
OFFSETS = [*edges(timedelta(days=7)), timedelta(days=1), timedelta(hours=6)]
THRESHOLDS = st.builds(Thresholds, max_touches=st.integers(1, 6), window_days=st.just(7),
                       min_departments=st.integers(1, 3), evidence_first=st.integers(0, 4),
                       evidence_latest=st.integers(0, 4))  # bursts longer than their evidence


@settings(max_examples=75, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS, max_size=40, types=MOSTLY_MARKETING),
       st.one_of(st.just(Thresholds()), THRESHOLDS))
def test_the_fold_gives_the_detectors_bursts_at_every_edge(facts: list[Fact], thresholds: Thresholds) -> None:
    assert_fold_matches_detector(ID, facts, OFFSETS, thresholds=thresholds)
