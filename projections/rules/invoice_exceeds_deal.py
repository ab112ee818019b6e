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

Horizons (this project's choice, `docs/rules.md`; the spec keeps every id forever):
- An invoice is judged against the wins of its opportunity up to the item horizon (a
  year) after its latest issue, that instant included; a later win is of another deal
  and does not judge it again.
- An id issued again more than a year after its latest issue is a new invoice, unless
  the invoice's finding is open then (held, not yet credited; credits at the issue's
  instant count first): an issue replaces an invoice with an open finding however late,
  as a correction does. A new invoice's
  finding takes the plain key unless a finding of an earlier invoice of that id took it,
  and then is keyed `<invoice>@<source>/<id of its latest issue>`.
- A won opportunity that is neither won again nor named by an invoice for more than
  `deal_horizon_days` (730) is forgotten: an invoice naming it later has no win to be
  judged against. Two years, not one: a deal billed once a year is named by an invoice
  a year and a day apart, in a leap year; operators who bill less often set it longer.

As a fold (`Deals`), each opportunity keeps its latest win while it is not forgotten,
and each invoice within its year its credits until they add up to its whole amount: no
win (amounts are never negative) can then ask for more, and a win still to come could
only come after they covered it. At its year's end an invoice is settled: forgotten if
it holds no finding, final if its finding is resolved, and otherwise kept with the win
it was judged against, until credits resolve it or an issue of its id replaces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held, money
from projections.fold import Fold
from projections.history import Timeline
from projections.item_horizon import forgotten
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "invoice-exceeds-deal"
SWEEP_EVERY = timedelta(days=30)


@dataclass(frozen=True)
class Thresholds:
    tolerance_percent: float = 0.5
    deal_horizon_days: int = field(default=730, metadata={
        "minimum": 365, "why": "a deal is kept at least as long as an invoice naming it is judged"})

    @property
    def deal_horizon(self) -> timedelta:
        return timedelta(days=self.deal_horizon_days)


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


def win_for(invoice: Fact, named: list[Fact], horizon: timedelta) -> Fact | None:
    """The win the invoice is judged against, from the wins and issues naming its opportunity (in order): the latest
    win up to a year after the invoice, unless the opportunity went quiet for over `horizon` since."""
    win: Fact | None = None
    last_at = invoice.occurred_at
    for fact in named:
        if forgotten(invoice.occurred_at, fact.occurred_at):
            break
        if win is not None and forgotten(last_at, fact.occurred_at, horizon):
            win = None
        if fact.type == "sales.opportunity.won":
            win = fact
        last_at = fact.occurred_at
    return win


Judged = tuple[Fact, datetime, list[Fact], Fact | None]  # the win, the detection, the credits, the one covering


def excess_of(invoice: Fact, won: Fact | None, thresholds: Thresholds) -> Decimal | None:
    """How much the invoice asks over the win, if more than the tolerance allows in the same currency (else None)."""
    if won is None or won.data.get("currency") != invoice.data.get("currency"):
        return None
    excess = invoice.amount() - won.amount()
    return excess if excess > won.amount() * Decimal(str(thresholds.tolerance_percent)) / 100 else None


def judge(timeline: Timeline, invoice: Fact, named: dict[str, list[Fact]], thresholds: Thresholds) -> Judged | None:
    """The invoice's finding as the facts have it, if it held."""
    opportunity = invoice.data.get("opportunityId")
    won = None if opportunity is None else win_for(invoice, named[str(opportunity)], thresholds.deal_horizon)
    excess = excess_of(invoice, won, thresholds)
    if won is None or excess is None:
        return None
    detected_at = max(invoice.occurred_at, won.occurred_at)
    credits, credited_at = credits_against(timeline, invoice, excess)
    if not held(detected_at, credited_at):
        return None
    return won, detected_at, credits, credits[-1] if credited_at is not None else None


