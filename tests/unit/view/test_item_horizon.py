"""The item horizon: a closed item with no event for more than 365 days is forgotten, in the reference and the fold.

Each case is read both ways (`view.open_items` over the facts, and the folded `Items`),
one day either side of the horizon.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from projections.facts import Fact
from projections.history import Timeline
from projections.item_horizon import ITEM_HORIZON
from projections.view import open_items
from projections.view.lifecycle import serious_tickets
from projections.view.model import OpenItem
from projections.view.state.items import Items

START = datetime(2025, 1, 6, 9, tzinfo=timezone.utc)
HORIZON = ITEM_HORIZON


def fact(n: int, event_type: str, at: datetime, **data: Any) -> Fact:
    return Fact(n, event_type, at, "test", f"e-{n}", None, data)


def both(facts: list[Fact], as_of: datetime) -> dict[str, tuple[list[OpenItem], list[OpenItem]]]:
    """Each kind's open items by the reference and by the fold, at `as_of`."""
    timeline = Timeline("acme", facts)
    items = Items()
    for each in facts:
        items.take(each)
    return {
        "tickets": (open_items.open_tickets(timeline), items.open_tickets()),
        "opportunities": (open_items.open_opportunities(timeline), items.open_opportunities()),
        "invoices": (open_items.unpaid_invoices(timeline, as_of), items.unpaid_invoices(as_of)),
        "incidents": (open_items.open_incidents(timeline), items.open_incidents()),
    }


def ticket_reopened_after(idle: timedelta) -> list[Fact]:
    resolved = START + timedelta(days=3)
    return [fact(1, "support.ticket.opened", START, ticketId="T-1", priority="urgent", subject="Export fails"),
            fact(2, "support.ticket.escalated", START + timedelta(days=1), ticketId="T-1"),
            fact(3, "support.ticket.resolved", resolved, ticketId="T-1"),
            fact(4, "support.ticket.reopened", resolved + idle, ticketId="T-1")]


@pytest.mark.parametrize(("idle", "summary"), [
    (HORIZON, "urgent ticket T-1, escalated, \"Export fails\""),  # the horizon itself: still the same ticket
    (HORIZON + timedelta(microseconds=1), "ticket T-1"),  # past it: a new ticket, nothing of before
])
def test_a_ticket_reopened_past_the_horizon_is_a_new_one(idle: timedelta, summary: str) -> None:
    facts = ticket_reopened_after(idle)
    reference, folded = both(facts, facts[-1].occurred_at)["tickets"]
    assert reference == folded
    assert [item.summary.split(", open since")[0] for item in folded] == [summary]


def test_an_open_ticket_is_never_forgotten() -> None:
    facts = [fact(1, "support.ticket.opened", START, ticketId="T-1", priority="high"),
             fact(2, "support.ticket.escalated", START + 3 * HORIZON, ticketId="T-1")]
    reference, folded = both(facts, facts[-1].occurred_at)["tickets"]
    assert reference == folded and folded[0].priority == "high" and folded[0].since == START


def test_a_ticket_escalated_after_the_horizon_is_serious_from_that_escalation() -> None:
    facts = [fact(1, "support.ticket.opened", START, ticketId="T-1", priority="low"),
             fact(2, "support.ticket.escalated", START + timedelta(days=1), ticketId="T-1"),
             fact(3, "support.ticket.resolved", START + timedelta(days=2), ticketId="T-1")]
    later = START + timedelta(days=2) + HORIZON + timedelta(days=1)
    facts += [fact(4, "support.ticket.reopened", later, ticketId="T-1"),
              fact(5, "support.ticket.escalated", later + timedelta(days=5), ticketId="T-1")]
    [signal] = serious_tickets(Timeline("acme", facts))
    assert signal.since == later + timedelta(days=5)  # not the reopening: the first escalation was forgotten


