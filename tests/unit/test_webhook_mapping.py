"""Provider payloads -> catalogue events (pure): Stripe's minor units, each provider's kinds, and what is parked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.validation import Limits, validate_batch
from service.webhooks import hubspot_events, stripe_events, zendesk_events
from service.webhooks.drafts import Draft, Ignored, PayloadError, Unusable
from service.webhooks.hubspot_events import WonDeal
from service.webhooks.money import THREE_DECIMAL, ZERO_DECIMAL, amount_text, exponent, major


def stripe_event(kind: str, thing: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {"id": "evt_1QabcDEF", "object": "event", "api_version": "2024-06-20", "created": 1767225600,
            "type": kind, "livemode": False, "pending_webhooks": 1, "data": {"object": thing, **data}}


def invoice(**fields: Any) -> dict[str, Any]:
    return {"id": "in_1QxYz", "object": "invoice", "customer": "cus_Nffr", "currency": "eur", "amount_due": 199999,
            "amount_paid": 199999, "due_date": 1769904000, "collection_method": "send_invoice", "number": "A1-0042",
            "attempt_count": 2, "status_transitions": {"finalized_at": 1767225600}, **fields}


def subscription(unit: int, interval: str = "month", quantity: int = 1, currency: str = "usd", **fields: Any) -> dict[str, Any]:
    price = {"id": "price_1Q", "object": "price", "nickname": "Growth", "currency": currency, "unit_amount": unit,
             "recurring": {"interval": interval, "interval_count": 1}}
    return {"id": "sub_1Q", "object": "subscription", "customer": "cus_Nffr", "currency": currency, "status": "active",
            "items": {"object": "list", "data": [{"id": "si_1", "price": price, "quantity": quantity}]}, **fields}


def only(outcomes: list[Any]) -> Any:
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


def valid(draft: Draft) -> None:
    """The draft, given an account, passes the catalogue's validation."""
    accepted, rejections = validate_batch([draft.for_account("acme")], Limits())
    assert not rejections and len(accepted) == 1, rejections


# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (199999, "eur", "1999.99"), (5, "USD", "0.05"), (0, "usd", "0.00"), (500, "jpy", "500"), (12345, "KWD", "12.345"),
    (100, "isk", "1.00"),  # Stripe's API keeps ISK two-decimal
])
def test_minor_units_become_the_major_unit_exactly(minor: int, currency: str, text: str) -> None:
    assert amount_text(minor, currency) == text


