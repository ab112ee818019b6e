"""`invoice-exceeds-deal` folded, against its detector: excesses at the tolerance, credits that just cover them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from tests.unit.rules.builders import fact
from tests.unit.rules.fold_edges import assert_fold_matches_detector, edge_histories, edges, state_after

RULE = "invoice-exceeds-deal"
START = datetime(2026, 3, 2, tzinfo=timezone.utc)
INSTANTS = st.integers(0, 2 * 20).map(lambda halves: START + timedelta(hours=12 * halves))
OFFSETS = edges(timedelta(days=1))
OPPORTUNITIES = st.sampled_from(["O-1", "O-1", "O-1", "O-2"])
CURRENCIES = st.sampled_from(["EUR"] * 5 + ["USD"])
# Won 1000: an invoice of 1005 is exactly 0.5 % over (no finding), 1005.01 just more.
WON = st.sampled_from(["0", "1000", "1000", "1000", "1004.99", "1500"])
INVOICED = st.sampled_from(["0", "1000", "1005", "1005.01", "1005.01", "1010", "1010", "1500", "1500"])
CREDITED = st.sampled_from(["0", "0.01", "4.99", "5", "5.01", "10", "500", "1000"])
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "sales.opportunity.won": st.fixed_dictionaries({"opportunityId": OPPORTUNITIES, "amount": WON,
                                                    "currency": CURRENCIES}),
    "billing.invoice.issued": st.fixed_dictionaries(
        {"invoiceId": st.sampled_from(["I-1", "I-2"]), "amount": INVOICED, "currency": CURRENCIES,
         "opportunityId": st.one_of(OPPORTUNITIES, OPPORTUNITIES, OPPORTUNITIES, st.none())}
    ).map(lambda data: {key: value for key, value in data.items() if value is not None}),
    "billing.credit.issued": st.fixed_dictionaries({"amount": CREDITED, "currency": CURRENCIES}),
}


@settings(max_examples=300, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS))
def test_the_fold_reads_as_the_detector_judges_at_every_edge(facts: list[Fact]) -> None:
    assert_fold_matches_detector(RULE, facts, OFFSETS)


def won(when: str, amount: str = "1000", opportunity: str = "O-1") -> Fact:
    return fact("sales.opportunity.won", when, opportunityId=opportunity, amount=amount, currency="EUR")


def invoice(when: str, invoice_id: str = "I-1", opportunity: str = "O-1", amount: str = "1100") -> Fact:
    return fact("billing.invoice.issued", when, invoiceId=invoice_id, amount=amount, currency="EUR",
                opportunityId=opportunity)


def credit(when: str, amount: str) -> Fact:
    return fact("billing.credit.issued", when, amount=amount, currency="EUR")


def test_an_invoice_keeps_its_credits_until_they_cover_its_whole_amount() -> None:
    billed, first, second = invoice("2026-03-02"), credit("2026-03-03", "100"), credit("2026-03-04", "1000")
    state = state_after(RULE, [won("2026-03-01"), billed, first])
    assert state.invoices["I-1"].credits == [first]  # covers the excess of 100, not yet a win of less
    state = state_after(RULE, [won("2026-03-01"), billed, first, second, credit("2026-03-05", "5")])
    assert state.invoices == {}
    assert state.covered["I-1"].credits == [first, second]


def test_a_covered_invoice_without_a_finding_is_forgotten_and_one_with_a_finding_until_a_new_win() -> None:
    covered = [invoice("2026-03-02"), credit("2026-03-03", "1100")]
    assert state_after(RULE, covered).invoices == {} and state_after(RULE, covered).covered == {}
    other = [won("2026-03-01", opportunity="O-2"), invoice("2026-03-02", "I-2", "O-2"), credit("2026-03-03", "1100")]
    held = [won("2026-03-01"), *covered, *other]
    assert sorted(state_after(RULE, held).covered) == ["I-1", "I-2"]
    assert sorted(state_after(RULE, [*held, won("2026-03-06")]).covered) == ["I-2"]  # I-1 never held under it
