"""Provider webhooks through the real endpoints, on real PostgreSQL: signatures computed here as each provider
documents them, payloads in each provider's documented format, the account mapping, parking and replay."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest

from service.settings import Settings
from service.store.tables import PARKED_TABLE
from tests.conftest import RunningServer
from tests.support import RECORD, graphql, timeline, unique

STRIPE_SECRET, ZENDESK_SECRET, HUBSPOT_SECRET = "whsec_test_5b1c", "zd-signing-secret", "hs-client-secret"

MAP = """mutation Map($provider: WebhookProvider!, $externalId: String!, $accountId: ID!, $new: Boolean! = false) {
  mapProviderCustomer(provider: $provider, externalId: $externalId, accountId: $accountId, newAccount: $new) {
    mapping { provider externalId accountId } replayed duplicates stillParked } }"""
PARKED = """query Parked($provider: WebhookProvider, $all: Boolean!) {
  parkedWebhooks(provider: $provider, includeReplayed: $all, first: 100) {
    eventId externalId cause reason replayedAt accountId payload } }"""
ACCOUNT = "query A($id: ID!) { account(id: $id) { id } }"


@pytest.fixture(scope="module")
def hooks(settings: Settings) -> Iterator[httpx.Client]:
    chosen = replace(settings, projector="off", stripe_webhook_secret=STRIPE_SECRET,
                     zendesk_webhook_secret=ZENDESK_SECRET, hubspot_client_secret=HUBSPOT_SECRET)
    with RunningServer(chosen) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


# --- signing, as each provider does --------------------------------------------------------------


def stripe_post(client: httpx.Client, event: dict[str, Any], *, at: int | None = None,
                secret: str = STRIPE_SECRET) -> httpx.Response:
    body = json.dumps(event).encode()
    at = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return client.post("/webhooks/stripe", content=body, headers={
        "content-type": "application/json; charset=utf-8", "stripe-signature": f"t={at},v1={signature}"})


def zendesk_post(client: httpx.Client, event: dict[str, Any], *, at: float | None = None,
                 secret: str = ZENDESK_SECRET) -> httpx.Response:
    body = json.dumps(event).encode()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))
    signature = base64.b64encode(hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()).decode()
    return client.post("/webhooks/zendesk", content=body, headers={
        "content-type": "application/json", "x-zendesk-webhook-signature": signature,
        "x-zendesk-webhook-signature-timestamp": stamp, "x-zendesk-webhook-id": "01GK8E6BKWMJZD2T8Y5AXJQMG5"})


def hubspot_post(client: httpx.Client, events: list[dict[str, Any]] | dict[str, Any], *, at: float | None = None,
                 uri: str | None = None) -> httpx.Response:
    body = json.dumps(events).encode()
    stamp = str(int((time.time() if at is None else at) * 1000))
    uri = uri or str(client.base_url.join("/webhooks/hubspot"))  # the URL HubSpot posts to, as it signs it
    signed = b"POST" + uri.encode() + body + stamp.encode()
    signature = base64.b64encode(hmac.new(HUBSPOT_SECRET.encode(), signed, hashlib.sha256).digest()).decode()
    return client.post("/webhooks/hubspot", content=body, headers={
        "content-type": "application/json", "x-hubspot-signature-v3": signature,
        "x-hubspot-request-timestamp": stamp})


# --- payloads, as each provider documents them ----------------------------------------------------


def stripe_invoice_event(kind: str, customer: str, **invoice: Any) -> dict[str, Any]:
    return {
        "id": unique("evt"), "object": "event", "api_version": "2024-06-20", "created": 1767225600, "livemode": False,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}, "type": kind,
        "data": {"object": {
            "id": unique("in"), "object": "invoice", "customer": customer, "currency": "eur", "amount_due": 199999,
            "amount_paid": 0, "amount_remaining": 199999, "collection_method": "send_invoice", "due_date": 1769904000,
            "number": "A1B2C3-0042", "status": "open", "attempt_count": 0,
            "status_transitions": {"finalized_at": 1767225600, "paid_at": None}, **invoice}}}


def zendesk_ticket_event(kind: str, organisation: str | None, ticket: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "account_id": 22129848, "id": unique("zd"), "time": "2026-03-02T09:14:00Z",
            "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket}",
            "detail": {"actor_id": "9001", "assignee_id": "9001", "brand_id": "360001", "created_at": "2026-03-02T09:14:00Z",
                       "id": ticket, "organization_id": organisation, "priority": "HIGH", "requester_id": "1508",
                       "status": "NEW", "subject": "Exports fail", "type": "PROBLEM", "via": {"channel": "web_form"}},
            **extra}


def hubspot_event(kind: str, object_id: int, name: str, value: str, event_id: int) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 2286139, "portalId": 62515, "appId": 1160452,
            "occurredAt": 1772442840000, "subscriptionType": kind, "attemptNumber": 0, "objectId": object_id,
            "changeSource": "CRM_UI", "propertyName": name, "propertyValue": value}


def map_customer(client: httpx.Client, provider: str, external_id: str, account_id: str,
                 new_account: bool = True) -> dict[str, Any]:
    """Map it; the tests' accounts are new unless said otherwise."""
    body = graphql(client, MAP, {"provider": provider.upper(), "externalId": external_id, "accountId": account_id,
                                 "new": new_account})
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["mapProviderCustomer"]
    return answer


