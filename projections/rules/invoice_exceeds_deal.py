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

As a fold (`Deals`), each opportunity keeps its latest win and each invoice its credits
until they add up to its whole amount: no win (amounts are never negative) can then ask
for more, and a win still to come could only come after they covered it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held, money
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

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


@state(version=1)
@dataclass(slots=True)
class Invoiced:
    """An invoice naming an opportunity, with the credits after it in its currency, up to its whole amount."""

    invoice: Fact
    credits: list[Fact] = field(default_factory=list)
    credited: Decimal = Decimal(0)

    @property
    def covered(self) -> bool:
        """Whether the credits cover the invoice's whole amount, so any excess over a win (never negative)."""
        return self.credited >= self.invoice.amount()


@state(version=1)
@dataclass(slots=True)
class Deals:
    """The latest win of each opportunity, and the invoices a win may still make (or keep) a finding of.

    Bounded: one win per opportunity. An invoice naming an opportunity gathers credits
    in `invoices` until they cover its whole amount; it then moves to `covered` if it
    holds a finding (its evidence) and is forgotten if not: a win still to come would
    come after those credits, so its finding would never hold. A covered invoice whose
    opportunity is won again is judged again, and forgotten if it no longer holds.
    """

    account_id: str
    won: dict[str, Fact] = field(default_factory=dict)  # opportunity id -> its latest win
    invoices: dict[str, Invoiced] = field(default_factory=dict)  # invoice id -> its latest issue, not covered yet
    covered: dict[str, Invoiced] = field(default_factory=dict)  # invoice id -> its latest issue, covered, holding


def start(account_id: str, thresholds: Thresholds) -> Deals:
    return Deals(account_id)


def step(deals: Deals, fact: Fact, thresholds: Thresholds) -> Deals:
    """A win replaces the opportunity's last; an invoice its last issue; a credit counts against open invoices."""
    if fact.type == "sales.opportunity.won":
        opportunity = str(fact.data["opportunityId"])
        deals.won[opportunity] = fact
        deals.covered = {key: each for key, each in deals.covered.items()
                         if str(each.invoice.data["opportunityId"]) != opportunity or judged(deals, each, thresholds)}
    elif fact.type == "billing.invoice.issued":
        key = str(fact.data["invoiceId"])
        deals.invoices.pop(key, None)
        deals.covered.pop(key, None)
        if fact.data.get("opportunityId") is not None:
            deals.invoices[key] = Invoiced(fact)
            cover(deals, key, thresholds)
    else:
        for key, each in list(deals.invoices.items()):
            if counts(each, fact):
                each.credits.append(fact)
                each.credited += fact.amount()
                cover(deals, key, thresholds)
    return deals


def cover(deals: Deals, key: str, thresholds: Thresholds) -> None:
    """Move an invoice whose credits cover its whole amount to `covered`, if it holds a finding."""
    invoiced = deals.invoices[key]
    if invoiced.covered:
        del deals.invoices[key]
        if judged(deals, invoiced, thresholds) is not None:
            deals.covered[key] = invoiced


def counts(invoiced: Invoiced, credit: Fact) -> bool:
    """Whether the credit counts against the invoice: after it, in its currency."""
    invoice = invoiced.invoice
    return credit.occurred_at > invoice.occurred_at and credit.data.get("currency") == invoice.data.get("currency")


Judged = tuple[Fact, datetime, list[Fact], datetime | None]


def judged(deals: Deals, invoiced: Invoiced, thresholds: Thresholds) -> Judged | None:
    """The win, the detection, the credits counted and when they covered the excess, if the finding held."""
    invoice = invoiced.invoice
    won = deals.won.get(str(invoice.data.get("opportunityId")))
    if won is None or won.data.get("currency") != invoice.data.get("currency"):
        return None
    excess = invoice.amount() - won.amount()
    if excess <= won.amount() * Decimal(str(thresholds.tolerance_percent)) / 100:
        return None
    detected_at = max(invoice.occurred_at, won.occurred_at)
    total, counted = Decimal(0), []
    for credit in invoiced.credits:
        counted.append(credit)
        total += credit.amount()
        if total >= excess:
            return (won, detected_at, counted, credit.occurred_at) if held(detected_at, credit.occurred_at) else None
    return won, detected_at, counted, None


def read(deals: Deals, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for invoice_id, invoiced in [*deals.covered.items(), *deals.invoices.items()]:
        found = judged(deals, invoiced, thresholds)
        if found is not None:
            won, detected_at, credits, credited_at = found
            yield finding_of(deals.account_id, invoice_id, won, invoiced.invoice, credits, detected_at,
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


FOLD = Fold(frozenset({"sales.opportunity.won", "billing.invoice.issued", "billing.credit.issued"}), start, step, read)
RULE = Rule(ID, Thresholds(), detect, FOLD)
