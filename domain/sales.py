"""Sales' events: the account record, opportunities, outreach and discounts."""

from domain.event_type import EventType, catalogue_of
from domain.fields import Amount, Choice, Currency, Id, Integer, Percent, Text, Timestamp

OPPORTUNITY_KINDS = ("new", "expansion", "renewal")
OUTREACH_CHANNELS = ("email", "call", "linkedin", "meeting", "sms")
OUTREACH_INTENTS = ("prospecting", "follow_up", "upsell", "renewal", "check_in")

TYPES = catalogue_of(
    EventType(
        "sales.account.updated",
        {"name": Text(), "industry": Text(), "tier": Text(), "owner": Text(), "country": Text()},
    ),
    EventType(
        "sales.opportunity.opened",
        {
            "opportunityId": Id(required=True),
            "kind": Choice(required=True, options=OPPORTUNITY_KINDS),
            "amount": Amount(required=True),
            "currency": Currency(required=True),
        },
    ),
    EventType(
        "sales.opportunity.stage_changed",
        {"opportunityId": Id(required=True), "stage": Text(required=True)},
    ),
    EventType(
        "sales.opportunity.won",
        {"opportunityId": Id(required=True), "amount": Amount(required=True), "currency": Currency(required=True)},
    ),
    EventType("sales.opportunity.lost", {"opportunityId": Id(required=True), "reason": Text()}),
    EventType(
        "sales.outreach.sent",
        {
            "channel": Choice(required=True, options=OUTREACH_CHANNELS),
            "intent": Choice(required=True, options=OUTREACH_INTENTS),
            "cadenceStep": Integer(minimum=1),  # the step's number in a sales cadence
        },
    ),
    EventType(
        "sales.discount.offered",
        {"opportunityId": Id(required=True), "percent": Percent(required=True), "validUntil": Timestamp(date_allowed=True)},
    ),
)