def parked_of(client: httpx.Client, provider: str, external_id: str | None, everything: bool = False) -> list[dict[str, Any]]:
    body = graphql(client, PARKED, {"provider": provider.upper(), "all": everything})
    assert "errors" not in body, body
    return [each for each in body["data"]["parkedWebhooks"] if each["externalId"] == external_id]


def account_exists(client: httpx.Client, account_id: str) -> bool:
    return graphql(client, ACCOUNT, {"id": account_id})["data"]["account"] is not None


def counter(client: httpx.Client, name: str, **labels: str) -> float:
    wanted = name + "{" + ",".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{wanted} is not in /metrics")


# --- Stripe --------------------------------------------------------------------------------------


def test_an_unmapped_customer_is_parked_then_replayed_once_mapped(hooks: httpx.Client) -> None:
    customer, account = unique("cus"), unique("acct")
    event = stripe_invoice_event("invoice.finalized", customer)
    answer = stripe_post(hooks, event)
    assert answer.status_code == 200 and answer.json() == {"received": 1, "stored": 0, "duplicates": 0, "ignored": 0,
                                                           "parked": 1, "noted": 0}
    assert stripe_post(hooks, event).json()["duplicates"] == 1  # the provider's retry parks nothing more
    [parked] = parked_of(hooks, "stripe", customer)
    assert parked["cause"] == "unmapped" and customer in parked["reason"] and parked["payload"] == event
    assert not account_exists(hooks, account)

    mapped = map_customer(hooks, "stripe", customer, account)
    assert (mapped["replayed"], mapped["duplicates"], mapped["stillParked"]) == (1, 0, 0)
    [stored] = timeline(hooks, account)
    assert (stored["id"], stored["source"], stored["type"]) == (event["id"], "webhook:stripe", "billing.invoice.issued")
    assert stored["data"] == {"invoiceId": event["data"]["object"]["id"], "amount": "1999.99", "currency": "EUR",
                              "dueAt": "2026-02-01T00:00:00Z", "invoiceNumber": "A1B2C3-0042"}
    assert parked_of(hooks, "stripe", customer) == []
    [replayed] = parked_of(hooks, "stripe", customer, everything=True)
    assert replayed["replayedAt"] is not None and replayed["accountId"] == account

    again = map_customer(hooks, "stripe", customer, account, new_account=False)  # replaying twice stores nothing twice
    assert (again["replayed"], again["duplicates"]) == (0, 0)
    assert stripe_post(hooks, event).json()["duplicates"] == 1  # and a retry after the mapping is a duplicate
    assert len(timeline(hooks, account)) == 1


