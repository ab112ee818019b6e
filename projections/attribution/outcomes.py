"""What an account earned, renewed, lost and paid over a range: the revenue side of the contradictions' cost and CX impact.

A range is `[start, end)`: an event at `start` is in it, one at `end` is in the next
(months tile: a monthly report counts each event once).

- **Conversions**, as attribution has them (a won opportunity; an upgrade where the
  settings count upgrades), and **renewals** (a subscription change `renew`: a year of
  its MRR).
- **Losses**: a lost opportunity (the amount it was opened with, the latest `opened`
  before it; unknown if it was never opened with one) and a cancelled subscription (a
  year of the MRR before the cancel, in its currency; unknown if no change came before
  it; none if it was cancelled already).
- **MRR entering an instant**: that of the latest subscription change before it (0 after
  a cancel; none before the first change). The MRR a range starts with is the MRR entering
  `start`, the one it ends with the MRR entering `end`: a change at `start` is the range's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from projections.attribution.journeys import MONTHS, conversion_of
from projections.attribution.settings import AttributionSettings
from projections.customers import CHANGES, WINS
from projections.facts import Fact

OPENED = "sales.opportunity.opened"
LOST = "sales.opportunity.lost"
READS = frozenset({WINS, CHANGES, OPENED, LOST})  # the event types these outcomes read


class Revenue(NamedTuple):
    """A conversion, a renewal or a loss of one account."""

    account_id: str
    at: datetime
    kind: str  # won | upgrade | renewal | opportunity_lost | cancelled
    amount: Decimal | None  # None: a loss whose amount was never known
    currency: str | None
    event: str  # `source/id` of the event it is


class Mrr(NamedTuple):
    currency: str
    amount: Decimal


def in_range(at: datetime, start: datetime, end: datetime) -> bool:
    return start <= at < end


def revenue_of(account_id: str, facts: Sequence[Fact], start: datetime, end: datetime,
               settings: AttributionSettings) -> tuple[list[Revenue], list[Revenue]]:
    """(conversions and renewals, losses) of an account in `[start, end)`, from its facts in order."""
    gains: list[Revenue] = []
    losses: list[Revenue] = []
    previous: Fact | None = None  # the latest subscription change so far
    opened: dict[str, Fact] = {}  # opportunity id -> its latest `opened`
    for fact in facts:
        if in_range(fact.occurred_at, start, end):
            found = gain_of(account_id, fact, previous, settings)
            if found is not None:
                gains.append(found)
            lost = loss_of(account_id, fact, previous, opened)
            if lost is not None:
                losses.append(lost)
        if fact.type == CHANGES:
            previous = fact
        elif fact.type == OPENED:
            opened[str(fact.data["opportunityId"])] = fact
    return gains, losses


def gain_of(account_id: str, fact: Fact, previous: Fact | None, settings: AttributionSettings) -> Revenue | None:
    event = f"{fact.source}/{fact.event_id}"
    if fact.type == CHANGES and fact.data.get("change") == "renew":
        return Revenue(account_id, fact.occurred_at, "renewal", fact.amount("mrr") * MONTHS, str(fact.data["currency"]),
                       event)
    conversion = conversion_of(fact, previous, settings)
    if conversion is None:
        return None
    return Revenue(account_id, fact.occurred_at, conversion.kind, conversion.amount, conversion.currency, event)


def loss_of(account_id: str, fact: Fact, previous: Fact | None, opened: dict[str, Fact]) -> Revenue | None:
    event = f"{fact.source}/{fact.event_id}"
    if fact.type == LOST:
        origin = opened.get(str(fact.data["opportunityId"]))
        if origin is None:
            return Revenue(account_id, fact.occurred_at, "opportunity_lost", None, None, event)
        return Revenue(account_id, fact.occurred_at, "opportunity_lost", origin.amount(), str(origin.data["currency"]),
                       event)
    if fact.type == CHANGES and fact.data.get("change") == "cancel":
        before = mrr_of(previous)
        if before is None:  # paid before, but what is not known here
            return Revenue(account_id, fact.occurred_at, "cancelled", None, None, event)
        if not before.amount:  # cancelled already: nothing more is lost
            return None
        return Revenue(account_id, fact.occurred_at, "cancelled", before.amount * MONTHS, before.currency, event)
    return None


def mrr_of(change: Fact | None) -> Mrr | None:
    """The MRR a subscription change leaves: none without a change, 0 after a cancel."""
    if change is None:
        return None
    currency = str(change.data["currency"])
    return Mrr(currency, Decimal(0) if change.data.get("change") == "cancel" else change.amount("mrr"))


def mrr_entering(facts: Sequence[Fact], instant: datetime) -> Mrr | None:
    """The MRR entering an instant: that of the latest subscription change before it (facts in order)."""
    latest: Fact | None = None
    for fact in facts:
        if fact.occurred_at >= instant:
            break
        if fact.type == CHANGES:
            latest = fact
    return mrr_of(latest)
