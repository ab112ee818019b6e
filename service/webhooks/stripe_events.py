"""Stripe's events (the webhook's `Event` objects) as catalogue billing events.

The envelope's `id` is Stripe's event id (`evt_…`), so a retried delivery is a duplicate;
`occurredAt` is the event's `created`; the account is the one the Stripe customer
(`cus_…`) is mapped to. Amounts come in the currency's minor unit and are converted
exactly (`money`). See docs/webhooks.md for the table of kinds and fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from service.webhooks import SOURCES
from service.webhooks.drafts import Draft, Ignored, Outcome, PayloadError, Unusable, from_epoch, text_of
from service.webhooks.money import amount_text

SOURCE = SOURCES["stripe"]
MONTHS_PER = {"day": Decimal(12) / Decimal(365), "week": Decimal(12) / Decimal(52), "month": Decimal(1),
              "year": Decimal(12)}  # an interval's length in months


class Lacking(Exception):
    """The object lacks a field the catalogue event needs (the message names it)."""


def events_of(event: Any) -> list[Outcome]:
    """The catalogue event of one Stripe event (a list, as other providers send several at once)."""
    if not isinstance(event, Mapping) or event.get("object") != "event":
        raise PayloadError('body: not a Stripe event (an object with "object": "event")')
    key, kind, created = text_of(event.get("id")), event.get("type"), event.get("created")
    if key is None or not isinstance(kind, str) or not isinstance(created, int):
        raise PayloadError("body: a Stripe event has an id, a type and a created time")
    mapper = MAPPERS.get(kind)
    if mapper is None:
        return [Ignored(kind)]
    given = event.get("data")
    data: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    thing = data.get("object")
    if not isinstance(thing, Mapping):
        return [Unusable(key, None, f"{kind}: data.object is missing", event)]
    customer = customer_of(thing)
    if customer is None:
        return [Unusable(key, None, f"{kind}: data.object.customer is missing: no account can be found", event)]
    try:
        found = mapper(thing, data, created)
    except Lacking as lack:
        return [Unusable(key, customer, f"{kind}: {lack}", event)]
    if found is None:
        return [Ignored(f"{kind} (no change the catalogue records)")]
    type_, fields = found
    envelope = {"id": key, "source": SOURCE, "type": type_, "occurredAt": from_epoch(created), "data": fields}
    return [Draft(customer, envelope, event)]


def customer_of(thing: Mapping[str, Any]) -> str | None:
    customer = thing.get("customer")
    if isinstance(customer, Mapping):  # expanded
        customer = customer.get("id")
    return text_of(customer)


def needed(thing: Mapping[str, Any], name: str) -> Any:
    value = thing.get(name)
    if value is None:
        raise Lacking(f"data.object.{name} is missing")
    return value


def minor(thing: Mapping[str, Any], name: str) -> int:
    value = needed(thing, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Lacking(f"data.object.{name} must be a whole number of minor units, 0 or more (got {value!r:.40})")
    return value


def currency_of(thing: Mapping[str, Any]) -> str:
    value = needed(thing, "currency")
    if not isinstance(value, str):
        raise Lacking("data.object.currency must be a currency code")
    return value.upper()


def invoice_issued(invoice: Mapping[str, Any], _: Mapping[str, Any], created: int) -> tuple[str, dict[str, Any]]:
    """A charge_automatically invoice has no due date: it is due when finalized (Stripe charges it then)."""
    currency = currency_of(invoice)
    due = invoice.get("due_date")
    if due is None and invoice.get("collection_method") == "send_invoice":
        raise Lacking("data.object.due_date is missing on an invoice sent for payment")
    if due is None:
        transitions = invoice.get("status_transitions")
        due = transitions.get("finalized_at") if isinstance(transitions, Mapping) else None
    fields = {"invoiceId": needed(invoice, "id"), "amount": amount_text(minor(invoice, "amount_due"), currency),
              "currency": currency, "dueAt": from_epoch(due if isinstance(due, int) else created)}
    return "billing.invoice.issued", with_extra(fields, invoiceNumber=invoice.get("number"))


def payment_received(invoice: Mapping[str, Any], _: Mapping[str, Any], __: int) -> tuple[str, dict[str, Any]]:
    currency = currency_of(invoice)
    return "billing.payment.received", {"invoiceId": needed(invoice, "id"),
                                        "amount": amount_text(minor(invoice, "amount_paid"), currency),
                                        "currency": currency}


def payment_failed(invoice: Mapping[str, Any], _: Mapping[str, Any], __: int) -> tuple[str, dict[str, Any]]:
    return "billing.payment.failed", with_extra({"invoiceId": needed(invoice, "id")},
                                                attemptCount=invoice.get("attempt_count"))


def credit_issued(note: Mapping[str, Any], _: Mapping[str, Any], __: int) -> tuple[str, dict[str, Any]]:
    currency = currency_of(note)
    fields = {"amount": amount_text(minor(note, "total"), currency), "currency": currency}
    reason = note.get("reason")
    return "billing.credit.issued", with_extra({**fields, **({"reason": reason} if isinstance(reason, str) else {})},
                                               creditNoteId=note.get("id"), invoiceId=note.get("invoice"))


def with_extra(fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The fields, and the extra keys that have a value (kept in `data`, not interpreted)."""
    return {**fields, **{name: value for name, value in extra.items() if value is not None}}


