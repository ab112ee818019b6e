"""`invoice-exceeds-deal`: an invoice for more than the won deal it names."""

from __future__ import annotations

import pytest

from projections.facts import Fact
from tests.unit.rules.builders import at, fact, findings, only

RULE = "invoice-exceeds-deal"


def won(when: str, amount: str = "10000", currency: str = "EUR", opportunity: str = "O-3") -> Fact:
    return fact("sales.opportunity.won", when, opportunityId=opportunity, amount=amount, currency=currency)


def invoice(when: str, amount: str = "10100.00", currency: str = "EUR", opportunity: str | None = "O-3") -> Fact:
    data = {"invoiceId": "INV-9", "amount": amount, "currency": currency, "dueAt": "2026-04-05"}
    return fact("billing.invoice.issued", when, **data, **({"opportunityId": opportunity} if opportunity else {}))


def credit(when: str, amount: str, currency: str = "EUR") -> Fact:
    return fact("billing.credit.issued", when, amount=amount, currency=currency, reason="overbilling")


def test_an_invoice_above_the_deal_fires() -> None:
    deal, billed = won("2026-03-01"), invoice("2026-03-05 09:00")
    found = only(RULE, [deal, billed], "2026-03-10")
    assert found.severity == "HIGH"
    assert found.departments == ("sales", "billing")
    assert found.key == "INV-9"
    assert found.detected_at == at("2026-03-05 09:00")
    assert found.resolved_at is None
    assert found.evidence == (deal, billed)
    assert found.summary == (
        "Billing invoiced INV-9 for 10100.00 EUR on 5 Mar 2026, 100.00 EUR more than the 10000 EUR "
        "of deal O-3 won on 1 Mar 2026."
    )


@pytest.mark.parametrize(("amount", "fires"), [("10050.01", True), ("10050", False), ("10000", False), ("9000", False)])
def test_it_fires_only_beyond_half_a_percent_of_the_deal(amount: str, fires: bool) -> None:
    assert len(findings(RULE, [won("2026-03-01"), invoice("2026-03-05", amount)], "2026-03-10")) == (1 if fires else 0)


def test_another_currency_never_fires() -> None:
    assert findings(RULE, [won("2026-03-01", currency="USD"), invoice("2026-03-05", "20000")], "2026-03-10") == []


@pytest.mark.parametrize("opportunity", [None, "O-4"])
def test_an_invoice_without_that_opportunity_does_not_fire(opportunity: str | None) -> None:
    assert findings(RULE, [won("2026-03-01"), invoice("2026-03-05", opportunity=opportunity)], "2026-03-10") == []


def test_the_deal_may_be_won_after_the_invoice() -> None:
    facts = [invoice("2026-03-01"), won("2026-03-05 09:00")]
    assert only(RULE, facts, "2026-03-10").detected_at == at("2026-03-05 09:00")
    assert findings(RULE, facts, "2026-03-05 08:59") == []  # as of before the deal was won


def test_the_latest_win_of_the_deal_counts() -> None:
    facts = [won("2026-03-01"), invoice("2026-03-05"), won("2026-03-07", "10100")]
    assert len(findings(RULE, facts, "2026-03-06")) == 1
    assert findings(RULE, facts, "2026-03-10") == []


def test_it_closes_when_credits_after_the_invoice_reach_the_difference() -> None:
    first, second = credit("2026-03-08", "40"), credit("2026-03-12 15:00", "60")
    facts = [won("2026-03-01"), invoice("2026-03-05"), first, second]
    found = only(RULE, facts, "2026-03-20")
    assert found.resolved_at == at("2026-03-12 15:00")
    assert found.evidence[2:] == (first, second)
    assert found.summary.endswith("; 100 EUR has been credited since.")
    assert only(RULE, facts, "2026-03-12 14:59").resolved_at is None
    assert only(RULE, facts, "2026-03-10").summary.endswith("; 40 EUR has been credited since.")


def test_credits_before_the_invoice_or_in_another_currency_do_not_count() -> None:
    facts = [won("2026-03-01"), credit("2026-03-04", "100"), invoice("2026-03-05"), credit("2026-03-08", "100", "USD")]
    found = only(RULE, facts, "2026-03-20")
    assert found.resolved_at is None and len(found.evidence) == 2


