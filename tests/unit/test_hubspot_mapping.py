"""HubSpot's deal facts (amount, currency, companies) and workflow bodies, mapped without a database: payloads in
HubSpot's documented v3 format (a JSON array of subscription events) and in the workflow template of docs/webhooks.md."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from domain.validation import Limits, validate_batch
from service.webhooks import hubspot_events
from service.webhooks.drafts import Draft, Ignored, PayloadError, Unusable
from service.webhooks.hubspot_deals import lacking, whole
from service.webhooks.hubspot_events import DealCompany, DealValue, WonDeal

AT = 1772442840000  # 2026-03-02T09:14:00Z


def deal_change(name: str, value: Any, event_id: int = 7, deal: int = 9001) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 2286, "portalId": 62515, "appId": 1160452, "occurredAt": AT,
            "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": deal, "changeSource": "CRM_UI",
            "propertyName": name, "propertyValue": value}


def association(kind: str, source: int, target: int, type_: str, removed: bool = False, **extra: Any) -> dict[str, Any]:
    return {"eventId": 8, "subscriptionId": 2287, "portalId": 62515, "appId": 1160452, "occurredAt": AT,
            "subscriptionType": kind, "attemptNumber": 0, "changeSource": "USER", "associationType": type_,
            "fromObjectId": source, "toObjectId": target, "associationRemoved": removed,
            "isPrimaryAssociation": False, **extra}


def only(body: Any) -> Any:
    [outcome] = hubspot_events.events_of(body)
    return outcome


def test_a_deal_s_amount_and_currency_are_facts_kept_for_its_won_event() -> None:
    amount, currency = only([deal_change("amount", "12500.50")]), only([deal_change("deal_currency_code", "eur")])
    assert amount == DealValue("hubspot-2286-7", "9001", "amount", "12500.50", datetime(2026, 3, 2, 9, 14, tzinfo=timezone.utc),
                               deal_change("amount", "12500.50"))
    assert (currency.name, currency.value) == ("currency", "EUR")
    assert only([deal_change("amount", "")]).value is None  # cleared: not known any more


@pytest.mark.parametrize(("name", "value", "says"), [
    ("amount", "twelve", "amount) must be a number"), ("amount", "-5", "must not be negative"),
    ("deal_currency_code", "EURO", "ISO 4217"), ("amount", True, "not a boolean"),
])
def test_a_bad_amount_or_currency_is_parked_naming_it(name: str, value: Any, says: str) -> None:
    outcome = only([deal_change(name, value)])
    assert isinstance(outcome, Unusable) and outcome.external_id == "deal:9001" and says in outcome.reason
    assert outcome.reason.startswith("deal.propertyChange: propertyValue")


def test_a_won_deal_becomes_its_won_event_once_amount_and_currency_are_known() -> None:
    stage, won = hubspot_events.events_of([deal_change("dealstage", "closedwon")])
    assert isinstance(stage, Draft) and isinstance(won, WonDeal) and won.key == "hubspot-2286-7-won"
    assert lacking({"amount": "12500.50"}) == ("the deal's currency is not known yet: subscribe to "
                                               "deal.propertyChange for deal_currency_code")
    assert "amount is not known yet: subscribe to deal.propertyChange for amount" in lacking({"currency": "EUR"})
    assert lacking({"amount": None, "currency": "EUR"}).count("not known") == 1
    envelope = whole(won.envelope(), {"amount": "12500.50", "currency": "EUR"})
    assert envelope == {"id": "hubspot-2286-7-won", "source": "webhook:hubspot", "type": "sales.opportunity.won",
                        "occurredAt": "2026-03-02T09:14:00Z",
                        "data": {"opportunityId": "9001", "amount": "12500.50", "currency": "EUR"}}
    accepted, rejections = validate_batch([{**envelope, "accountId": "acme"}], Limits())
    assert not rejections and len(accepted) == 1


def test_deal_to_company_associations_from_either_side() -> None:
    added = only([association("deal.associationChange", 9001, 7001, "DEAL_TO_COMPANY", isPrimaryAssociation=True)])
    assert isinstance(added, DealCompany) and (added.deal, added.company, added.primary, added.removed) == (
        "9001", "7001", True, False)
    removed = only([association("company.associationChange", 7001, 9001, "COMPANY_TO_DEAL", removed=True)])
    assert isinstance(removed, DealCompany) and (removed.deal, removed.company, removed.removed) == ("9001", "7001", True)
    assert only([association("deal.associationChange", 9001, 5001, "DEAL_TO_CONTACT")]) == Ignored(
        "deal.associationChange (DEAL_TO_CONTACT)")
    assert isinstance(only([association("contact.associationChange", 5001, 7001, "CONTACT_TO_COMPANY")]), Ignored)


@pytest.mark.parametrize("broken", [{"toObjectId": None}, {"associationRemoved": "no"}, {"fromObjectId": ""}])
def test_an_association_without_its_ids_or_flag_is_parked_naming_them(broken: dict[str, Any]) -> None:
    outcome = only([association("deal.associationChange", 9001, 7001, "DEAL_TO_COMPANY") | broken])
    assert isinstance(outcome, Unusable) and "fromObjectId and toObjectId" in outcome.reason
    assert "associationRemoved" in outcome.reason


def workflow(**fields: Any) -> dict[str, Any]:
    return {"contactId": "5001", "companyId": "7001", "emailName": "March product update", **fields}


@pytest.mark.parametrize(("moment", "value", "action"), [
    ("openedAt", str(AT), "open"), ("clickedAt", AT, "click"), ("openedAt", "2026-03-02T09:14:00Z", "open"),
])
def test_a_workflow_body_is_an_email_engagement_of_the_contact_s_company(moment: str, value: Any, action: str) -> None:
    draft = only(workflow(**{moment: value}))
    assert isinstance(draft, Draft) and draft.external_id == "company:7001"
    assert draft.envelope == {"id": f"hubspot-email-5001-{action}-{AT}", "source": "webhook:hubspot",
                              "type": "marketing.engagement.recorded", "contactId": "5001",
                              "occurredAt": "2026-03-02T09:14:00Z",
                              "data": {"campaignId": "March product update", "channel": "email", "action": action}}
    accepted, rejections = validate_batch([draft.for_account("acme")], Limits())
    assert not rejections and len(accepted) == 1


@pytest.mark.parametrize(("body", "says"), [
    ({"companyId": "7001", "openedAt": AT}, "contactId"),
    (workflow(), "one of openedAt or clickedAt"),
    (workflow(openedAt=AT, clickedAt=AT), "one of openedAt or clickedAt"),
    (workflow(openedAt="last tuesday"), "openedAt must be milliseconds"),
    (workflow(openedAt="2026-03-02T09:14:00"), "with its offset"),
    (workflow(clickedAt=10**20), "clickedAt must be milliseconds"),
])
def test_a_workflow_body_of_another_shape_is_refused_naming_the_field(body: dict[str, Any], says: str) -> None:
    with pytest.raises(PayloadError, match=says):
        hubspot_events.events_of(body)


@pytest.mark.parametrize(("missing", "says"), [("companyId", "has no company (companyId"),
                                               ("emailName", "emailName (hs_email_last_email_name) is missing")])
def test_a_workflow_body_lacking_what_the_mapping_needs_is_parked(missing: str, says: str) -> None:
    body = {key: value for key, value in workflow(openedAt=AT).items() if key != missing}
    outcome = only(body)
    assert isinstance(outcome, Unusable) and says in outcome.reason and outcome.key == f"hubspot-email-5001-open-{AT}"
