"""The data-driven model's months (`service.projection.learning`): which months an instant changes, and a month's
credits from its stored effects, by hand."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from service.projection.learning import credits_of, months_changed, stored_units, units_of


def test_a_touch_changes_its_month_and_those_ending_within_the_lookback_after_it() -> None:
    assert months_changed(datetime(2026, 1, 15, tzinfo=timezone.utc), 90) == [
        date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
    assert months_changed(datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc), 30) == [
        date(2026, 12, 1), date(2027, 1, 1)]
    # the month is UTC's: 1 March 00:30 in Berlin is still February in UTC
    berlin = datetime.fromisoformat("2026-03-01T00:30:00+01:00")
    assert months_changed(berlin, 0) == [date(2026, 2, 1)]


def test_a_conversion_is_shared_by_its_keys_effects_and_equally_with_none() -> None:
    units = {("sales", "call"): 500_000_000_000, ("marketing", "email"): 250_000_000_000}
    keys = [("marketing", "email"), ("sales", "call"), ("sales", "call")]
    # marketing 1/4, sales 1/2 shared by its two touches: weights 1 : 1 : 1 of the 3/4 (a third each)
    assert credits_of(Decimal("100.00"), "USD", keys, units) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert credits_of(Decimal("100.00"), "USD", [("marketing", "email"), ("sales", "call")], units) == [
        Decimal("33.33"), Decimal("66.67")]
    assert credits_of(Decimal("100"), "JPY", [("product", "product"), ("support", "call")], units) == [
        Decimal("50"), Decimal("50")]  # no effect learnt for either: equal shares
    assert credits_of(Decimal("10.00"), "EUR", [None], units) == [Decimal("10.00")]  # no touch: unattributed


def test_stored_effects_read_back_as_they_were() -> None:
    units = {("sales", "call"): 500_000_000_000, ("support", "meeting"): 1}
    assert units_of(stored_units(units)) == units
