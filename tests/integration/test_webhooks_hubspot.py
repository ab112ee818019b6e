"""HubSpot's deals through the real endpoint on real PostgreSQL: a won deal's amount and currency from their own
property changes, in any order of delivery; a deal filed on its company's account through DEAL_TO_COMPANY
associations; marketing email engagement from a workflow's "Send a webhook" body. Signed here as HubSpot signs (v3, and v2 for
a workflow's body)."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer
from tests.integration.test_webhooks import (
    HUBSPOT_SECRET,
    account_exists,
    counter,
    hubspot_post,
    map_customer,
    parked_of,
)
from tests.support import timeline, unique

T0 = 1772442840000  # 2026-03-02T09:14:00Z, HubSpot's occurredAt in milliseconds
MINUTE = 60_000
numbers = itertools.count(int(time.time_ns() % 10**12))


@pytest.fixture(scope="module")
def hooks(settings: Settings) -> Iterator[httpx.Client]:
    with RunningServer(replace(settings, projector="off", hubspot_client_secret=HUBSPOT_SECRET)) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        yield client


def fresh() -> int:
    """An id no other test (or earlier run on the same database) uses: deals, companies and HubSpot's event ids."""
    return next(numbers) * 1000 + int(time.time_ns() % 1000)


def change(deal: int, name: str, value: Any, at: int = T0) -> dict[str, Any]:
    return {"eventId": fresh(), "subscriptionId": 2286139, "portalId": 62515, "appId": 1160452, "occurredAt": at,
            "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": deal, "changeSource": "CRM_UI",
            "propertyName": name, "propertyValue": value}


def associated(deal: int, company: int, at: int = T0, removed: bool = False, primary: bool = True) -> dict[str, Any]:
    return {"eventId": fresh(), "subscriptionId": 2286140, "portalId": 62515, "appId": 1160452, "occurredAt": at,
            "subscriptionType": "deal.associationChange", "attemptNumber": 0, "changeSource": "USER",
            "associationType": "DEAL_TO_COMPANY", "fromObjectId": deal, "toObjectId": company,
            "associationRemoved": removed, "isPrimaryAssociation": primary}


def post(client: httpx.Client, body: Any) -> dict[str, int]:
    answer = hubspot_post(client, body)
    assert answer.status_code == 200, answer.text
    counts: dict[str, int] = answer.json()
    return counts


def stored(client: httpx.Client, account: str) -> list[dict[str, Any]]:
    """The account's events; none while no event names it."""
    return timeline(client, account) if account_exists(client, account) else []


def wins(client: httpx.Client, account: str) -> list[dict[str, Any]]:
    return [each["data"] for each in stored(client, account) if each["type"] == "sales.opportunity.won"]


# --- a won deal's amount -------------------------------------------------------------------------


def test_a_won_deal_takes_the_amount_and_currency_known_before(hooks: httpx.Client) -> None:
    deal, account = fresh(), unique("acct")
    map_customer(hooks, "hubspot", f"deal:{deal}", account)
    facts = [change(deal, "amount", "12500.50"), change(deal, "deal_currency_code", "EUR")]
    assert post(hooks, facts) == {"received": 2, "stored": 0, "duplicates": 0, "ignored": 0, "parked": 0, "noted": 2}
    assert post(hooks, facts)["duplicates"] == 2  # HubSpot's retry: kept once
    won = change(deal, "dealstage", "closedwon", T0 + MINUTE)
    assert post(hooks, [won]) == {"received": 2, "stored": 2, "duplicates": 0, "ignored": 0, "parked": 0, "noted": 0}
    assert post(hooks, [won])["duplicates"] == 2
    assert wins(hooks, account) == [{"opportunityId": str(deal), "amount": "12500.50", "currency": "EUR"}]


def test_the_amount_is_the_one_as_of_the_win_whatever_the_order_of_delivery(hooks: httpx.Client) -> None:
    deal, account = fresh(), unique("acct")
    map_customer(hooks, "hubspot", f"deal:{deal}", account)
    later, earlier = change(deal, "amount", "900", T0 + 3 * MINUTE), change(deal, "amount", "500", T0 + MINUTE)
    post(hooks, [later, change(deal, "deal_currency_code", "USD", T0)])
    post(hooks, [earlier])  # delivered after the later change: HubSpot does not keep the order
    post(hooks, [change(deal, "dealstage", "closedwon", T0 + 2 * MINUTE)])
    assert wins(hooks, account) == [{"opportunityId": str(deal), "amount": "500", "currency": "USD"}]


