"""`invoice-exceeds-deal` folded, against its detector: excesses at the tolerance, credits that just cover them,
invoices and deals at their horizons."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.item_horizon import ITEM_HORIZON
from projections.rules.invoice_exceeds_deal import Thresholds
from tests.unit.rules.builders import fact, findings
from tests.unit.rules.fold_edges import (
    assert_fold_matches_detector,
    edge_histories,
    edges,
    state_after,
    state_and_final,
)

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


@settings(max_examples=150, deadline=None)
@given(edge_histories(DATA, INSTANTS, OFFSETS))
def test_the_fold_reads_as_the_detector_judges_at_every_edge(facts: list[Fact]) -> None:
    assert_fold_matches_detector(RULE, facts, OFFSETS)


def won(when: datetime | str, amount: str = "1000", opportunity: str = "O-1") -> Fact:
    return fact("sales.opportunity.won", when, opportunityId=opportunity, amount=amount, currency="EUR")


def invoice(when: datetime | str, invoice_id: str = "I-1", opportunity: str = "O-1", amount: str = "1100") -> Fact:
    return fact("billing.invoice.issued", when, invoiceId=invoice_id, amount=amount, currency="EUR",
                opportunityId=opportunity)


def credit(when: datetime | str, amount: str) -> Fact:
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


DEAL_HORIZON = Thresholds().deal_horizon
YEARS = st.integers(0, 3 * 365 * 2).map(lambda halves: START + timedelta(hours=12 * halves))
HORIZONS = edges(timedelta(days=1), ITEM_HORIZON, DEAL_HORIZON)


@settings(max_examples=150, deadline=None)
@given(edge_histories(DATA, YEARS, HORIZONS))
def test_the_fold_reads_as_the_detector_at_the_horizons(facts: list[Fact]) -> None:
    """Wins and issues a year and two years (+-1 us) after one another: invoices settled and ids issued again,
    opportunities forgotten or kept alive, as the detector judges, with the sweep in between."""
    assert_fold_matches_detector(RULE, facts, HORIZONS)


def test_a_win_up_to_a_year_after_the_invoice_judges_it_and_one_later_does_not() -> None:
    billed = invoice("2026-03-02")
    assert [each.key for each in findings(RULE, [billed, won("2027-03-02")], "2027-06-01")] == ["I-1"]
    later = won(START + ITEM_HORIZON + timedelta(microseconds=1))
    assert findings(RULE, [billed, later], "2027-06-01") == []
    assert findings(RULE, [won("2026-03-01", "1100"), billed, won("2027-03-10")], "2027-06-01") == []


def test_a_deal_billed_once_a_year_is_judged_at_each_invoice_while_invoices_name_it() -> None:
    deal = won("2024-01-01")
    yearly = [invoice(f"{year}-01-01", f"I-{year}", amount="1000") for year in (2024, 2025, 2026)]
    raised = invoice("2027-01-01", "I-2027")  # for 1100, three years on: the invoices kept the deal (2024 had 366 days)
    assert [each.key for each in findings(RULE, [deal, *yearly, raised], "2027-02-01")] == ["I-2027"]
    quiet = invoice(deal.occurred_at + DEAL_HORIZON, "I-late")  # nothing named the deal for two years
    assert [each.key for each in findings(RULE, [deal, quiet], "2026-02-01")] == ["I-late"]
    quieter = invoice(deal.occurred_at + DEAL_HORIZON + timedelta(microseconds=1), "I-late")
    assert findings(RULE, [deal, quieter], "2026-02-01") == []
    swept = credit(deal.occurred_at + DEAL_HORIZON - timedelta(days=1), "1")  # swept then: the deal was not yet quiet
    assert findings(RULE, [deal, swept, quieter], "2026-02-01") == []  # forgotten as named, between two sweeps


def test_an_invoice_id_issued_again_after_a_year_is_a_new_invoice_keyed_apart_if_the_first_held() -> None:
    first, again = invoice("2026-03-02"), invoice("2027-03-10")
    found = findings(RULE, [won("2026-03-01"), first, credit("2026-03-05", "100"), again], "2027-04-01")
    assert sorted((each.key, each.resolved_at is None) for each in found) == [
        ("I-1", False), (f"I-1@{again.source}/{again.event_id}", True)]
    never = invoice("2026-03-02", amount="1000")
    assert [each.key for each in findings(RULE, [won("2026-03-01"), never, again], "2027-04-01")] == ["I-1"]


def test_an_invoice_issued_again_after_a_year_replaces_it_while_its_finding_is_open() -> None:
    first, corrected = invoice("2026-03-02"), invoice("2027-03-10", amount="1000")
    assert findings(RULE, [won("2026-03-01"), first, corrected], "2027-04-01") == []
    state = state_after(RULE, [won("2026-03-01"), first, corrected])
    assert (state.settled, state.keyed, list(state.invoices)) == ([], set(), ["I-1"])
    deal, raised = won("2026-03-01"), invoice("2027-03-10", amount="1200")  # replaces it too, with its plain key
    found = findings(RULE, [deal, first, raised], "2027-04-01")
    assert [(each.key, each.evidence) for each in found] == [("I-1", (deal, raised))]


def test_a_settled_finding_is_final_once_resolved_and_the_state_keeps_only_what_can_change() -> None:
    resolved = [won("2026-03-01"), invoice("2026-03-02"), credit("2026-03-05", "100")]
    state, final = state_and_final(RULE, [*resolved, credit("2027-03-03", "1")])  # the first fact after its year
    assert [each.key for each in final] == ["I-1"] and final[0].resolved_at is not None
    assert (state.invoices, state.covered, state.settled, state.keyed) == ({}, {}, [], {"I-1"})
    unpaid = [won("2026-03-01"), invoice("2026-03-02"), won("2027-03-03", "5000")]  # a later win does not judge it
    state, final = state_and_final(RULE, unpaid)
    assert final == [] and [each.won for each in state.settled] == [unpaid[0]]
    state, final = state_and_final(RULE, [*unpaid, credit("2028-01-01", "100")])
    assert [each.key for each in final] == ["I-1"] and state.settled == []


def test_an_opportunity_quiet_for_two_years_is_swept() -> None:
    state = state_after(RULE, [won("2026-03-01"), won("2028-03-01", opportunity="O-2"),
                               credit("2028-04-01", "1")])
    assert sorted(state.won) == ["O-2"]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([timedelta(microseconds=1), timedelta(days=1)]), st.sampled_from(["1100", "1000"]),
       st.lists(st.sampled_from(["40", "60", "100"]), min_size=1, max_size=3), st.booleans(), st.booleans())
def test_a_credit_at_the_instant_of_a_late_issue_comes_first_whatever_the_ids(
        late: timedelta, amount: str, credited: list[str], plain: bool, with_opportunity: bool) -> None:
    """An invoice with an open finding issued again after its year, credits at that very instant: the credits count
    against the old invoice first, in either order of ids (and the fold agrees with the detector)."""
    deal, first = won("2026-03-01"), invoice("2026-03-02")
    # or an earlier invoice of the id whose finding took the plain key (resolved, final a year after it)
    before = [] if plain else [invoice("2025-03-01 12:00"), credit("2026-03-01 06:00", "100")]
    at = first.occurred_at + ITEM_HORIZON + late
    again = fact("billing.invoice.issued", at, invoiceId="I-1", amount=amount, currency="EUR",
                 **({"opportunityId": "O-1"} if with_opportunity else {}))
    outcomes = []
    for prefix in ("a", "z"):  # the credits' ids before, then after, the issue's
        credits = [fact("billing.credit.issued", at, amount=each, currency="EUR")._replace(event_id=f"{prefix}-{n}")
                   for n, each in enumerate(credited)]
        facts = [deal, *before, first, again, *credits]
        assert_fold_matches_detector(RULE, facts, [timedelta(0)])
        found = findings(RULE, facts, at + timedelta(days=1))
        outcomes.append(sorted((each.key, each.resolved_at, len(each.evidence)) for each in found))
    assert outcomes[0] == outcomes[1]
    assert plain or outcomes[0][0][:2] == ("I-1", datetime(2026, 3, 1, 6, tzinfo=timezone.utc))