def test_a_provider_retry_is_stored_once(hooks: httpx.Client) -> None:
    customer, account = unique("cus"), unique("acct")
    map_customer(hooks, "stripe", customer, account)
    paid = stripe_invoice_event("invoice.paid", customer, currency="jpy", amount_paid=48000, status="paid")
    assert stripe_post(hooks, paid).json() == {"received": 1, "stored": 1, "duplicates": 0, "ignored": 0, "parked": 0, "noted": 0}
    assert stripe_post(hooks, paid).json() == {"received": 1, "stored": 0, "duplicates": 1, "ignored": 0, "parked": 0, "noted": 0}
    [stored] = timeline(hooks, account)
    assert stored["type"] == "billing.payment.received" and stored["data"]["amount"] == "48000"


def test_no_producer_can_take_a_delivery_s_key_first(hooks: httpx.Client) -> None:
    """The webhooks' sources are reserved: an event recorded first under a delivery's (source, id) would have
    had the real delivery dropped as a duplicate."""
    customer, account = unique("cus"), unique("acct")
    map_customer(hooks, "stripe", customer, account)
    paid = stripe_invoice_event("invoice.paid", customer, currency="usd", amount_paid=990000, status="paid")
    squat = {"id": paid["id"], "source": "webhook:stripe", "type": "billing.payment.received", "accountId": account,
             "occurredAt": "2026-03-02T09:14:00Z", "data": {"invoiceId": "in_x", "amount": "0.01", "currency": "USD"}}
    body = graphql(hooks, RECORD, {"events": [squat]})
    [rejected] = body["data"]["recordEvents"]["rejected"]
    assert rejected["field"] == "source" and "webhooks' own" in rejected["message"], rejected
    cloud = {"specversion": "1.0", "id": paid["id"], "source": "webhook:stripe", "type": "billing.payment.received",
             "subject": account, "time": "2026-03-02T09:14:00Z",
             "data": {"invoiceId": "in_x", "amount": "0.01", "currency": "USD"}}
    answer = hooks.post("/events", content=json.dumps(cloud), headers={"content-type": "application/cloudevents+json"})
    assert answer.status_code == 207 and "webhooks' own" in answer.text, answer.text
    assert stripe_post(hooks, paid).json()["stored"] == 1  # the real delivery
    [stored] = timeline(hooks, account)
    assert stored["data"]["amount"] == "9900.00"


def test_subscription_changes_carry_their_monthly_revenue(hooks: httpx.Client) -> None:
    customer, account = unique("cus"), unique("acct")
    map_customer(hooks, "stripe", customer, account)
    price = {"id": "price_1Q", "object": "price", "nickname": "Scale", "currency": "usd", "unit_amount": 360000,
             "recurring": {"interval": "year", "interval_count": 1}, "type": "recurring"}
    sub = {"id": unique("sub"), "object": "subscription", "customer": customer, "currency": "usd", "status": "active",
           "items": {"object": "list", "data": [{"id": "si_1", "price": price, "quantity": 2}]}}
    created = {"id": unique("evt"), "object": "event", "created": 1767225600, "type": "customer.subscription.created",
               "data": {"object": sub}}
    assert stripe_post(hooks, created).json()["stored"] == 1
    [stored] = timeline(hooks, account)
    assert stored["data"] == {"change": "start", "plan": "Scale", "mrr": "600.00", "currency": "USD",
                              "subscriptionId": sub["id"]}


