"""`prospecting-a-customer` folded against its detector, over customers prospected again and again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.rules.prospecting_a_customer import ID, Thresholds
from tests.unit.rules.fold_edges import assert_fold_matches_detector, edge_histories, edges

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "billing.subscription.changed": st.fixed_dictionaries({
        "change": st.sampled_from(["start", "renew", "cancel"]), "plan": st.just("pro"), "mrr": st.just("900"),
        "currency": st.just("EUR")}),
    "sales.opportunity.won": st.fixed_dictionaries({"opportunityId": st.sampled_from(["O-1", "O-2"]),
                                                    "amount": st.just("1000"), "currency": st.just("EUR")}),
    "marketing.campaign.sent": st.fixed_dictionaries({"campaignId": st.just("C-1"), "channel": st.just("email"),
                                                      "intent": st.sampled_from(["acquisition", "acquisition", "nurture"])}),
    "sales.outreach.sent": st.fixed_dictionaries({"channel": st.just("call"),
                                                  "intent": st.sampled_from(["prospecting", "prospecting", "upsell"])}),
}
INSTANTS = st.integers(-60, 120).map(lambda days: START + timedelta(days=days))
MONTH, YEAR = timedelta(days=30), timedelta(days=365)
# At once and a year later drawn more often: several customer-making events at a message's own
# instant ("before T" is strict), and a deal won exactly `customer_won_days` before a message.
OFFSETS = [*edges(MONTH, YEAR), *[timedelta(0)] * 4, YEAR, timedelta(days=3)]
THRESHOLDS = st.builds(Thresholds, customer_won_days=st.sampled_from([0, 30, 365]),
                       close_days=st.sampled_from([0, 3, 30]))


@settings(max_examples=200, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS, max_size=30), st.one_of(st.just(Thresholds()), THRESHOLDS))
def test_the_fold_gives_the_detectors_findings_at_every_edge(facts: list[Fact], thresholds: Thresholds) -> None:
    assert_fold_matches_detector(ID, facts, OFFSETS, thresholds=thresholds)