def test_a_deal_won_before_its_amount_is_parked_then_stored_when_the_amount_comes(hooks: httpx.Client) -> None:
    deal, account = fresh(), unique("acct")
    map_customer(hooks, "hubspot", f"deal:{deal}", account)
    won = change(deal, "dealstage", "closedwon", T0 + MINUTE)
    assert post(hooks, [won]) == {"received": 2, "stored": 1, "duplicates": 0, "ignored": 0, "parked": 1, "noted": 0}
    assert post(hooks, [won])["duplicates"] == 2  # the retry parks nothing more
    [parked] = parked_of(hooks, "hubspot", f"deal:{deal}")
    assert parked["cause"] == "incomplete" and parked["payload"] == won
    assert "the deal's amount is not known yet: subscribe to deal.propertyChange for amount" in parked["reason"]
    assert "deal_currency_code" in parked["reason"]

    post(hooks, [change(deal, "deal_currency_code", "GBP", T0)])
    [parked] = parked_of(hooks, "hubspot", f"deal:{deal}")
    assert "currency" not in parked["reason"] and "amount is not known yet" in parked["reason"]
    assert wins(hooks, account) == []

    post(hooks, [change(deal, "amount", "48000", T0 + 5 * MINUTE)])  # set after the win: still the deal's amount
    assert wins(hooks, account) == [{"opportunityId": str(deal), "amount": "48000", "currency": "GBP"}]
    assert parked_of(hooks, "hubspot", f"deal:{deal}") == []
    [replayed] = parked_of(hooks, "hubspot", f"deal:{deal}", everything=True)
    assert replayed["accountId"] == account and replayed["replayedAt"] is not None
    assert post(hooks, [won])["duplicates"] == 2  # stored once, however often HubSpot retries
    post(hooks, [change(deal, "amount", "47000", T0 + 6 * MINUTE)])  # a later change stores no second won event
    assert len(wins(hooks, account)) == 1


def test_a_win_and_its_amount_delivered_at_once_never_miss_each_other(hooks: httpx.Client) -> None:
    """Two requests at the same moment: the won event is parked before the amount comes, or finds it kept; never
    parked after the amount looked for it (one lock per deal, taken by both)."""
    deals, account = [fresh() for _ in range(12)], unique("acct")
    for deal in deals:
        map_customer(hooks, "hubspot", f"deal:{deal}", account)
        post(hooks, [change(deal, "deal_currency_code", "EUR")])
    bodies = [body for deal in deals for body in ([change(deal, "dealstage", "closedwon", T0 + MINUTE)],
                                                  [change(deal, "amount", "100", T0)])]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(answer.status_code == 200 for answer in pool.map(lambda body: hubspot_post(hooks, body), bodies))
    assert sorted(each["opportunityId"] for each in wins(hooks, account)) == sorted(str(deal) for deal in deals)


def test_a_won_deal_with_its_amount_but_no_account_is_parked_unmapped_then_stored(hooks: httpx.Client) -> None:
    deal, account = fresh(), unique("acct")
    post(hooks, [change(deal, "dealstage", "closedwon", T0), change(deal, "amount", "10"),
                 change(deal, "deal_currency_code", "JPY")])
    parked = parked_of(hooks, "hubspot", f"deal:{deal}")
    assert sorted(each["cause"] for each in parked) == ["unmapped", "unmapped"]  # the stage change and the won event
    assert map_customer(hooks, "hubspot", f"deal:{deal}", account)["replayed"] == 2
    assert wins(hooks, account) == [{"opportunityId": str(deal), "amount": "10", "currency": "JPY"}]


def test_a_bad_amount_is_parked_naming_it_and_keeps_nothing(hooks: httpx.Client) -> None:
    deal = fresh()
    bad = change(deal, "amount", "twelve thousand")
    assert post(hooks, [bad])["parked"] == 1
    [parked] = parked_of(hooks, "hubspot", f"deal:{deal}")
    assert parked["cause"] == "unusable" and "propertyValue (the deal's amount) must be a number" in parked["reason"]
    post(hooks, [change(deal, "dealstage", "closedwon", T0 + MINUTE)])
    assert any(each["cause"] == "incomplete" for each in parked_of(hooks, "hubspot", f"deal:{deal}"))


