"""`Query.attribution` and `Account.attribution`: revenue credited to the touches of every department."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Optional

import strawberry

from projections.attribution.settings import MAX_LOOKBACK_DAYS
from projections.attribution.totals import Total
from service.access.scopes import VIEWS_READ
from service.api.context import Info
from service.api.errors import BadInput
from service.api.permissions import needs
from service.read.attribution import ConversionCredits, TouchCredit

MAX_RANGE = timedelta(days=MAX_LOOKBACK_DAYS)  # ten years


@strawberry.enum(description="How a conversion's amount is shared among the touches in its lookback window.")
class AttributionModel(Enum):
    FIRST_TOUCH = strawberry.enum_value("first_touch", description="All of it to the first touch.")
    LAST_TOUCH = strawberry.enum_value("last_touch", description="All of it to the last touch.")
    LINEAR = strawberry.enum_value("linear", description="Equal shares.")
    TIME_DECAY = strawberry.enum_value("time_decay", description="A touch's weight halves every half-life it came "
                                                                 "before the conversion.")
    POSITION_BASED = strawberry.enum_value("position_based", description="40% first, 40% last, 20% shared by the "
                                                                         "touches between.")
    DATA_DRIVEN = strawberry.enum_value("data_driven", description="By each department-and-channel's removal effect "
                                                                   "over the journeys of all accounts (a Markov chain), "
                                                                   "learnt month by month: a conversion is credited by "
                                                                   "its own calendar month's journeys (UTC), whatever "
                                                                   "the range asked for.")


@strawberry.enum(description="What the credits are summed by.")
class AttributionGroup(Enum):
    DEPARTMENT = strawberry.enum_value("department", description="The department of each touch.")
    CHANNEL = strawberry.enum_value("channel", description="The channel of each touch.")
    CAMPAIGN = strawberry.enum_value("campaign", description="The marketing campaign of each touch (null: none).")
    ACTOR = strawberry.enum_value("actor", description="Who on our side acted (null: not named).")


@strawberry.type(description="Credits of one group in one currency: amounts in different currencies are never added.")
class AttributionTotal:
    currency: str = strawberry.field(description="ISO 4217: every amount of the row is in it.")
    group: Optional[str] = strawberry.field(description="The department, channel, campaign or actor; null for "
                                                        "unattributed revenue, or touches without one (no campaign).")
    unattributed: bool = strawberry.field(description="The row of conversions no touch preceded in its window: their "
                                                      "whole amount, counted, not dropped.")
    amount: Decimal = strawberry.field(description="The credits summed, exactly.")
    conversions: int = strawberry.field(description="The conversions the amount comes from (each counted once).")
    touches: int = strawberry.field(description="The touches credited (0 in the unattributed row).")

    @staticmethod
    def from_total(total: Total) -> AttributionTotal:
        return AttributionTotal(currency=total.currency, group=total.group, unattributed=total.unattributed,
                                amount=total.amount, conversions=total.conversions, touches=total.touches)


@strawberry.type(description="One touch's credit for a conversion.")
class AttributionCredit:
    event_id: strawberry.ID = strawberry.field(description="The touch's event id (the producer's).")
    occurred_at: datetime = strawberry.field(description="When the touch happened.")
    department: str = strawberry.field(description="The department that touched the account.")
    channel: str = strawberry.field(description="The event's channel, else the kind of touch (ticket, product, "
                                                "unspecified).")
    campaign: Optional[str] = strawberry.field(description="The marketing campaign, where there is one.")
    actor: Optional[str] = strawberry.field(description="Who on our side acted, where the event names them.")
    amount: Decimal = strawberry.field(description="In the conversion's currency.")

    @staticmethod
    def from_credit(credit: TouchCredit) -> AttributionCredit:
        return AttributionCredit(event_id=strawberry.ID(credit.event_id), occurred_at=credit.occurred_at,
                                 department=credit.department, channel=credit.channel, campaign=credit.campaign,
                                 actor=credit.actor, amount=credit.amount)


@strawberry.type(description="A conversion (a won opportunity, or an upgrade where counted) and its touches' credits, "
                             "which add up exactly to its amount.")
class AttributedConversion:
    event_id: strawberry.ID = strawberry.field(description="The conversion's event id (the producer's).")
    kind: str = strawberry.field(description="won or upgrade.")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    amount: Decimal = strawberry.field(description="The won amount, or a year of the MRR an upgrade adds.")
    currency: str = strawberry.field(description="ISO 4217: the amount's and every credit's.")
    unattributed: Decimal = strawberry.field(description="What no touch is credited with: the whole amount when no "
                                                         "touch preceded it in its window, else 0.")
    credits: list[AttributionCredit] = strawberry.field(description="The touches in its window, in order.")

    @staticmethod
    def from_conversion(conversion: ConversionCredits) -> AttributedConversion:
        credited = sum((credit.amount for credit in conversion.credits), Decimal(0))
        return AttributedConversion(
            event_id=strawberry.ID(conversion.event_id), kind=conversion.kind, occurred_at=conversion.occurred_at,
            amount=conversion.amount, currency=conversion.currency, unattributed=conversion.amount - credited,
            credits=[AttributionCredit.from_credit(each) for each in conversion.credits])


def checked_range(start: datetime, end: datetime) -> None:
    if start > end:
        raise BadInput("from", f"must not be after `to` ({start.isoformat()} > {end.isoformat()})")
    if end - start > MAX_RANGE:
        raise BadInput("to", f"the range from `from` may be at most {MAX_LOOKBACK_DAYS} days (ten years); "
                             f"it is {(end - start).days} days")


@strawberry.type
class AttributionQuery:
    @strawberry.field(
        description="Revenue of the conversions from `from` (included) to `to` (excluded: months tile) credited to the touches "
        "before them by a model, summed per group and per currency; unattributed revenue in rows of its own. "
        "Sorted by currency, then the largest amount first.",
        extensions=needs(VIEWS_READ),
    )
    async def attribution(
        self,
        info: Info,
        model: Annotated[AttributionModel, strawberry.argument(description="The attribution model.")],
        from_: Annotated[datetime, strawberry.argument(name="from", description="Conversions at or after this instant.")],
        to: Annotated[datetime, strawberry.argument(description="Conversions before this instant (excluded); at most "
                                                                "ten years after `from`.")],
        group_by: Annotated[AttributionGroup, strawberry.argument(description="What the credits are summed by.")],
    ) -> list[AttributionTotal]:
        checked_range(from_, to)
        totals = await info.context.attribution.totals(model.name.lower(), from_, to, group_by.name.lower())
        return [AttributionTotal.from_total(total) for total in totals]