@pytest.mark.parametrize(("how", "says"), [
    ("wrong secret", "Stripe-Signature: does not match the body and the secret"),
    ("stale", "Stripe-Signature: signed 30[1-5] s ago, beyond the tolerance"),
    ("tampered", "Stripe-Signature: does not match the body and the secret"),
    ("missing", "Stripe-Signature: missing; Stripe signs every webhook"),
    ("malformed", "Stripe-Signature: malformed; expected t=<seconds since 1970>,v1=<signature>"),
])
def test_a_bad_stripe_signature_is_refused_and_stores_nothing(hooks: httpx.Client, how: str, says: str) -> None:
    """Refused in our words: what was wrong with the header, never the library's advice."""
    customer, account = unique("cus"), unique("acct")
    map_customer(hooks, "stripe", customer, account)
    event = stripe_invoice_event("invoice.paid", customer)
    before = counter(hooks, "cx360_webhook_refused_total", provider="stripe", reason="signature")
    if how == "wrong secret":
        answer = stripe_post(hooks, event, secret="whsec_someone_else")
    elif how == "stale":
        answer = stripe_post(hooks, event, at=int(time.time()) - 301)
    elif how == "missing":
        answer = hooks.post("/webhooks/stripe", json=event)
    elif how == "malformed":
        answer = hooks.post("/webhooks/stripe", json=event, headers={"stripe-signature": "v1=abc,t=yesterday"})
    else:
        body = json.dumps(event).encode()
        at = int(time.time())
        signature = hmac.new(STRIPE_SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
        tampered = body.replace(b'"amount_paid": 0', b'"amount_paid": 1')
        answer = hooks.post("/webhooks/stripe", content=tampered, headers={"stripe-signature": f"t={at},v1={signature}"})
    assert answer.status_code == 400 and re.match(says, answer.json()["error"]), answer.json()
    assert "without_verification" not in answer.text and "Stripe-Signature header value" not in answer.text
    assert not account_exists(hooks, account) and parked_of(hooks, "stripe", customer) == []
    assert counter(hooks, "cx360_webhook_refused_total", provider="stripe", reason="signature") == before + 1


def test_unknown_kinds_are_acknowledged_counted_and_ignored(hooks: httpx.Client) -> None:
    before = counter(hooks, "cx360_webhook_events_total", provider="stripe", outcome="ignored")
    event = {"id": unique("evt"), "object": "event", "created": 1767225600, "type": "charge.refunded",
             "data": {"object": {"id": "ch_1", "object": "charge", "customer": "cus_x", "amount_refunded": 500}}}
    assert stripe_post(hooks, event).json() == {"received": 1, "stored": 0, "duplicates": 0, "ignored": 1, "parked": 0, "noted": 0}
    assert counter(hooks, "cx360_webhook_events_total", provider="stripe", outcome="ignored") == before + 1


def test_a_payload_lacking_what_the_mapping_needs_is_parked_with_the_reason(hooks: httpx.Client) -> None:
    customer = unique("cus")
    map_customer(hooks, "stripe", customer, unique("acct"))
    event = stripe_invoice_event("invoice.finalized", customer, due_date=None)  # sent for payment, no due date
    assert stripe_post(hooks, event).json()["parked"] == 1
    [parked] = parked_of(hooks, "stripe", customer)
    assert parked["cause"] == "unusable" and "data.object.due_date is missing" in parked["reason"]


def test_a_body_that_is_not_a_stripe_event_is_refused(hooks: httpx.Client) -> None:
    answer = stripe_post(hooks, {"object": "charge", "id": "ch_1"})
    assert answer.status_code == 400 and "not a Stripe event" in answer.json()["error"]


def test_a_provider_whose_secret_is_not_set_is_told_to_retry(client: httpx.Client) -> None:
    """The session's server has no secrets: 503, so the provider retries once the operator sets it."""
    answer = client.post("/webhooks/stripe", json={"object": "event"})
    assert answer.status_code == 503 and "CX360_STRIPE_WEBHOOK_SECRET" in answer.json()["error"]
    assert answer.headers["retry-after"] == "60"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_a_413_in_the_webhooks_own_shape(hooks: httpx.Client, settings: Settings,
                                                                   declared: bool) -> None:
    body = b"{" + b" " * settings.max_body_bytes + b"}"
    answer = hooks.post("/webhooks/stripe", content=body if declared else iter([body[:1024 * 1024], body[1024 * 1024:]]),
                        headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert answer.json() == {"error": f"request body: must be at most {settings.max_body_bytes} bytes (CX360_MAX_BODY_BYTES)"}


# --- Zendesk -------------------------------------------------------------------------------------


def test_zendesk_tickets_and_csat(hooks: httpx.Client) -> None:
    organisation, account, ticket = unique("org"), unique("acct"), unique("t")
    map_customer(hooks, "zendesk", organisation, account)
    created = zendesk_ticket_event("zen:event-type:ticket.created", organisation, ticket)
    solved = zendesk_ticket_event("zen:event-type:ticket.status_changed", organisation, ticket,
                                  event={"current": "SOLVED", "previous": "OPEN"})
    rated = {"type": "cx360.csat", "id": unique("csat"), "time": "2026-03-03T10:00:00Z",
             "detail": {"id": ticket, "organization_id": organisation, "requester_id": "1508", "score": "good"}}
    for event in (created, solved, rated):
        assert zendesk_post(hooks, event).json()["stored"] == 1
    assert zendesk_post(hooks, created).json()["duplicates"] == 1
    events = timeline(hooks, account)
    assert sorted(each["type"] for each in events) == ["support.csat.recorded", "support.ticket.opened",
                                                         "support.ticket.resolved"]
    opened = next(each for each in events if each["type"] == "support.ticket.opened")
    assert opened["contactId"] == "1508" and opened["data"]["priority"] == "high"


def test_zendesk_bad_and_stale_signatures_and_a_ticket_without_organisation(hooks: httpx.Client) -> None:
    organisation, account = unique("org"), unique("acct")
    map_customer(hooks, "zendesk", organisation, account)
    event = zendesk_ticket_event("zen:event-type:ticket.created", organisation, unique("t"))
    assert zendesk_post(hooks, event, secret="not-the-secret").status_code == 400
    assert zendesk_post(hooks, event, at=time.time() - 600).status_code == 400
    assert not account_exists(hooks, account)
    orphan = zendesk_ticket_event("zen:event-type:ticket.created", None, unique("t"))
    assert zendesk_post(hooks, orphan).json()["parked"] == 1
    [parked] = [each for each in parked_of(hooks, "zendesk", None) if each["eventId"] == orphan["id"]]
    assert parked["cause"] == "unusable" and "organization_id" in parked["reason"]


@pytest.mark.parametrize(("offset", "says"), [(-600, "ago"), (600, "in the future")])
def test_a_stale_or_early_signature_says_how_old_it_is(hooks: httpx.Client, offset: int, says: str) -> None:
    """The replay check tells the age the right way round: 600 s ago is "ago", not "+600 s from now"."""
    event = zendesk_ticket_event("zen:event-type:ticket.created", unique("org"), unique("t"))
    zendesk = zendesk_post(hooks, event, at=time.time() + offset)
    hubspot = hubspot_post(hooks, [hubspot_event("deal.propertyChange", 1, "dealstage", "closedlost", 1)],
                           at=time.time() + offset)
    for answer, header in ((zendesk, "X-Zendesk-Webhook-Signature-Timestamp"), (hubspot, "X-HubSpot-Request-Timestamp")):
        assert answer.status_code == 400
        told = re.match(f"{header}: signed ([0-9]+) s {says}, beyond the tolerance of 300 s", answer.json()["error"])
        assert told and 595 <= int(told[1]) <= 605, answer.json()


# --- HubSpot -------------------------------------------------------------------------------------


def test_hubspot_deal_and_company_events_in_one_batch(hooks: httpx.Client) -> None:
    deal, company, account = int(time.time_ns() % 10**12), int(time.time_ns() % 10**11), unique("acct")
    map_customer(hooks, "hubspot", f"deal:{deal}", account)
    map_customer(hooks, "hubspot", f"company:{company}", account)
    first = int(time.time_ns() % 10**9)
    batch = [hubspot_event("deal.propertyChange", deal, "dealstage", "closedlost", first),
             hubspot_event("company.propertyChange", company, "name", "Acme GmbH", first + 1),
             {**hubspot_event("contact.creation", 5001, "", "", first + 2)}]
    answer = hubspot_post(hooks, batch)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 4, "stored": 3, "duplicates": 0, "ignored": 1, "parked": 0, "noted": 0}
    assert hubspot_post(hooks, batch).json()["duplicates"] == 3
    assert sorted(each["type"] for each in timeline(hooks, account)) == [
        "sales.account.updated", "sales.opportunity.lost", "sales.opportunity.stage_changed"]


def test_hubspot_refuses_a_signature_of_another_uri_or_a_stale_one(hooks: httpx.Client) -> None:
    batch = [hubspot_event("deal.propertyChange", 1, "dealstage", "closedlost", 1)]
    assert hubspot_post(hooks, batch, uri="https://elsewhere.example.com/webhooks/hubspot").status_code == 400
    stale = hubspot_post(hooks, batch, at=time.time() - 301)
    assert stale.status_code == 400 and "tolerance" in stale.json()["error"]


# --- the CLI -------------------------------------------------------------------------------------


def cli(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *arguments], env={**os.environ, "DATABASE_URL": database_url},
                          capture_output=True, text=True, timeout=120)


