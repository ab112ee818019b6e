"""Billing's events: subscriptions, invoices, payments, dunning, suspension, plans and credits."""

from domain.event_type import EventType, catalogue_of
from domain.fields import Amount, Choice, Currency, Id, Integer, Text, Timestamp

SUBSCRIPTION_CHANGES = ("start", "upgrade", "downgrade", "renew", "cancel")

TYPES = catalogue_of(
    EventType(
        "billing.subscription.changed",
        {
            "change": Choice(required=True, options=SUBSCRIPTION_CHANGES),
            "plan": Text(required=True),
            "mrr": Amount(required=True),
            "currency": Currency(required=True),
        },
    ),
    EventType(
        "billing.invoice.issued",
        {
            "invoiceId": Id(required=True),
            "amount": Amount(required=True),
            "currency": Currency(required=True),
            "dueAt": Timestamp(required=True, date_allowed=True),
            "opportunityId": Id(),
        },
    ),
    EventType(
        "billing.payment.received",
        {"invoiceId": Id(required=True), "amount": Amount(required=True), "currency": Currency(required=True)},
    ),
    EventType("billing.payment.failed", {"invoiceId": Id(required=True), "reason": Text()}),
    EventType(
        "billing.dunning.sent",
        {"invoiceId": Id(required=True), "level": Integer(required=True, minimum=1, maximum=3), "channel": Text()},
    ),
    EventType("billing.service.suspended", {"reason": Text()}),
    EventType("billing.service.restored", {}),
    EventType("billing.payment_plan.granted", {"until": Timestamp(required=True, date_allowed=True), "terms": Text()}),
    EventType(
        "billing.credit.issued",
        {"amount": Amount(required=True), "currency": Currency(required=True), "reason": Text()},
    ),
)