def invoices_of(timeline: Timeline, issues: list[Fact], named: dict[str, list[Fact]],
                thresholds: Thresholds) -> Iterator[tuple[Fact, Judged | None]]:
    """The invoices one id was, in order, each its latest issue and its finding: an issue more than a year after the
    latest begins a new invoice, unless the finding of that one is still open (not covered by the issue's instant: a
    credit at that instant comes first, whatever their order)."""
    current: Fact | None = None
    for issue in issues:
        if current is not None and forgotten(current.occurred_at, issue.occurred_at):
            found = judge(timeline, current, named, thresholds)
            if found is None or (found[3] is not None and found[3].occurred_at <= issue.occurred_at):
                yield current, found
                current = None
        current = issue
    if current is not None:
        yield current, judge(timeline, current, named, thresholds)


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    issues: dict[str, list[Fact]] = {}
    named: dict[str, list[Fact]] = {}  # opportunity id -> its wins and the issues naming it
    for fact in timeline.of("sales.opportunity.won", "billing.invoice.issued"):
        if fact.type == "billing.invoice.issued":
            issues.setdefault(str(fact.data["invoiceId"]), []).append(fact)
        if fact.data.get("opportunityId") is not None:
            named.setdefault(str(fact.data["opportunityId"]), []).append(fact)
    for invoice_id, each in issues.items():
        taken = False  # whether a finding of an earlier invoice of this id took the plain key
        for invoice, found in invoices_of(timeline, each, named, thresholds):
            if found is not None:
                won, detected_at, credits, covering = found
                key = f"{invoice_id}@{invoice.source}/{invoice.event_id}" if taken else invoice_id
                taken = True
                yield finding_of(timeline.account_id, key, won, invoice, credits, detected_at,
                                 moment.resolved_at(None if covering is None else covering.occurred_at))


@state(version=2)
@dataclass(slots=True)
class Invoiced:
    """An invoice naming an opportunity, with the credits after it in its currency, up to its whole amount
    (once settled, up to its excess), the key its finding takes, and once settled the win it was judged against."""

    invoice: Fact
    key: str
    credits: list[Fact] = field(default_factory=list)
    credited: Decimal = Decimal(0)
    won: Fact | None = None  # set when settled, a year after the invoice: its win for good

    @property
    def covered(self) -> bool:
        """Whether the credits cover the invoice's whole amount, so any excess over a win (never negative)."""
        return self.credited >= self.invoice.amount()


