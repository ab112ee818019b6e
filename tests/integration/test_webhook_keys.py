"""Webhooks where API keys are required: the provider's signature stands in for a key, and the admin fields
of the mapping need the `admin` scope. On the keys database (`keys_database_url`), where keys exist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer
from tests.integration.test_webhooks import MAP, PARKED, STRIPE_SECRET, stripe_invoice_event, stripe_post
from tests.support import create_key, unique


@pytest.fixture(scope="module")
def keyed(settings: Settings, keys_database_url: str) -> Iterator[httpx.Client]:
    create_key(keys_database_url, "admin", name="keeps keys required")
    chosen = replace(settings, database_url=keys_database_url, projector="off", stripe_webhook_secret=STRIPE_SECRET)
    with RunningServer(chosen) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_a_signed_webhook_needs_no_key_and_an_unsigned_one_is_refused(keyed: httpx.Client) -> None:
    event = stripe_invoice_event("invoice.finalized", unique("cus"))
    assert stripe_post(keyed, event).json()["parked"] == 1
    assert keyed.post("/webhooks/stripe", json=event).status_code == 400
    assert keyed.post("/graphql", json={"query": "{ __typename }"}).status_code == 401  # the rest still needs a key


def test_the_mapping_needs_the_admin_scope(keyed: httpx.Client, keys_database_url: str) -> None:
    customer = unique("cus")
    stripe_post(keyed, stripe_invoice_event("invoice.finalized", customer))
    _, reader = create_key(keys_database_url, "views:read", "events:write")
    _, admin = create_key(keys_database_url, "admin")
    variables = {"provider": "STRIPE", "externalId": customer, "accountId": unique("acct"), "new": True}
    refused = keyed.post("/graphql", json={"query": MAP, "variables": variables},
                         headers={"authorization": f"Bearer {reader}"}).json()
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "admin"}
    listed = keyed.post("/graphql", json={"query": PARKED, "variables": {"provider": "STRIPE", "all": False}},
                        headers={"authorization": f"Bearer {reader}"}).json()
    assert listed["errors"][0]["extensions"]["scope"] == "admin"
    done = keyed.post("/graphql", json={"query": MAP, "variables": variables},
                      headers={"authorization": f"Bearer {admin}"}).json()
    assert done["data"]["mapProviderCustomer"]["replayed"] == 1, done
