"""`invoice-exceeds-deal`: billing invoices more than sales sold (HIGH, sales and billing).

A `billing.invoice.issued` naming an `opportunityId` is compared with the
`sales.opportunity.won` of that opportunity (if it was won several times, the latest
one known at the moment). It fires when both are in the same currency (a different
currency never fires) and invoice - won > won x 0.5 % (strictly greater), in exact
decimal arithmetic. Either event may come first: it became true at the later of the two.
If an invoice id was issued several times, its latest issue is the invoice.

Key: the invoice. It closes when `billing.credit.issued` events after the invoice, in
its currency, add up to at least the difference, at the credit that reaches the sum;
the evidence is the won deal, the invoice and the credits up to that one. Credits that
reach the sum at or before the detection (a deal won after the invoice and its credits)
mean the finding never held: there is none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held, money
from projections.history import Timeline
from projections.rules.rule import Rule

ID = "invoice-exceeds-deal"


@dataclass(frozen=True)
class Thresholds:
    tolerance_percent: float = 0.5


def credits_against(timeline: Timeline, invoice: Fact, excess: Decimal) -> tuple[list[Fact], datetime | None]:
    """The credits counted against the excess, and when they reached it (None if not yet)."""
    counted: list[Fact] = []
    total = Decimal(0)
    for credit in timeline.of("billing.credit.issued"):
        if credit.occurred_at <= invoice.occurred_at or credit.data.get("currency") != invoice.data.get("currency"):
            continue
        counted.append(credit)
        total += credit.amount()
        if total >= excess:
            return counted, credit.occurred_at
    return counted, None


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    won_deals = {str(fact.data["opportunityId"]): fact for fact in timeline.of("sales.opportunity.won")}
    invoices = {str(fact.data["invoiceId"]): fact for fact in timeline.of("billing.invoice.issued")}
    tolerance = Decimal(str(thresholds.tolerance_percent)) / 100
    for invoice_id, invoice in invoices.items():
        opportunity = invoice.data.get("opportunityId")
        won = None if opportunity is None else won_deals.get(str(opportunity))
        if won is None or won.data.get("currency") != invoice.data.get("currency"):
            continue
        excess = invoice.amount() - won.amount()
        if excess <= won.amount() * tolerance:
            continue
        detected_at = max(invoice.occurred_at, won.occurred_at)
        credits, credited_at = credits_against(timeline, invoice, excess)
        if held(detected_at, credited_at):
            yield finding_of(timeline.account_id, invoice_id, won, invoice, credits, detected_at,
                             moment.resolved_at(credited_at))


def finding_of(
    account_id: str,
    invoice_id: str,
    won: Fact,
    invoice: Fact,
    credits: list[Fact],
    detected_at: datetime,
    resolved_at: datetime | None,
) -> Finding:
    currency = str(invoice.data["currency"])
    summary = (
        f"Billing invoiced {invoice_id} for {money(invoice.amount(), currency)} on {day(invoice.occurred_at)}, "
        f"{money(invoice.amount() - won.amount(), currency)} more than the {money(won.amount(), currency)} "
        f"of deal {won.data['opportunityId']} won on {day(won.occurred_at)}"
    )
    if credits:
        summary += f"; {money(sum((credit.amount() for credit in credits), Decimal(0)), currency)} has been credited since"
    return finding(
        account_id,
        ID,
        invoice_id,
        severity="HIGH",
        departments=("sales", "billing"),
        evidence=[won, invoice, *credits],
        detected_at=detected_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


RULE = Rule(ID, Thresholds(), detect)
