"""What an account earned, renewed and lost in a range, by hand-computed examples."""

from __future__ import annotations

from decimal import Decimal

from projections.attribution.outcomes import Mrr, Revenue, mrr_entering, revenue_of
from projections.attribution.settings import AttributionSettings
from projections.facts import Fact
from tests.unit.rules.builders import at, fact

START, END = at("2026-04-01"), at("2026-07-01")
DEFAULTS = AttributionSettings()


def change(when: str, change: str, mrr: str, currency: str = "USD") -> Fact:
    return fact("billing.subscription.changed", when, change=change, plan="team", mrr=mrr, currency=currency)


def opened(when: str, opportunity: str, amount: str, currency: str = "EUR") -> Fact:
    return fact("sales.opportunity.opened", when, opportunityId=opportunity, kind="new", amount=amount,
                currency=currency)


def won(when: str, amount: str, currency: str = "USD") -> Fact:
    return fact("sales.opportunity.won", when, opportunityId="O-9", amount=amount, currency=currency)


def lost(when: str, opportunity: str) -> Fact:
    return fact("sales.opportunity.lost", when, opportunityId=opportunity, reason="price")


def kinds(found: list[Revenue]) -> list[tuple[str, Decimal | None, str | None]]:
    return [(each.kind, each.amount, each.currency) for each in found]


def test_wins_and_renewals_in_the_range_are_gains_and_the_end_is_the_next_range() -> None:
    facts = [won("2026-03-31 23:59", "100"), won("2026-04-01", "250.50"), change("2026-05-01", "renew", "40", "GBP"),
             won("2026-07-01", "999")]
    gains, losses = revenue_of("A", facts, START, END, DEFAULTS)
    assert kinds(gains) == [("won", Decimal("250.50"), "USD"), ("renewal", Decimal("480"), "GBP")]
    assert losses == []
    assert gains[0].event == f"test/{facts[1].event_id}" and gains[0].account_id == "A"


def test_upgrades_are_gains_only_where_the_settings_count_them() -> None:
    facts = [change("2026-01-01", "start", "100"), change("2026-05-01", "upgrade", "150")]
    assert revenue_of("A", facts, START, END, DEFAULTS)[0] == []
    gains, _ = revenue_of("A", facts, START, END, AttributionSettings(count_upgrades=True))
    assert kinds(gains) == [("upgrade", Decimal("600"), "USD")]  # (150 - 100) x 12


def test_a_lost_opportunity_loses_what_it_was_last_opened_with_or_an_unknown_amount() -> None:
    facts = [opened("2026-01-10", "O-1", "5000"), opened("2026-02-10", "O-1", "7000.25"), lost("2026-04-15", "O-1"),
             lost("2026-04-20", "O-2"), opened("2026-05-01", "O-3", "10"), lost("2026-05-02", "O-3")]
    _, losses = revenue_of("A", facts, START, END, DEFAULTS)
    assert kinds(losses) == [("opportunity_lost", Decimal("7000.25"), "EUR"), ("opportunity_lost", None, None),
                             ("opportunity_lost", Decimal("10"), "EUR")]


def test_a_cancel_loses_a_year_of_the_mrr_before_it() -> None:
    facts = [change("2026-01-01", "start", "100"), change("2026-02-01", "upgrade", "120.50"),
             change("2026-05-01", "cancel", "0"), change("2026-06-01", "cancel", "0")]
    _, losses = revenue_of("A", facts, START, END, DEFAULTS)
    assert kinds(losses) == [("cancelled", Decimal("1446.00"), "USD")]  # a second cancel loses nothing more
    assert revenue_of("B", [change("2026-05-01", "cancel", "0")], START, END, DEFAULTS)[1][0].amount is None


def test_the_mrr_entering_an_instant_is_the_latest_change_before_it() -> None:
    facts = [change("2026-01-01", "start", "100"), change("2026-04-01", "upgrade", "150", "EUR"),
             change("2026-06-01", "cancel", "0", "EUR")]
    assert mrr_entering(facts, at("2026-01-01")) is None
    assert mrr_entering(facts, START) == Mrr("USD", Decimal("100"))  # the change at the start is the range's
    assert mrr_entering(facts, at("2026-05-01")) == Mrr("EUR", Decimal("150"))
    assert mrr_entering(facts, END) == Mrr("EUR", Decimal(0))
