"""Facts: the sort key built in C is the order property, field for field."""

from __future__ import annotations

from datetime import datetime, timezone

from projections.facts import ORDER, Fact


def test_the_c_sort_key_is_the_order_of_a_fact() -> None:
    fact = Fact(9, "sales.outreach.sent", datetime(2026, 3, 2, tzinfo=timezone.utc), "crm", "e-9", "c-1",
                {"channel": "email"}, "rep-1")
    assert ORDER(fact) == fact.order == (fact.occurred_at, "crm", "e-9")
