"""The two laws of `rules.md`, as properties over generated accounts, for every rule at once.

1. Order independence: the same events arriving in any order (so with other positions)
   give the same findings, folded one at a time or all at once.
2. Time travel: the findings as of T are those of the events up to T judged at T; and
   they do not change before the next change the rules announced (the scheduler's due
   time), so a live view that sleeps until then misses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.evaluation import evaluate
from projections.facts import Fact
from projections.findings import Finding
from projections.history import History, fold, history_of

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CONTACTS = st.sampled_from([None, "c-1", "c-2"])
IDS = st.sampled_from(["X-1", "X-2"])
AMOUNTS = st.sampled_from(["1000", "1004", "1010", "1500"])
CURRENCIES = st.sampled_from(["EUR", "USD"])

DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "marketing.campaign.sent": st.fixed_dictionaries({"campaignId": IDS, "channel": st.sampled_from(["email", "ads"]),
                                                      "intent": st.sampled_from(["acquisition", "upsell", "supportive", "retention", "nurture"])}),
    "marketing.nps.responded": st.fixed_dictionaries({"score": st.integers(0, 10)}),
    "marketing.consent.changed": st.fixed_dictionaries({"channel": st.sampled_from(["email", "phone", "all"]),
                                                        "granted": st.booleans()}),
    "sales.outreach.sent": st.fixed_dictionaries({"channel": st.sampled_from(["email", "call"]),
                                                  "intent": st.sampled_from(["prospecting", "upsell", "renewal", "check_in"])}),
    "sales.opportunity.opened": st.fixed_dictionaries({"opportunityId": IDS, "kind": st.sampled_from(["new", "expansion", "renewal"]),
                                                       "amount": AMOUNTS, "currency": CURRENCIES}),
    "sales.opportunity.won": st.fixed_dictionaries({"opportunityId": IDS, "amount": AMOUNTS, "currency": CURRENCIES}),
    "product.incident.started": st.fixed_dictionaries({"incidentId": IDS, "severity": st.just("sev1")}),
    "product.incident.resolved": st.fixed_dictionaries({"incidentId": IDS}),
    "product.status.published": st.fixed_dictionaries({"incidentId": IDS, "impact": st.sampled_from(["none", "outage"])}),
    "support.ticket.opened": st.fixed_dictionaries({"ticketId": IDS, "priority": st.sampled_from(["normal", "urgent"])}),
    "support.ticket.escalated": st.fixed_dictionaries({"ticketId": IDS}),
    "support.ticket.resolved": st.fixed_dictionaries({"ticketId": IDS}),
    "support.ticket.reopened": st.fixed_dictionaries({"ticketId": IDS}),
    "support.contact.made": st.fixed_dictionaries({"channel": st.just("call")}),
    "billing.subscription.changed": st.fixed_dictionaries({"change": st.sampled_from(["start", "renew", "cancel"]),
                                                           "plan": st.just("pro"), "mrr": AMOUNTS, "currency": CURRENCIES}),
    "billing.invoice.issued": st.fixed_dictionaries({"invoiceId": IDS, "amount": AMOUNTS, "currency": CURRENCIES,
                                                     "dueAt": st.just("2026-02-01"), "opportunityId": IDS}),
    "billing.payment.received": st.fixed_dictionaries({"invoiceId": IDS, "amount": AMOUNTS, "currency": CURRENCIES}),
    "billing.payment.failed": st.fixed_dictionaries({"invoiceId": IDS}),
    "billing.dunning.sent": st.fixed_dictionaries({"invoiceId": IDS, "level": st.integers(1, 3)}),
    "billing.service.suspended": st.fixed_dictionaries({}),
    "billing.service.restored": st.fixed_dictionaries({}),
    "billing.payment_plan.granted": st.fixed_dictionaries({"until": st.sampled_from(["2026-01-20", "2026-02-10T12:00:00Z"])}),
    "billing.credit.issued": st.fixed_dictionaries({"amount": AMOUNTS, "currency": CURRENCIES}),
}


SPREAD = st.builds(lambda hours, minutes: START + timedelta(hours=hours, minutes=minutes),
                   st.integers(-9000, 24 * 45), st.sampled_from([0, 30]))


@st.composite
def accounts(draw: st.DrawFn, instants: st.SearchStrategy[datetime] = SPREAD,
             types: Sequence[str] = tuple(sorted(DATA))) -> list[Fact]:
    """An account's events over a few weeks (and a tenure a year earlier), dense enough for rules to fire."""
    count = draw(st.integers(1, 40))
    facts = []
    for n in range(count):
        event_type = draw(st.sampled_from(types))
        facts.append(Fact(0, event_type, draw(instants), "test", f"e-{n}", draw(CONTACTS), draw(DATA[event_type])))
    return facts


