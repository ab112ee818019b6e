"""The item horizon (this project's choice; the spec keeps every id forever).

A ticket, opportunity, invoice or incident that is closed and has had no event for more
than `ITEM_HORIZON` (365 days) is forgotten: a later event of the same id begins a new
item, as if the id had never been seen. The view's open items (`view.open_items`) and
the rules that follow items by id (`sales-pressure-during-escalation`) forget alike, so
an account's state holds the ids of about its last year, not every id it ever had.
"""

from __future__ import annotations

from datetime import datetime, timedelta

ITEM_HORIZON = timedelta(days=365)


def forgotten(last_at: datetime, at: datetime, horizon: timedelta = ITEM_HORIZON) -> bool:
    """A closed item whose last event was at `last_at` is forgotten by `at` (the item horizon, or a longer one)."""
    return at - last_at > horizon