# --- a deal's company ----------------------------------------------------------------------------


def test_a_deal_is_filed_on_its_company_s_account_unless_mapped_itself(hooks: httpx.Client) -> None:
    company, deal, own_deal, account, own = fresh(), fresh(), fresh(), unique("acct"), unique("acct")
    map_customer(hooks, "hubspot", f"company:{company}", account)
    map_customer(hooks, "hubspot", f"deal:{own_deal}", own)
    counts = post(hooks, [associated(deal, company), associated(own_deal, company)])
    assert counts == {"received": 2, "stored": 0, "duplicates": 0, "ignored": 0, "parked": 0, "noted": 2}
    post(hooks, [change(deal, "dealstage", "presentationscheduled", T0 + MINUTE),
                 change(own_deal, "dealstage", "closedlost", T0 + MINUTE)])
    assert [each["data"]["opportunityId"] for each in stored(hooks, account)] == [str(deal)]
    assert sorted(each["type"] for each in stored(hooks, own)) == ["sales.opportunity.lost",
                                                                     "sales.opportunity.stage_changed"]


def test_a_deal_parked_without_account_is_stored_once_its_company_is_known_and_mapped(hooks: httpx.Client) -> None:
    company, deal, account = fresh(), fresh(), unique("acct")
    post(hooks, [change(deal, "dealstage", "closedlost", T0 + MINUTE)])  # before its association arrives
    assert len(parked_of(hooks, "hubspot", f"deal:{deal}")) == 2
    assert all("no company is known for it" in each["reason"] for each in parked_of(hooks, "hubspot", f"deal:{deal}"))
    assert post(hooks, [associated(deal, company)])["noted"] == 1  # its company is not mapped yet
    assert len(parked_of(hooks, "hubspot", f"deal:{deal}")) == 2
    post(hooks, [change(deal, "dealstage", "closedwon", T0 + 2 * MINUTE)])
    parked = [each for each in parked_of(hooks, "hubspot", f"deal:{deal}") if not each["eventId"].endswith("-won")]
    assert len(parked) == 3 and f"nor to its company 'company:{company}'" in parked[0]["reason"]
    mapped = map_customer(hooks, "hubspot", f"company:{company}", account)
    assert (mapped["replayed"], mapped["stillParked"]) == (3, 0)  # the company's deals' events come with it
    assert sorted(each["type"] for each in stored(hooks, account)) == [
        "sales.opportunity.lost", "sales.opportunity.stage_changed", "sales.opportunity.stage_changed"]
    assert [each["cause"] for each in parked_of(hooks, "hubspot", f"deal:{deal}")] == ["incomplete"]  # no amount yet


def test_an_association_arriving_after_the_deal_s_events_stores_them(hooks: httpx.Client) -> None:
    company, deal, account = fresh(), fresh(), unique("acct")
    map_customer(hooks, "hubspot", f"company:{company}", account)
    post(hooks, [change(deal, "dealstage", "qualifiedtobuy", T0 + MINUTE)])
    assert stored(hooks, account) == []
    post(hooks, [associated(deal, company, T0)])
    assert [each["type"] for each in stored(hooks, account)] == ["sales.opportunity.stage_changed"]
    assert parked_of(hooks, "hubspot", f"deal:{deal}") == []


def test_a_removal_delivered_before_the_association_it_undoes_wins(hooks: httpx.Client) -> None:
    company, deal, account = fresh(), fresh(), unique("acct")
    map_customer(hooks, "hubspot", f"company:{company}", account)
    removal, addition = associated(deal, company, T0 + 2 * MINUTE, removed=True), associated(deal, company, T0)
    assert post(hooks, [removal])["noted"] == 1
    assert post(hooks, [addition])["noted"] == 1  # older than the removal: kept, but changes nothing
    assert post(hooks, [removal])["duplicates"] == 1  # and a retry of the removal is a duplicate
    post(hooks, [change(deal, "dealstage", "closedlost", T0 + 3 * MINUTE)])
    assert stored(hooks, account) == []
    assert {each["cause"] for each in parked_of(hooks, "hubspot", f"deal:{deal}")} == {"unmapped"}