def test_the_cli_lists_parked_events_and_a_mapping_replays_them(hooks: httpx.Client, database_url: str) -> None:
    customer, account = unique("cus"), unique("acct")
    event = stripe_invoice_event("invoice.payment_failed", customer, attempt_count=1)
    assert stripe_post(hooks, event).json()["parked"] == 1
    listed = cli(database_url, "webhooks", "parked", "--provider", "stripe")
    assert listed.returncode == 0 and event["id"] in listed.stdout and "unmapped" in listed.stdout
    mapped = cli(database_url, "mappings", "set", "stripe", customer, account, "--new-account")
    assert mapped.returncode == 0, mapped.stderr
    assert "stored now: 1" in mapped.stdout
    [stored] = timeline(hooks, account)
    assert stored["type"] == "billing.payment.failed"
    assert customer in cli(database_url, "mappings", "list", "--provider", "stripe").stdout
    assert cli(database_url, "mappings", "remove", "stripe", customer).returncode == 0
    bad = cli(database_url, "mappings", "set", "stripe", customer, " ")
    assert bad.returncode == 2 and "accountId" in bad.stderr


def test_signature_headers_of_odd_bytes_are_refused_with_400(hooks: httpx.Client) -> None:
    """Bytes that are not ASCII in a signature header: a refusal, not the libraries' TypeError (HTTP 500)."""
    body = json.dumps(stripe_invoice_event("invoice.payment_failed", unique("cus"))).encode()
    odd = "é".encode() * 32
    stripe = hooks.post("/webhooks/stripe", content=body, headers={
        "content-type": "application/json", "stripe-signature": f"t={int(time.time())},v1=".encode() + odd})
    assert stripe.status_code == 400 and "Stripe-Signature: malformed" in stripe.json()["error"]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    zendesk = hooks.post("/webhooks/zendesk", content=body, headers={
        "content-type": "application/json", "x-zendesk-webhook-signature": odd,
        "x-zendesk-webhook-signature-timestamp": stamp})
    assert zendesk.status_code == 400 and "does not match" in zendesk.json()["error"]