@state(version=3)
@dataclass(slots=True)
class Deals:
    """The latest win of each opportunity still known, and the invoices a win or a credit may still change.

    Within its year, an invoice naming an opportunity gathers credits in `invoices` until
    they cover its whole amount; it then moves to `covered` if it holds a finding (its
    evidence) and is forgotten if not: a win still to come would come after those
    credits, so its finding would never hold. A covered invoice whose opportunity is won
    again is judged again, and forgotten if it no longer holds. At the first fact after its
    year (`due` is no later than the earliest), an invoice is settled: forgotten with no
    finding, given up as final (`closing`, until `take_final` takes them) with its finding
    resolved, else kept in `settled` until credits resolve it or an issue of its id replaces
    it; an invoice id whose plain key a settled finding took stays in `keyed`, unless an
    issue replaces that invoice while its finding is open (`replacing` keeps it until the
    instant is over, for a credit of that instant to undo it: `restore`).
    Opportunities quiet past `deal_horizon_days` are dropped when named again or when
    swept (every `SWEEP_EVERY` of the account's time).
    """

    account_id: str
    won: dict[str, tuple[Fact, datetime]] = field(default_factory=dict)  # opportunity -> its latest win, latest naming
    invoices: dict[str, Invoiced] = field(default_factory=dict)  # invoice id -> its latest issue, not covered yet
    covered: dict[str, Invoiced] = field(default_factory=dict)  # invoice id -> its latest issue, covered, holding
    settled: list[Invoiced] = field(default_factory=list)  # past their year, their findings open
    closing: list[Invoiced] = field(default_factory=list)  # settled, their findings resolved, until taken
    keyed: set[str] = field(default_factory=set)  # invoice ids whose plain key a settled finding took
    replacing: list[Invoiced] = field(default_factory=list)  # settled, open, replaced by an issue at `replaced_at`
    replaced_at: datetime | None = None
    due: datetime | None = None  # no invoice within its year was issued earlier
    swept_at: datetime | None = None

    def win(self, opportunity: str) -> Fact | None:
        deal = self.won.get(opportunity)
        return None if deal is None else deal[0]

    def named(self, opportunity: str, at: datetime, horizon: timedelta) -> None:
        """An invoice names the opportunity at `at`: its win is forgotten if it was quiet past `horizon`, else kept
        alive."""
        deal = self.won.get(opportunity)
        if deal is not None:
            if forgotten(deal[1], at, horizon):
                del self.won[opportunity]
            else:
                self.won[opportunity] = (deal[0], at)

    def sweep(self, now: datetime, horizon: timedelta) -> None:
        """Forget the opportunities quiet past `horizon` by `now` (they may never be named again)."""
        if self.swept_at is not None and now - self.swept_at < SWEEP_EVERY:
            return
        self.swept_at = now
        for opportunity in [key for key, (_, last_at) in self.won.items() if forgotten(last_at, now, horizon)]:
            del self.won[opportunity]

    def reopen(self, invoice_id: str, at: datetime) -> None:
        """An issue of the id at `at` replaces its settled invoice whose finding is open, however late: the invoice
        goes (and with it the plain key, if its finding took it), unless a credit of the same instant covers it
        (`restore`): until a later instant, it waits in `replacing`."""
        for each in self.settled:
            if str(each.invoice.data["invoiceId"]) == invoice_id:
                self.settled.remove(each)
                if each.key == invoice_id:
                    self.keyed.discard(invoice_id)
                self.replacing.append(each)
                self.replaced_at = at
                return

    def restore(self, invoiced: Invoiced) -> None:
        """A credit at the instant of the issue that replaced `invoiced` covers it: it came first, so the finding
        is resolved (final), and the issue began a new invoice, keyed apart if the old finding had the plain key."""
        self.replacing.remove(invoiced)
        self.closing.append(invoiced)
        invoice_id = str(invoiced.invoice.data["invoiceId"])
        if invoiced.key == invoice_id:
            self.keyed.add(invoice_id)
            current = self.invoices.get(invoice_id) or self.covered.get(invoice_id)
            if current is not None:
                current.key = f"{invoice_id}@{current.invoice.source}/{current.invoice.event_id}"


def start(account_id: str, thresholds: Thresholds) -> Deals:
    return Deals(account_id)


def step(deals: Deals, fact: Fact, thresholds: Thresholds) -> Deals:
    """Invoices past their year are settled first; then a win replaces the opportunity's last, an invoice its last
    issue, and a credit counts against the invoices it can still close."""
    now = fact.occurred_at
    if deals.replacing and deals.replaced_at != now:  # the instant of their replacement is over
        deals.replacing, deals.replaced_at = [], None
    if deals.due is not None and forgotten(deals.due, now):
        settle(deals, now, thresholds)
    deals.sweep(now, thresholds.deal_horizon)
    if fact.type == "sales.opportunity.won":
        opportunity = str(fact.data["opportunityId"])
        deals.won[opportunity] = (fact, now)
        deals.covered = {key: each for key, each in deals.covered.items()
                         if str(each.invoice.data["opportunityId"]) != opportunity or judged(deals, each, thresholds)}
    elif fact.type == "billing.invoice.issued":
        invoice_id = str(fact.data["invoiceId"])
        deals.invoices.pop(invoice_id, None)
        deals.covered.pop(invoice_id, None)
        deals.reopen(invoice_id, now)
        if fact.data.get("opportunityId") is not None:
            deals.named(str(fact.data["opportunityId"]), now, thresholds.deal_horizon)
            key = f"{invoice_id}@{fact.source}/{fact.event_id}" if invoice_id in deals.keyed else invoice_id
            deals.invoices[invoice_id] = Invoiced(fact, key)
            deals.due = now if deals.due is None else min(deals.due, now)
            cover(deals, invoice_id, thresholds)
    else:
        for invoice_id, each in list(deals.invoices.items()):
            if counts(each, fact):
                credit(each, fact)
                cover(deals, invoice_id, thresholds)
        for each in [each for each in deals.settled if counts(each, fact)]:
            if resolved_by(deals, each, fact, thresholds):
                deals.settled.remove(each)
                deals.closing.append(each)
        for each in [each for each in deals.replacing if counts(each, fact)]:
            if resolved_by(deals, each, fact, thresholds):
                deals.restore(each)
    return deals