def arrived(facts: list[Fact]) -> list[Fact]:
    """The events with positions in this order of arrival."""
    return [fact._replace(position=index + 1) for index, fact in enumerate(facts)]


def comparable(findings: list[Finding]) -> list[tuple[Any, ...]]:
    """Findings with their evidence named by event, not by position (positions follow arrival)."""
    return [
        (each.id, each.rule, each.severity, each.departments, each.detected_at, each.resolved_at, each.summary,
         [(fact.source, fact.event_id) for fact in each.evidence])
        for each in findings
    ]


JUDGED = st.integers(-100, 24 * 60).map(lambda hours: START + timedelta(hours=hours))


@settings(max_examples=150, deadline=None)
@given(accounts(), st.randoms(use_true_random=False), JUDGED)
def test_order_independence(facts: list[Fact], random: Any, as_of: datetime) -> None:
    shuffled = list(facts)
    random.shuffle(shuffled)
    at_once = evaluate(history_of("acme", arrived(facts)), as_of)
    one_by_one = History("acme")
    for fact in arrived(shuffled):
        one_by_one = fold(one_by_one, fact)
    other_order = evaluate(one_by_one, as_of)
    assert comparable(other_order.findings) == comparable(at_once.findings)
    assert other_order.next_change == at_once.next_change


@settings(max_examples=150, deadline=None)
@given(accounts(), JUDGED)
def test_time_travel(facts: list[Fact], as_of: datetime) -> None:
    everything = history_of("acme", arrived(facts))
    known_then = history_of("acme", [fact for fact in everything.facts if fact.occurred_at <= as_of])
    assert evaluate(everything, as_of).findings == evaluate(known_then, as_of).findings


@settings(max_examples=150, deadline=None)
@given(accounts(), JUDGED, st.floats(0, 1))
def test_findings_hold_until_the_announced_next_change(facts: list[Fact], as_of: datetime, fraction: float) -> None:
    history = history_of("acme", arrived(facts))
    now = evaluate(history, as_of)
    horizon = now.next_change or as_of + timedelta(days=800)
    later = as_of + (horizon - as_of) * fraction
    if later >= horizon:
        later = horizon - timedelta(microseconds=1)
    if later >= as_of:
        assert evaluate(history, later).findings == now.findings


@settings(max_examples=150, deadline=None)
@given(accounts(), st.integers(0, 40), JUDGED, st.integers(0, 24 * 20))
def test_judging_again_after_new_facts_equals_judging_from_scratch(
    facts: list[Fact], split: int, first: datetime, hours_later: int
) -> None:
    """The projector's shortcut: rules that read none of the new facts' types keep their findings."""
    numbered = arrived(facts)
    old, new = numbered[:split], numbered[split:]
    second = first + timedelta(hours=hours_later)
    before = evaluate(history_of("acme", old), first)
    again = evaluate(history_of("acme", numbered), second, previous=before, new_types={fact.type for fact in new})
    scratch = evaluate(history_of("acme", numbered), second)
    assert again.findings == scratch.findings
    assert again.next_change == scratch.next_change
