"""The view's fold against the reference `account_view`, over generated accounts.

Events arrive in any order (late ones refold from the checkpoint before them) and are
folded by `CheckpointedAccount`; read at any instant T, the state as of T gives exactly
the view the reference gives for the events up to T, every field of it, with the
trend's past points taken from the reference; and `health_at` on the state at each
week boundary B gives the reference's trend point at B.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.checkpoints import CheckpointedAccount
from projections.evaluation import evaluate, findings_then
from projections.facts import Fact
from projections.history import history_of
from projections.state_codec import encode
from projections.thresholds import thresholds_from
from projections.view.account import account_view
from projections.view.fold import health_at, reading, view_at
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights
from projections.weeks import boundary_at_or_after, boundary_at_or_before
from tests.unit.test_findings_laws import CONTACTS, DATA, arrived
from tests.unit.test_folds_match_reference import INSTANTS

IDS = st.sampled_from(["X-1", "X-2"])
SMALL = st.integers(0, 12)

# What the rules' generators leave out and the view reads, and other shapes of what they have.
VIEW_DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    **DATA,
    "sales.account.updated": st.one_of(st.fixed_dictionaries({"name": st.sampled_from(["Acme", "Acme Inc", ""])}),
                                       st.fixed_dictionaries({"tier": st.just("smb")})),
    "sales.opportunity.stage_changed": st.fixed_dictionaries({"opportunityId": IDS,
                                                              "stage": st.sampled_from(["demo", "proposal"])}),
    "sales.opportunity.lost": st.fixed_dictionaries({"opportunityId": IDS}),
    "product.usage.recorded": st.fixed_dictionaries({"activeUsers": SMALL, "seats": st.sampled_from([0, 4, 10])}),
    "product.feature.adopted": st.fixed_dictionaries({"feature": st.just("export")}),
    "support.csat.recorded": st.fixed_dictionaries({"score": st.integers(1, 5)}),
    "support.ticket.opened": st.fixed_dictionaries({"ticketId": IDS,
                                                    "priority": st.sampled_from(["low", "normal", "high", "urgent"])},
                                                   optional={"subject": st.just("Export fails")}),
    "support.ticket.escalated": st.fixed_dictionaries({"ticketId": IDS}),
    "support.ticket.resolved": st.fixed_dictionaries({"ticketId": IDS}),
    "support.ticket.reopened": st.fixed_dictionaries({"ticketId": IDS}),
    "marketing.engagement.recorded": st.fixed_dictionaries({"campaignId": IDS, "channel": st.just("email"),
                                                            "action": st.sampled_from(["open", "click"])}),
    "marketing.survey.sent": st.fixed_dictionaries({"surveyId": IDS, "kind": st.just("nps")}),
    "billing.invoice.issued": st.fixed_dictionaries({
        "invoiceId": IDS, "amount": st.sampled_from(["100", "250.50", "1000"]), "currency": st.just("EUR"),
        "dueAt": st.sampled_from(["2025-06-01", "2026-01-10", "2026-02-01T12:00:00Z", "2026-03-15"])}),
    "billing.payment.received": st.fixed_dictionaries({"invoiceId": IDS, "amount": st.sampled_from(["50", "100", "250.50"]),
                                                       "currency": st.just("EUR")}),
    "billing.payment_plan.granted": st.fixed_dictionaries({"until": st.sampled_from(
        ["2026-01-20", "2026-01-21T00:00:00Z", "2026-02-10T12:00:00Z", "2026-06-30", "2025-03-01"])}),
    "product.incident.started": st.fixed_dictionaries({"incidentId": IDS, "severity": st.sampled_from(["sev1", "sev3"])}),
}
TYPES = sorted(VIEW_DATA)
PARTS = [  # the types that meet in one part of the view
    ["billing.invoice.issued", "billing.payment.received", "billing.payment.failed", "billing.payment_plan.granted",
     "billing.service.suspended", "billing.service.restored"],
    ["support.ticket.opened", "support.ticket.escalated", "support.ticket.resolved", "support.ticket.reopened"],
    ["sales.opportunity.opened", "sales.opportunity.stage_changed", "sales.opportunity.won", "sales.opportunity.lost"],
    ["product.incident.started", "product.incident.resolved", "marketing.consent.changed"],
    ["marketing.nps.responded", "support.csat.recorded", "support.contact.made", "sales.outreach.sent"],
    ["billing.subscription.changed", "sales.opportunity.won", "product.usage.recorded", "support.ticket.opened"],
]

# Windows and deadlines of the view: at once, a microsecond, a day, 7, 14, 28, 30, 90 and 365 days apart.
EDGES = (7, 28, 30, 90, 365)
ECHOES = [timedelta(0), timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1), timedelta(hours=24),
          *(timedelta(days=n) + extra for n in (14, 31, *EDGES) for extra in (timedelta(0), -timedelta(hours=12)))]
OFFSETS = [timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1),
           *(timedelta(days=n) + extra for n in EDGES for extra in (timedelta(0), timedelta(microseconds=1)))]


@st.composite
def histories(draw: st.DrawFn) -> list[Fact]:
    """Mostly of a few types (a part's own), so that they meet at one instant and at each window's edge."""
    focus = draw(st.one_of(st.sampled_from(PARTS), st.lists(st.sampled_from(TYPES), min_size=1, max_size=5)))
    types = focus * 12 + TYPES
    count = draw(st.integers(1, 40) | st.integers(10, 40))
    facts: list[Fact] = []
    for n in range(count):
        event_type = draw(st.sampled_from(types))
        if facts and draw(st.booleans()):
            instant = draw(st.sampled_from(facts)).occurred_at + draw(st.sampled_from(ECHOES))
        else:
            instant = draw(INSTANTS)
        source = draw(st.sampled_from(["test", "crm"]))
        facts.append(Fact(0, event_type, instant, source, f"e-{n}", draw(CONTACTS), draw(VIEW_DATA[event_type])))
    return facts


@st.composite
def instants(draw: st.DrawFn, facts: list[Fact]) -> datetime:
    """A fact's instant, a window's edge after it, or a week boundary around it."""
    instant = draw(st.sampled_from(facts)).occurred_at
    return draw(st.sampled_from([*(instant + offset for offset in OFFSETS), boundary_at_or_after(instant),
                                 boundary_at_or_before(instant)]))


WEIGHTS = st.sampled_from([DEFAULT_WEIGHTS, HealthWeights(1.0, 2.0, 3.0, 4.0, 5.0, 0.0)])


@settings(max_examples=150, deadline=None)
@given(facts=histories(), random=st.randoms(use_true_random=False), won_days=st.sampled_from([365, 30]),
       weights=WEIGHTS, data=st.data())
def test_the_folded_view_read_at_any_instant_equals_the_reference(
        facts: list[Fact], random: Any, won_days: int, weights: HealthWeights, data: st.DataObject) -> None:
    thresholds = thresholds_from({"prospecting-a-customer": {"customer_won_days": won_days}})
    arrival = list(facts)
    random.shuffle(arrival)
    stored = arrived(arrival)
    account = CheckpointedAccount("acme", thresholds)
    for fact in stored:
        account.take(fact)
    history = history_of("acme", stored)
    latest = max(fact.occurred_at for fact in stored)
    for instant in [latest, *data.draw(st.lists(instants(stored), min_size=1, max_size=6))]:
        findings = evaluate(history, instant, thresholds).findings
        then = findings_then(history, thresholds)
        reference = account_view(history, instant, findings, weights, customer_won_days=won_days, findings_then=then)
        assert reference.health is not None
        past = reference.health.trend[:-1]
        folded = account.state_as_of(instant)
        before = encode(folded.view)
        assert view_at(folded.view, instant, findings, weights, past) == reference, instant
        assert encode(folded.view) == before, "reading the view changed its state"
        for point in past:
            at_boundary = account.state_as_of(point.at).view
            assert health_at(at_boundary, point.at, then(point.at), weights) == point.score, (instant, point.at)


@settings(max_examples=100, deadline=None)
@given(facts=histories(), weights=WEIGHTS, data=st.data())
def test_the_components_read_without_words_have_the_values_read_with_them(
        facts: list[Fact], weights: HealthWeights, data: st.DataObject) -> None:
    """`health_at` reads the components' values alone: they are those of the view's components."""
    stored = arrived(sorted(facts, key=lambda fact: fact.order))
    account = CheckpointedAccount("acme", thresholds_from({}))
    for fact in stored:
        account.take(fact)
    history = history_of("acme", stored)
    for instant in data.draw(st.lists(instants(stored), min_size=1, max_size=6)):
        read = reading(account.state_as_of(instant).view, instant)
        findings = evaluate(history, instant).findings
        full, alone = read.components(findings, weights), read.components(findings, weights, words=False)
        assert [(each.name, each.value, each.weight) for each in alone] == \
            [(each.name, each.value, each.weight) for each in full], instant
        assert {each.explanation for each in alone} == {""} and "" not in {each.explanation for each in full}