@given(st.integers(min_value=0, max_value=10**17), st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLP", "BHD", "GBP"]))
def test_converting_loses_nothing(minor: int, currency: str) -> None:
    assert major(minor, currency).scaleb(exponent(currency)) == Decimal(minor)
    assert Decimal(amount_text(minor, currency)) == major(minor, currency)


def test_the_exponent_lists_are_stripe_s() -> None:
    """ISO 4217's minor units but where Stripe keeps its own (https://docs.stripe.com/currencies)."""
    assert ZERO_DECIMAL == {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                            "XAF", "XOF", "XPF"}
    assert THREE_DECIMAL == {"BHD", "JOD", "KWD", "OMR", "TND"}


# --- Stripe -------------------------------------------------------------------------------------


def test_a_finalized_invoice_is_issued_with_its_due_date() -> None:
    draft = only(stripe_events.events_of(stripe_event("invoice.finalized", invoice())))
    assert isinstance(draft, Draft) and draft.external_id == "cus_Nffr"
    assert draft.envelope == {"id": "evt_1QabcDEF", "source": "webhook:stripe", "type": "billing.invoice.issued",
                              "occurredAt": "2026-01-01T00:00:00Z",
                              "data": {"invoiceId": "in_1QxYz", "amount": "1999.99", "currency": "EUR",
                                       "dueAt": "2026-02-01T00:00:00Z", "invoiceNumber": "A1-0042"}}
    valid(draft)


def test_an_invoice_charged_automatically_is_due_when_finalized() -> None:
    draft = only(stripe_events.events_of(stripe_event("invoice.finalized", invoice(
        due_date=None, collection_method="charge_automatically", status_transitions={"finalized_at": 1767229200}))))
    assert draft.envelope["data"]["dueAt"] == "2026-01-01T01:00:00Z"


def test_an_invoice_sent_for_payment_without_a_due_date_is_unusable() -> None:
    found = only(stripe_events.events_of(stripe_event("invoice.finalized", invoice(due_date=None))))
    assert isinstance(found, Unusable) and "due_date" in found.reason and found.external_id == "cus_Nffr"


def test_paid_and_failed_invoices() -> None:
    paid = only(stripe_events.events_of(stripe_event("invoice.paid", invoice(currency="jpy", amount_paid=48000))))
    assert (paid.envelope["type"], paid.envelope["data"]) == (
        "billing.payment.received", {"invoiceId": "in_1QxYz", "amount": "48000", "currency": "JPY"})
    failed = only(stripe_events.events_of(stripe_event("invoice.payment_failed", invoice())))
    assert (failed.envelope["type"], failed.envelope["data"]) == (
        "billing.payment.failed", {"invoiceId": "in_1QxYz", "attemptCount": 2})
    valid(paid)
    valid(failed)


def test_a_credit_note_is_a_credit() -> None:
    note = {"id": "cn_1Q", "object": "credit_note", "customer": "cus_Nffr", "currency": "gbp", "total": 2550,
            "invoice": "in_1QxYz", "reason": "product_unsatisfactory"}
    draft = only(stripe_events.events_of(stripe_event("credit_note.created", note)))
    assert draft.envelope["data"] == {"amount": "25.50", "currency": "GBP", "reason": "product_unsatisfactory",
                                      "creditNoteId": "cn_1Q", "invoiceId": "in_1QxYz"}
    valid(draft)


def test_subscriptions_start_change_and_cancel_with_their_monthly_revenue() -> None:
    started = only(stripe_events.events_of(stripe_event("customer.subscription.created",
                                                        subscription(120000, "year", quantity=3))))
    assert started.envelope["data"] == {"change": "start", "plan": "Growth", "mrr": "300.00", "currency": "USD",
                                        "subscriptionId": "sub_1Q"}
    before = {"items": subscription(5000, quantity=3)["items"]}
    upgraded = only(stripe_events.events_of(stripe_event("customer.subscription.updated", subscription(5000, quantity=5),
                                                         previous_attributes=before)))
    assert upgraded.envelope["data"]["change"] == "upgrade" and upgraded.envelope["data"]["mrr"] == "250.00"
    renewed = only(stripe_events.events_of(stripe_event("customer.subscription.updated", subscription(5000),
                                                        previous_attributes={"current_period_start": 1764547200})))
    assert renewed.envelope["data"]["change"] == "renew"
    cancelled = only(stripe_events.events_of(stripe_event("customer.subscription.deleted", subscription(5000))))
    assert cancelled.envelope["data"]["change"] == "cancel" and cancelled.envelope["data"]["mrr"] == "0.00"
    for draft in (started, upgraded, renewed, cancelled):
        valid(draft)


def test_a_weekly_price_is_rounded_to_the_currency_once_made_monthly() -> None:
    draft = only(stripe_events.events_of(stripe_event("customer.subscription.created", subscription(1000, "week"))))
    assert draft.envelope["data"]["mrr"] == "43.33"  # 10.00 × 52 / 12


def test_an_update_the_catalogue_does_not_record_is_ignored() -> None:
    found = only(stripe_events.events_of(stripe_event("customer.subscription.updated", subscription(5000),
                                                      previous_attributes={"metadata": {}})))
    assert isinstance(found, Ignored)


def test_a_tiered_price_has_no_revenue_to_tell_and_is_unusable() -> None:
    sub = subscription(5000)
    sub["items"]["data"][0]["price"]["unit_amount"] = None
    found = only(stripe_events.events_of(stripe_event("customer.subscription.created", sub)))
    assert isinstance(found, Unusable) and "tiered" in found.reason


def test_unknown_kinds_are_ignored_and_a_customerless_object_unusable() -> None:
    assert only(stripe_events.events_of(stripe_event("charge.refunded", {"id": "ch_1"}))) == Ignored("charge.refunded")
    found = only(stripe_events.events_of(stripe_event("invoice.paid", invoice(customer=None))))
    assert isinstance(found, Unusable) and found.external_id is None and "customer" in found.reason


@pytest.mark.parametrize("body", [[], {"object": "charge"}, {"object": "event", "id": "evt_1", "type": "invoice.paid"}])
def test_a_body_that_is_not_a_stripe_event_is_refused(body: Any) -> None:
    with pytest.raises(PayloadError):
        stripe_events.events_of(body)


# --- Zendesk ------------------------------------------------------------------------------------


def zendesk_event(kind: str, change: dict[str, Any] | None = None, **detail: Any) -> dict[str, Any]:
    return {"type": kind, "account_id": 22129848, "id": "cbe4028c-7239-495d-b020-f22348516046",
            "time": "2026-03-02T09:14:00Z", "zendesk_event_version": "2022-11-06", "subject": "zen:ticket:4411",
            "detail": {"id": "4411", "organization_id": "8193", "requester_id": "1508", "priority": "URGENT",
                       "status": "OPEN", "subject": "Dashboard down", "type": "INCIDENT", **detail},
            **({"event": change} if change is not None else {})}


def test_zendesk_ticket_kinds() -> None:
    opened = only(zendesk_events.events_of(zendesk_event("zen:event-type:ticket.created")))
    assert opened.external_id == "8193" and opened.envelope["contactId"] == "1508"
    assert opened.envelope["data"] == {"ticketId": "4411", "priority": "urgent", "subject": "Dashboard down",
                                       "category": "incident"}
    solved = only(zendesk_events.events_of(zendesk_event("zen:event-type:ticket.status_changed",
                                                         {"current": "SOLVED", "previous": "OPEN"})))
    assert solved.envelope["type"] == "support.ticket.resolved"
    reopened = only(zendesk_events.events_of(zendesk_event("zen:event-type:ticket.status_changed",
                                                           {"current": "OPEN", "previous": "SOLVED"})))
    assert reopened.envelope["type"] == "support.ticket.reopened"
    raised = only(zendesk_events.events_of(zendesk_event("zen:event-type:ticket.priority_changed",
                                                         {"current": "URGENT", "previous": "NORMAL"})))
    assert raised.envelope["data"] == {"ticketId": "4411", "level": "urgent"}
    rated = only(zendesk_events.events_of(zendesk_event("cx360.csat", score="good")))
    assert rated.envelope["data"] == {"score": 5, "ticketId": "4411"}
    for draft in (opened, solved, reopened, raised, rated):
        valid(draft)


def test_zendesk_what_is_ignored_or_unusable() -> None:
    pending = zendesk_event("zen:event-type:ticket.status_changed", {"current": "PENDING", "previous": "OPEN"})
    assert isinstance(only(zendesk_events.events_of(pending)), Ignored)
    assert only(zendesk_events.events_of(zendesk_event("zen:event-type:ticket.comment_added"))) == Ignored(
        "zen:event-type:ticket.comment_added")
    orphan = only(zendesk_events.events_of(zendesk_event("zen:event-type:ticket.created", organization_id=None)))
    assert isinstance(orphan, Unusable) and "organization_id" in orphan.reason
    unrated = only(zendesk_events.events_of(zendesk_event("cx360.csat", score="7")))
    assert isinstance(unrated, Unusable) and "score" in unrated.reason


# --- HubSpot ------------------------------------------------------------------------------------


def hubspot_event(kind: str, object_id: int, name: str | None = None, value: str | None = None,
                  event_id: int = 100) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 2286, "portalId": 62515, "appId": 1160452,
            "occurredAt": 1772442840000, "subscriptionType": kind, "attemptNumber": 0, "objectId": object_id,
            "changeSource": "CRM_UI", **({"propertyName": name, "propertyValue": value} if name else {})}