def subscription(change: str | None) -> Callable[[Mapping[str, Any], Mapping[str, Any], int], tuple[str, dict[str, Any]] | None]:
    """created: start; deleted: cancel (MRR 0); updated: upgrade or downgrade by MRR, or renew on a new period."""

    def mapped(sub: Mapping[str, Any], data: Mapping[str, Any], _: int) -> tuple[str, dict[str, Any]] | None:
        currency = currency_of(sub)
        mrr = monthly(sub, currency)
        chosen = change if change is not None else updated_change(sub, data, mrr, currency)
        if chosen is None:
            return None
        fields = {"change": chosen, "plan": plan_of(sub), "mrr": amount_text(0 if chosen == "cancel" else mrr, currency),
                  "currency": currency}
        return "billing.subscription.changed", with_extra(fields, subscriptionId=sub.get("id"))

    return mapped


def updated_change(sub: Mapping[str, Any], data: Mapping[str, Any], mrr: Decimal, currency: str) -> str | None:
    before = data.get("previous_attributes")
    if not isinstance(before, Mapping):
        return None
    if "items" in before or "plan" in before or "quantity" in before:
        previous = monthly({**sub, **before}, currency)
        if previous != mrr:
            return "upgrade" if mrr > previous else "downgrade"
    if "current_period_start" in before or any("current_period_start" in each for each in previous_items(before)):
        return "renew"
    return None


def previous_items(before: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = before.get("items")
    listed = items.get("data") if isinstance(items, Mapping) else None
    return [each for each in listed if isinstance(each, Mapping)] if isinstance(listed, list) else []


def items_of(sub: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = sub.get("items")
    listed = items.get("data") if isinstance(items, Mapping) else None
    if isinstance(listed, list) and listed:
        return [each for each in listed if isinstance(each, Mapping)]
    plan = sub.get("plan")  # a subscription of the older API, with one plan
    if isinstance(plan, Mapping):
        return [{"price": plan, "quantity": sub.get("quantity", 1)}]
    raise Lacking("data.object.items has no price")


def monthly(sub: Mapping[str, Any], currency: str) -> Decimal:
    """The subscription's monthly recurring revenue in minor units: each item's price × quantity, per month."""
    total = Decimal(0)
    for item in items_of(sub):
        price = item.get("price") or item.get("plan")
        if not isinstance(price, Mapping):
            raise Lacking("data.object.items: an item has no price")
        total += unit_amount(price) * Decimal(item.get("quantity") or 1) / months(price)
    return total


def unit_amount(price: Mapping[str, Any]) -> Decimal:
    exact = price.get("unit_amount_decimal")
    if isinstance(exact, str):
        return Decimal(exact)
    value = price.get("unit_amount", price.get("amount"))
    if not isinstance(value, int) or isinstance(value, bool):
        raise Lacking(f"price {price.get('id')!s:.60} has no unit amount (tiered or metered): its MRR is unknown")
    return Decimal(value)


def months(price: Mapping[str, Any]) -> Decimal:
    recurring = price.get("recurring")
    interval = recurring.get("interval") if isinstance(recurring, Mapping) else price.get("interval")
    count = recurring.get("interval_count") if isinstance(recurring, Mapping) else price.get("interval_count")
    if interval not in MONTHS_PER:
        raise Lacking(f"price {price.get('id')!s:.60} is not recurring by day, week, month or year")
    return MONTHS_PER[str(interval)] * Decimal(count if isinstance(count, int) and count > 0 else 1)


def plan_of(sub: Mapping[str, Any]) -> str:
    """The plan's name: each price's nickname (or lookup key, or id), joined with " + "."""
    names = []
    for item in items_of(sub):
        price = item.get("price") or item.get("plan")
        if isinstance(price, Mapping):
            name = price.get("nickname") or price.get("lookup_key") or price.get("id")
            if isinstance(name, str) and name.strip():
                names.append(name)
    if not names:
        raise Lacking("data.object.items: no price has a nickname, lookup key or id")
    return " + ".join(names)[:1000]


MAPPERS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any], int], tuple[str, dict[str, Any]] | None]] = {
    "invoice.finalized": invoice_issued,
    "invoice.paid": payment_received,
    "invoice.payment_failed": payment_failed,
    "credit_note.created": credit_issued,
    "customer.subscription.created": subscription("start"),
    "customer.subscription.updated": subscription(None),
    "customer.subscription.deleted": subscription("cancel"),
}