@pytest.mark.parametrize("credited", ["2026-03-02", "2026-03-05"])
def test_credits_that_covered_the_difference_by_the_time_the_deal_was_won_mean_it_never_held(credited: str) -> None:
    """Invoiced 1 Mar, 100 EUR credited 2 Mar (or 5 Mar, as the deal is won): never more than sold."""
    facts = [invoice("2026-03-01"), credit(credited, "100"), won("2026-03-05")]
    assert findings(RULE, facts, "2026-03-10") == []
    assert findings(RULE, facts, "2026-03-05") == []


def test_credits_short_of_the_difference_when_the_deal_is_won_leave_it_open_until_they_reach_it() -> None:
    facts = [invoice("2026-03-01"), credit("2026-03-02", "60"), won("2026-03-05"), credit("2026-03-05 00:01", "40")]
    found = only(RULE, facts, "2026-03-10")
    assert (found.detected_at, found.resolved_at) == (at("2026-03-05"), at("2026-03-05 00:01"))


def test_a_late_credit_dated_before_the_win_takes_the_finding_back() -> None:
    """Reported open from the win on 5 Mar; a 100 EUR credit of 4 Mar that arrives afterwards shows it never held."""
    facts = [invoice("2026-03-01"), won("2026-03-05")]
    assert only(RULE, facts, "2026-03-10").resolved_at is None
    assert findings(RULE, [*facts, credit("2026-03-04", "100")], "2026-03-10") == []


def test_the_evidence_is_the_credits_counted_against_the_excess() -> None:
    """Credits after the invoice in its currency, up to the one that reaches the 100 EUR; none after it."""
    counted = [credit("2026-03-08", "40"), credit("2026-03-09", "60")]
    facts = [won("2026-03-01"), credit("2026-03-04", "100"), invoice("2026-03-05"), credit("2026-03-06", "500", "USD"),
             *counted, credit("2026-03-10", "25")]
    assert only(RULE, facts, "2026-03-20").evidence == (facts[0], facts[2], *counted)


def test_the_tolerance_is_a_threshold() -> None:
    assert findings(RULE, [won("2026-03-01"), invoice("2026-03-05")], "2026-03-10", tolerance_percent=2) == []
    facts = [won("2026-03-01"), invoice("2026-03-05", "10000.01")]
    assert len(findings(RULE, facts, "2026-03-10", tolerance_percent=0)) == 1


def test_a_win_more_than_a_year_after_an_invoice_is_another_deal_that_does_not_judge_it_again() -> None:
    """docs/rules.md's example: the renewal neither resolves the old invoice nor spares the new one its own judging;
    the old invoice issued again (corrected) while its finding is open replaces it, however late."""
    deal, billed, renewal = won("2025-03-01"), invoice("2025-03-05"), won("2026-03-10", amount="12000")
    found = only(RULE, [deal, billed, renewal], "2026-04-01")
    assert (found.key, found.resolved_at, found.evidence) == ("INV-9", None, (deal, billed))
    renewed = fact("billing.invoice.issued", "2026-03-15", invoiceId="INV-10", amount="12100.00", currency="EUR",
                   dueAt="2026-04-15", opportunityId="O-3")
    found = findings(RULE, [deal, billed, renewal, renewed], "2026-04-01")
    assert sorted((each.key, each.evidence) for each in found) == [("INV-10", (renewal, renewed)),
                                                                   ("INV-9", (deal, billed))]
    corrected = invoice("2026-03-20", amount="10000.00")  # judged against the renewal: no excess
    assert [each.key for each in findings(RULE, [deal, billed, renewal, renewed, corrected], "2026-04-01")] == [
        "INV-10"]


def test_a_deal_billed_every_two_years_needs_a_longer_deal_horizon() -> None:
    """Named 732 days apart: forgotten by the default 730 days, judged with `deal_horizon_days` set longer."""
    deal, first = won("2024-01-01"), invoice("2024-01-01", amount="10000")
    second = fact("billing.invoice.issued", "2026-01-02", invoiceId="INV-10", amount="11000", currency="EUR",
                  dueAt="2026-02-01", opportunityId="O-3")
    assert findings(RULE, [deal, first, second], "2026-02-01") == []
    assert only(RULE, [deal, first, second], "2026-02-01", deal_horizon_days=1100).key == "INV-10"