def settle(deals: Deals, now: datetime, thresholds: Thresholds) -> None:
    """Settle the invoices whose year ended before `now`: no win from now on judges them."""
    for within in (deals.invoices, deals.covered):
        for invoice_id, each in [(key, each) for key, each in within.items()
                                 if forgotten(each.invoice.occurred_at, now)]:
            del within[invoice_id]
            found = judged(deals, each, thresholds)
            if found is None:
                continue
            each.won = found[0]
            if each.key == invoice_id:
                deals.keyed.add(invoice_id)
            (deals.settled if found[3] is None else deals.closing).append(each)
    deals.due = min((each.invoice.occurred_at for each in [*deals.invoices.values(), *deals.covered.values()]),
                    default=None)


def credit(invoiced: Invoiced, fact: Fact) -> None:
    invoiced.credits.append(fact)
    invoiced.credited += fact.amount()


def resolved_by(deals: Deals, invoiced: Invoiced, fact: Fact, thresholds: Thresholds) -> bool:
    """Count the credit against a settled invoice; whether its finding is resolved now."""
    credit(invoiced, fact)
    found = judged(deals, invoiced, thresholds)
    return found is not None and found[3] is not None


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


def judged(deals: Deals, invoiced: Invoiced, thresholds: Thresholds) -> Judged | None:
    """The win, the detection, the credits counted and the one that covered the excess, if the finding held."""
    invoice = invoiced.invoice
    won = invoiced.won if invoiced.won is not None else deals.win(str(invoice.data.get("opportunityId")))
    excess = excess_of(invoice, won, thresholds)
    if won is None or excess is None:
        return None
    detected_at = max(invoice.occurred_at, won.occurred_at)
    total, counted = Decimal(0), []
    for credit in invoiced.credits:
        counted.append(credit)
        total += credit.amount()
        if total >= excess:
            return (won, detected_at, counted, credit) if held(detected_at, credit.occurred_at) else None
    return won, detected_at, counted, None


def read(deals: Deals, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for invoiced in [*deals.closing, *deals.settled, *deals.covered.values(), *deals.invoices.values()]:
        found = finding_for(deals, invoiced, moment, thresholds)
        if found is not None:
            yield found


def take_final(deals: Deals, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The settled findings that credits resolved: no win judges them again, and their id comes again as another."""
    moment = Moment(now)
    final = [found for each in deals.closing if (found := finding_for(deals, each, moment, thresholds)) is not None]
    deals.closing.clear()
    return final


def finding_for(deals: Deals, invoiced: Invoiced, moment: Moment, thresholds: Thresholds) -> Finding | None:
    found = judged(deals, invoiced, thresholds)
    if found is None:
        return None
    won, detected_at, credits, covering = found
    return finding_of(deals.account_id, invoiced.key, won, invoiced.invoice, credits, detected_at,
                      moment.resolved_at(None if covering is None else covering.occurred_at))


def finding_of(
    account_id: str,
    key: str,
    won: Fact,
    invoice: Fact,
    credits: list[Fact],
    detected_at: datetime,
    resolved_at: datetime | None,
) -> Finding:
    currency = str(invoice.data["currency"])
    summary = (
        f"Billing invoiced {invoice.data['invoiceId']} for {money(invoice.amount(), currency)} on {day(invoice.occurred_at)}, "
        f"{money(invoice.amount() - won.amount(), currency)} more than the {money(won.amount(), currency)} "
        f"of deal {won.data['opportunityId']} won on {day(won.occurred_at)}"
    )
    if credits:
        summary += f"; {money(sum((credit.amount() for credit in credits), Decimal(0)), currency)} has been credited since"
    return finding(
        account_id,
        ID,
        key,
        severity="HIGH",
        departments=("sales", "billing"),
        evidence=[won, invoice, *credits],
        detected_at=detected_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset({"sales.opportunity.won", "billing.invoice.issued", "billing.credit.issued"}), start, step, read,
            take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