def test_hubspot_deal_stages_and_company_updates() -> None:
    found = hubspot_events.events_of([
        hubspot_event("deal.propertyChange", 9001, "dealstage", "closedlost", 1),
        hubspot_event("company.propertyChange", 7001, "name", "Acme GmbH", 2),
        hubspot_event("contact.creation", 5001, event_id=3),
        hubspot_event("deal.propertyChange", 9002, "dealstage", "closedwon", 4),
    ])
    stage, lost, company, ignored, won_stage, won = found
    assert (stage.external_id, stage.envelope["type"], stage.envelope["data"]) == (
        "deal:9001", "sales.opportunity.stage_changed", {"opportunityId": "9001", "stage": "closedlost"})
    assert stage.envelope["id"] == "hubspot-2286-1" and stage.envelope["occurredAt"] == "2026-03-02T09:14:00Z"
    assert (lost.envelope["type"], lost.envelope["id"]) == ("sales.opportunity.lost", "hubspot-2286-1-lost")
    assert (company.external_id, company.envelope["data"]) == ("company:7001", {"name": "Acme GmbH"})
    assert ignored == Ignored("contact.creation")
    assert won_stage.envelope["type"] == "sales.opportunity.stage_changed"
    assert isinstance(won, WonDeal) and (won.key, won.deal) == ("hubspot-2286-4-won", "9002")
    for draft in (stage, lost, company, won_stage):
        valid(draft)


def test_a_hubspot_body_that_is_not_a_batch_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"body\[0\]"):
        hubspot_events.events_of([{"subscriptionType": "deal.creation"}])
    with pytest.raises(PayloadError):
        hubspot_events.events_of({"eventId": 1})
