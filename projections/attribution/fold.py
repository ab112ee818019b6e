"""Attribution as a fold: an account's touches still inside the lookback window, advanced one fact at a time.

Facts come in `(occurredAt, source, id)` order, as for every fold (`projections.fold`).
A conversion from the latest fact on counts touches after (latest - lookback), so the
state keeps only those touches: bounded by the window, whatever the account's age.

A conversion is *settled* once a fact of a later instant is taken: no touch can join
its window any more (a touch of its own instant may still come after it in the order,
and counts). `take_settled` gives the settled conversions up with their touches, once
each, for the caller to credit (`models.attribute`) and keep; reading the state at a
moment gives the conversions not yet taken, settled as of then, and the touches since
the last conversion (the journey that has not converted, for the data-driven model).
The same as `journeys` computes from the facts up to that moment at once, which the
tests check on generated histories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from projections.attribution.journeys import (
    TOUCHES,
    Conversion,
    Touch,
    conversion_of,
    touches_of,
)
from projections.attribution.settings import AttributionSettings
from projections.customers import CHANGES
from projections.facts import Fact, drop_facts_through, within
from projections.state_codec import state


class Converted(NamedTuple):
    """A conversion and the touches in its window, in order: what a model credits."""

    conversion: Conversion
    touches: tuple[Touch, ...]


@state(version=1)
@dataclass(frozen=True, slots=True)
class Waiting:
    """A conversion not settled yet (a `Conversion` as the checkpoint keeps it)."""

    fact: Fact
    kind: str
    amount: Decimal
    currency: str


@state(version=1)
@dataclass(frozen=True, slots=True)
class Settled:
    conversion: Waiting
    touches: list[Fact]  # in its window, in order


@state(version=1)
@dataclass(slots=True)
class Attributing:
    account_id: str
    touches: list[Fact] = field(default_factory=list)  # after (latest - lookback), in order
    change: Fact | None = None  # the latest subscription change: what an upgrade adds to
    waiting: list[Waiting] = field(default_factory=list)  # conversions of the latest instant
    settled: list[Settled] = field(default_factory=list)  # until taken
    converted_at: datetime | None = None  # the latest conversion's instant


def start(account_id: str) -> Attributing:
    return Attributing(account_id)


def step(account: Attributing, fact: Fact, settings: AttributionSettings) -> Attributing:
    """The state with one more fact, which comes after every fact taken so far."""
    if account.waiting and account.waiting[0].fact.occurred_at < fact.occurred_at:
        account.settled += settle(account, settings)
        account.waiting = []
    horizon = fact.occurred_at - timedelta(days=settings.lookback_days)
    drop_facts_through(account.touches, horizon)
    if fact.type in TOUCHES:  # a touch (`touch_of`), kept as its fact
        account.touches.append(fact)
    elif (conversion := conversion_of(fact, account.change, settings)) is not None:
        account.waiting.append(Waiting(*conversion))
        account.converted_at = fact.occurred_at
    if fact.type == CHANGES:
        account.change = fact
    return account


def take_settled(account: Attributing) -> list[Converted]:
    """The conversions settled since last asked, with their touches, taken out of the state."""
    taken, account.settled = account.settled, []
    return [converted(each) for each in taken]


def read(account: Attributing, as_of: datetime, settings: AttributionSettings) -> tuple[list[Converted], list[Touch]]:
    """At `as_of` (no earlier than the latest fact taken): the conversions not taken yet, and the
    touches since the latest conversion within the window before `as_of`. Changes nothing."""
    since = account.converted_at
    open_touches = touches_of(fact for fact in account.touches
                              if (since is None or fact.occurred_at > since)
                              and within(fact, as_of, settings.lookback_days))
    return not_taken(account, settings), open_touches


def not_taken(account: Attributing, settings: AttributionSettings) -> list[Converted]:
    """`read`'s conversions alone (those not taken yet, with their touches), at any moment from the latest fact on:
    what the projector keeps as live credit rows. Without the open journey's touches, which cost a touch per fact of
    the window."""
    return [converted(each) for each in (*account.settled, *settle(account, settings))]


def settle(account: Attributing, settings: AttributionSettings) -> list[Settled]:
    """The waiting conversions with the touches in their windows."""
    return [Settled(waiting, [fact for fact in account.touches if within(fact, waiting.fact.occurred_at,
                                                                          settings.lookback_days)])
            for waiting in account.waiting]


def converted(settled: Settled) -> Converted:
    waiting = settled.conversion
    return Converted(Conversion(waiting.fact, waiting.kind, waiting.amount, waiting.currency),
                     tuple(touches_of(settled.touches)))
