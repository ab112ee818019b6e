"""Touches and conversions: what attribution reads from an account's facts.

A touch is something one of our departments did with the account: an outbound touch
(`events.md`: a campaign sent, sales outreach, a support contact, a dunning letter), a
marketing engagement, a resolved ticket or an adopted feature. Its channel is the
event's own `channel` where it has one, else the kind of touch (`ticket`, `product`, or
`unspecified` for a dunning letter that names none); its campaign is the marketing
event's `campaignId`.

A conversion is a won opportunity (its amount) and, where the settings say so, a
subscription upgrade (the rise in MRR times 12, see `upgrade_amount`).

Touches count for a conversion within the lookback window before it: in
(conversion - lookback, conversion], the same half-open window as every other count
of the project (`facts.within`). A touch at the very instant of the conversion counts:
it did not come after it. Touches of one instant are ordered as all facts are, by
`(occurredAt, source, id)`, never by arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from domain.catalogue import OUTBOUND_TOUCHES
from projections.attribution.settings import AttributionSettings
from projections.customers import CHANGES, WINS
from projections.facts import Fact, within

TOUCHES = frozenset({*OUTBOUND_TOUCHES, "marketing.engagement.recorded", "support.ticket.resolved",
                     "product.feature.adopted"})
CONVERSIONS = frozenset({WINS, CHANGES})
READS = TOUCHES | CONVERSIONS
CHANNEL_OF_KIND = {"support.ticket.resolved": "ticket", "product.feature.adopted": "product"}
NO_CHANNEL = "unspecified"
MONTHS = 12

Key = tuple[str, str]  # (department, channel): a state of the data-driven model


class Touch(NamedTuple):
    fact: Fact
    department: str
    channel: str
    campaign: str | None
    actor: str | None

    @property
    def at(self) -> datetime:
        return self.fact.occurred_at

    @property
    def key(self) -> Key:
        return (self.department, self.channel)


class Conversion(NamedTuple):
    fact: Fact
    kind: str  # won | upgrade
    amount: Decimal
    currency: str

    @property
    def at(self) -> datetime:
        return self.fact.occurred_at


def touch_of(fact: Fact) -> Touch | None:
    """The touch a fact is, or None if it is none."""
    if fact.type not in TOUCHES:
        return None
    channel = fact.text("channel") or CHANNEL_OF_KIND.get(fact.type, NO_CHANNEL)
    campaign = fact.text("campaignId") if fact.department == "marketing" else None
    return Touch(fact, fact.department, channel, campaign, fact.actor)


def touches_of(facts: Iterable[Fact]) -> list[Touch]:
    """The touches among facts, in `(occurredAt, source, id)` order."""
    found = [touch for fact in facts if (touch := touch_of(fact)) is not None]
    return sorted(found, key=lambda touch: touch.fact.order)


def conversions_of(facts: Sequence[Fact], settings: AttributionSettings) -> list[Conversion]:
    """The conversions among an account's facts (in `(occurredAt, source, id)` order), in that order."""
    found: list[Conversion] = []
    previous: Fact | None = None  # the latest subscription change so far
    for fact in facts:
        if (conversion := conversion_of(fact, previous, settings)) is not None:
            found.append(conversion)
        if fact.type == CHANGES:
            previous = fact
    return found


def conversion_of(fact: Fact, previous: Fact | None, settings: AttributionSettings) -> Conversion | None:
    """The conversion a fact is, if any, given the subscription change before it."""
    if fact.type == WINS:
        return Conversion(fact, "won", fact.amount(), str(fact.data["currency"]))
    if fact.type == CHANGES and settings.count_upgrades and fact.data.get("change") == "upgrade":
        amount = upgrade_amount(previous, fact)
        if amount > 0:
            return Conversion(fact, "upgrade", amount, str(fact.data["currency"]))
    return None


def upgrade_amount(previous: Fact | None, upgrade: Fact) -> Decimal:
    """A year of the MRR an upgrade adds: (its MRR - the MRR before it) x 12.

    The MRR before is the previous subscription change's, in the same currency and not a
    cancel; otherwise the account paid nothing in that currency, and the whole MRR is new.
    An "upgrade" to no more MRR than before adds nothing, and converts nothing.
    """
    before = Decimal(0)
    if previous is not None and previous.data.get("change") != "cancel" \
            and previous.data.get("currency") == upgrade.data.get("currency"):
        before = previous.amount("mrr")
    return (upgrade.amount("mrr") - before) * MONTHS


def in_window(touches: Iterable[Touch], conversion: Conversion, lookback_days: int) -> list[Touch]:
    """The touches that count for a conversion: in (conversion - lookback, conversion], in order."""
    return [touch for touch in touches if within(touch.fact, conversion.at, lookback_days)]


class Journey(NamedTuple):
    """One path of touches, and whether it ended in a conversion: what the data-driven model learns from."""

    path: tuple[Key, ...]
    converted: bool


def journeys_of(facts: Sequence[Fact], settings: AttributionSettings, until: datetime) -> list[Journey]:
    """An account's journeys up to `until`: one per conversion (its touches in the window), then,
    if any touches followed the last conversion within the window before `until`, one that
    has not converted (yet). An account with no touch and no conversion has no journey."""
    facts = [fact for fact in facts if fact.occurred_at <= until]
    touches = touches_of(facts)
    conversions = conversions_of(facts, settings)
    found = [Journey(tuple(touch.key for touch in in_window(touches, each, settings.lookback_days)), True)
             for each in conversions]
    since = conversions[-1].at if conversions else None
    open_path = tuple(touch.key for touch in touches
                      if (since is None or touch.at > since) and within(touch.fact, until, settings.lookback_days))
    if open_path:
        found.append(Journey(open_path, False))
    return found