def test_the_primary_company_wins_over_a_later_secondary_one(hooks: httpx.Client) -> None:
    primary, secondary, deal, first, second = fresh(), fresh(), fresh(), unique("acct"), unique("acct")
    map_customer(hooks, "hubspot", f"company:{primary}", first)
    map_customer(hooks, "hubspot", f"company:{secondary}", second)
    post(hooks, [associated(deal, primary, T0), associated(deal, secondary, T0 + MINUTE, primary=False)])
    post(hooks, [change(deal, "dealstage", "closedlost", T0 + 2 * MINUTE)])
    assert len(stored(hooks, first)) == 2 and stored(hooks, second) == []


# --- marketing email engagement, from a workflow --------------------------------------------------


def test_a_workflow_s_email_click_is_an_engagement_on_the_company_s_account(hooks: httpx.Client) -> None:
    company, contact, account = fresh(), fresh(), unique("acct")
    map_customer(hooks, "hubspot", f"company:{company}", account)
    body = {"contactId": str(contact), "companyId": str(company), "emailName": "March product update",
            "clickedAt": str(T0)}
    assert post(hooks, body) == {"received": 1, "stored": 1, "duplicates": 0, "ignored": 0, "parked": 0, "noted": 0}
    assert post(hooks, body)["duplicates"] == 1  # HubSpot retries a workflow's webhook for up to three days
    [event] = stored(hooks, account)
    assert (event["type"], event["contactId"], event["occurredAt"]) == (
        "marketing.engagement.recorded", str(contact), "2026-03-02T09:14:00+00:00")
    assert event["data"] == {"campaignId": "March product update", "channel": "email", "action": "click"}


def test_a_workflow_body_without_company_is_parked_and_a_malformed_one_refused(hooks: httpx.Client) -> None:
    contact = fresh()
    body = {"contactId": str(contact), "companyId": "", "emailName": "March product update", "openedAt": T0}
    assert post(hooks, body)["parked"] == 1
    [parked] = [each for each in parked_of(hooks, "hubspot", None) if each["payload"] == body]
    assert parked["cause"] == "unusable" and "companyId" in parked["reason"]
    refused = hubspot_post(hooks, {**body, "openedAt": "yesterday"})
    assert refused.status_code == 400 and "openedAt" in refused.json()["error"]


def workflow_post(client: httpx.Client, body: Any, secret: str = HUBSPOT_SECRET) -> httpx.Response:
    """As HubSpot signs a workflow's "Send a webhook" request: v2, no timestamp."""
    content = json.dumps(body).encode()
    uri = str(client.base_url.join("/webhooks/hubspot"))
    signature = hashlib.sha256(secret.encode() + b"POST" + uri.encode() + content).hexdigest()
    return client.post("/webhooks/hubspot", content=content, headers={
        "content-type": "application/json", "x-hubspot-signature": signature, "x-hubspot-signature-version": "v2"})


def test_a_workflow_body_signed_v2_is_taken_and_nothing_else_is(hooks: httpx.Client) -> None:
    company, contact, account = fresh(), fresh(), unique("acct")
    map_customer(hooks, "hubspot", f"company:{company}", account)
    body = {"contactId": str(contact), "companyId": str(company), "emailName": "April webinar", "openedAt": str(T0)}
    refusals = counter(hooks, "cx360_webhook_refused_total", provider="hubspot", reason="signature")
    forged = workflow_post(hooks, body, secret="not-the-client-secret")
    assert forged.status_code == 400 and "X-HubSpot-Signature (v2): does not match" in forged.json()["error"]
    array = workflow_post(hooks, [change(fresh(), "dealstage", "closedwon")])  # the webhooks API signs with v3
    assert array.status_code == 400 and "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required" in \
        array.json()["error"]
    assert counter(hooks, "cx360_webhook_refused_total", provider="hubspot", reason="signature") == refusals + 2
    assert not account_exists(hooks, account)
    taken = workflow_post(hooks, body)
    assert taken.status_code == 200 and taken.json()["stored"] == 1, taken.text
    assert workflow_post(hooks, body).json()["duplicates"] == 1  # a replay, with no timestamp to refuse it by
    [event] = stored(hooks, account)
    assert (event["type"], event["data"]["action"]) == ("marketing.engagement.recorded", "open")