def test_the_cli_purges_parked_events_kept_long_enough(hooks: httpx.Client, database_url: str) -> None:
    """By default only those stored since; those still waiting only when named, with a warning."""
    stored, waiting, fresh = (unique("cus") for _ in range(3))
    events = {customer: stripe_invoice_event("invoice.payment_failed", customer, attempt_count=1)
              for customer in (stored, waiting, fresh)}
    for event in events.values():
        assert stripe_post(hooks, event).json()["parked"] == 1
    assert cli(database_url, "mappings", "set", "stripe", stored, unique("acct"), "--new-account").returncode == 0
    with psycopg.connect(database_url, autocommit=True) as connection:  # two of them parked (and one stored) long ago
        connection.execute(f"UPDATE {PARKED_TABLE} SET parked_at = now() - interval '40 days', replayed_at ="
                           f" replayed_at - interval '40 days' WHERE external_id = ANY(%s)", ([stored, waiting],))

    def left() -> set[str]:
        with psycopg.connect(database_url) as connection:
            rows = connection.execute(f"SELECT external_id FROM {PARKED_TABLE} WHERE external_id = ANY(%s)",
                                      ([stored, waiting, fresh],)).fetchall()
        return {row[0] for row in rows}

    purged = cli(database_url, "webhooks", "purge", "--older-than", "30", "--provider", "stripe")
    assert purged.returncode == 0 and "stored 1" in purged.stdout and purged.stderr == "", purged
    assert left() == {waiting, fresh}
    dropped = cli(database_url, "webhooks", "purge", "--older-than", "30", "--cause", "unmapped")
    assert dropped.returncode == 0 and "unmapped 1" in dropped.stdout and "dropped for good" in dropped.stderr
    assert left() == {fresh}
    assert "nothing to purge" in cli(database_url, "webhooks", "purge", "--older-than", "30", "--provider",
                                     "stripe").stdout
    for wrong in ("-1", "²"):
        bad = cli(database_url, "webhooks", "purge", "--older-than", wrong)
        assert bad.returncode == 2 and "--older-than: must be a whole number of days" in bad.stderr, bad.stderr
    assert left() == {fresh}