def test_an_opportunity_opened_again_past_the_horizon_has_no_stage_from_before() -> None:
    won = START + timedelta(days=10)
    facts = [fact(1, "sales.opportunity.opened", START, opportunityId="O-1", kind="new", amount="100", currency="EUR"),
             fact(2, "sales.opportunity.stage_changed", START + timedelta(days=1), opportunityId="O-1", stage="demo"),
             fact(3, "sales.opportunity.won", won, opportunityId="O-1", amount="100", currency="EUR")]
    for idle, stage in ((HORIZON, ", at stage demo"), (HORIZON + timedelta(days=1), "")):
        again = [*facts, fact(4, "sales.opportunity.opened", won + idle, opportunityId="O-1", kind="expansion",
                              amount="50", currency="EUR")]
        reference, folded = both(again, won + idle)["opportunities"]
        assert reference == folded
        assert folded[0].summary.startswith(f"expansion opportunity O-1 of 50 EUR{stage}, open since")


def test_an_invoice_issued_again_past_the_horizon_owes_its_whole_amount() -> None:
    paid = START + timedelta(days=5)
    facts = [fact(1, "billing.invoice.issued", START, invoiceId="I-1", amount="100", currency="EUR",
                  dueAt="2025-02-01"),
             fact(2, "billing.payment.received", paid, invoiceId="I-1", amount="150", currency="EUR")]
    for idle, unpaid in ((HORIZON, []), (HORIZON + timedelta(days=1), ["100"])):
        again = [*facts, fact(3, "billing.invoice.issued", paid + idle, invoiceId="I-1", amount="100",
                              currency="EUR", dueAt="2027-01-01")]
        reference, folded = both(again, paid + idle)["invoices"]
        assert reference == folded and [item.amount for item in folded] == unpaid  # the 50 paid over counts, or not


def test_an_unpaid_invoice_is_never_forgotten() -> None:
    facts = [fact(1, "billing.invoice.issued", START, invoiceId="I-1", amount="100", currency="EUR",
                  dueAt="2025-02-01"),
             fact(2, "billing.payment.received", START + 3 * HORIZON, invoiceId="I-1", amount="40", currency="EUR")]
    reference, folded = both(facts, START + 3 * HORIZON)["invoices"]
    assert reference == folded and [item.amount for item in folded] == ["60"]


def test_incidents_of_one_instant_keep_the_order_of_their_ids_once_one_is_forgotten() -> None:
    """A forgotten incident started again takes its place as a new id: after one first started later."""
    facts = [fact(1, "product.incident.started", START, incidentId="A", severity="sev2"),
             fact(2, "product.incident.resolved", START + timedelta(hours=1), incidentId="A"),
             fact(3, "product.incident.started", START + timedelta(days=10), incidentId="B", severity="sev2"),
             fact(4, "product.incident.resolved", START + timedelta(days=10, hours=1), incidentId="B")]
    for idle, order in ((HORIZON - timedelta(days=2), ["A", "B"]), (HORIZON + timedelta(days=2), ["B", "A"])):
        again = START + timedelta(hours=1) + idle
        late = [*facts, fact(5, "product.incident.started", again, incidentId="A", severity="sev1"),
                fact(6, "product.incident.started", again, incidentId="B", severity="sev1")]
        reference, folded = both(late, again)["incidents"]
        assert reference == folded and [item.id for item in folded] == order


def test_the_fold_sweeps_forgotten_ids_out_of_its_state() -> None:
    """Ids never seen again leave the state: it holds about a year of them, not every one."""
    items = Items()
    day = timedelta(days=1)
    for n in range(2000):  # a ticket and an invoice a day for five and a half years, each closed at once
        at = START + n * day
        for each in (fact(4 * n, "support.ticket.opened", at, ticketId=f"T-{n}", priority="low"),
                     fact(4 * n + 1, "support.ticket.resolved", at, ticketId=f"T-{n}"),
                     fact(4 * n + 2, "billing.invoice.issued", at, invoiceId=f"I-{n}", amount="1", currency="EUR",
                          dueAt="2025-02-01"),
                     fact(4 * n + 3, "billing.payment.received", at, invoiceId=f"I-{n}", amount="1", currency="EUR")):
            items.take(each)
    held = HORIZON // day + 1 + 30  # a year and a day, and a sweep's period at most
    assert HORIZON // day < len(items.tickets) <= held and HORIZON // day < len(items.invoices) <= held