@pytest.mark.parametrize(("external_id", "account_id", "says"), [
    ("cus_1", "  ", "accountId: must not be empty"), ("cus_1", "acme\ud800", "accountId: must not contain a lone"), ("", "acme", "externalId: must be 1 to 200"),
    ("cus_\x00", "acme", "externalId: must not contain the NUL character"), ("cus_1", "a" * 201, "accountId:"),
])
def test_a_bad_mapping_names_the_argument_and_sets_nothing(hooks: httpx.Client, external_id: str, account_id: str,
                                                           says: str) -> None:
    variables = {"provider": "STRIPE", "externalId": external_id, "accountId": account_id, "new": True}
    body = hooks.post("/graphql", content=json.dumps({"query": MAP, "variables": variables}),  # \ud800 escaped
                      headers={"content-type": "application/json"}).json()
    assert body["errors"][0]["message"].startswith(says), body
    listed = graphql(hooks, "{ providerMappings(provider: STRIPE, first: 100) { externalId accountId } }")
    assert {"externalId": external_id, "accountId": account_id} not in listed["data"]["providerMappings"]


def test_a_mapping_to_an_account_no_event_names_is_refused_unless_it_is_new(hooks: httpx.Client,
                                                                             database_url: str) -> None:
    """A typo must not file a customer's events on a phantom account, for good: refused, nothing set or stored."""
    customer, typo = unique("cus"), unique("no such account!")
    assert stripe_post(hooks, stripe_invoice_event("invoice.paid", customer)).json()["parked"] == 1
    body = graphql(hooks, MAP, {"provider": "STRIPE", "externalId": customer, "accountId": typo})
    assert body["errors"][0]["message"].startswith(f"accountId: no event names the account {typo!r} yet"), body
    assert "newAccount: true" in body["errors"][0]["message"]
    refused = cli(database_url, "mappings", "set", "stripe", customer, typo)
    assert refused.returncode == 2 and "accountId: no event names the account" in refused.stderr
    assert "--new-account" in refused.stderr and "stored now" not in refused.stdout
    assert customer not in cli(database_url, "mappings", "list", "--provider", "stripe").stdout
    assert not account_exists(hooks, typo) and len(parked_of(hooks, "stripe", customer)) == 1

    known = unique("acct")  # an account some event names already needs no flag
    recorded = graphql(hooks, "mutation R($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }", {"e": [{
        "id": unique("e"), "source": "crm", "type": "sales.account.updated", "accountId": known,
        "occurredAt": "2026-01-05T09:00:00Z", "data": {"name": "Known GmbH"}}]})
    assert recorded["data"]["recordEvents"]["accepted"] == 1, recorded
    assert map_customer(hooks, "stripe", customer, known, new_account=False)["replayed"] == 1
    other = unique("cus")
    mapped = cli(database_url, "mappings", "set", "stripe", other, known)
    assert mapped.returncode == 0, mapped.stderr
