"""HubSpot's webhook events (a JSON array of subscription events) as catalogue sales events.

Each event's envelope `id` is `hubspot-<subscriptionId>-<eventId>` (a retry keeps both),
`occurredAt` its `occurredAt` (milliseconds). A company event names its company; a deal
event names its deal (`deal:<id>`), whose account is its own mapping or else its company's
(`hubspot_deals`). A deal's amount, currency and company are facts kept for the events that
need them: HubSpot's stage change carries none of them. A JSON object, not an array, is a
workflow's "Send a webhook" body (`hubspot_workflow`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from domain.fields import CURRENCY_CODES, Amount, Invalid
from service.webhooks import SOURCES, hubspot_workflow
from service.webhooks.drafts import Draft, Fact, Ignored, Outcome, PayloadError, Unusable, from_epoch, text_of

SOURCE = SOURCES["hubspot"]
COMPANY_FIELDS = {"name": "name", "industry": "industry", "country": "country", "hubspot_owner_id": "owner",
                  "type": "tier"}  # HubSpot property -> sales.account.updated field
WON, LOST = "closedwon", "closedlost"  # the default pipeline's closing stages
DEAL_VALUES = {"amount": "amount", "deal_currency_code": "currency"}  # HubSpot property -> what the won event needs
ASSOCIATIONS = {"deal.associationChange": "DEAL_TO_COMPANY", "company.associationChange": "COMPANY_TO_DEAL"}
KINDS = ("deal.propertyChange", "company.propertyChange", *ASSOCIATIONS)


@dataclass(frozen=True)
class DealValue(Fact):
    """A deal's amount or currency as of `at`; None when it was cleared."""

    key: str
    deal: str
    name: str  # amount | currency
    value: str | None
    at: datetime
    payload: Any


@dataclass(frozen=True)
class DealCompany(Fact):
    """A deal associated with (or, `removed`, no longer with) a company as of `at`."""

    key: str
    deal: str
    company: str
    primary: bool
    removed: bool
    at: datetime
    payload: Any


@dataclass(frozen=True)
class WonDeal(Fact):
    """A deal that became won: `sales.opportunity.won` once its amount and currency as of `at` are known."""

    key: str
    deal: str
    at: datetime
    payload: Any

    def envelope(self) -> dict[str, Any]:
        return {"id": self.key, "source": SOURCE, "type": "sales.opportunity.won",
                "occurredAt": from_epoch(self.at.timestamp()), "data": {"opportunityId": self.deal}}


def events_of(body: Any) -> list[Outcome]:
    if isinstance(body, Mapping):
        return hubspot_workflow.events_of(body)
    if not isinstance(body, list):
        raise PayloadError("body: not a HubSpot webhook batch (a JSON array of events) nor a workflow's JSON object")
    return [outcome for index, event in enumerate(body) for outcome in one(index, event)]


def one(index: int, event: Any) -> list[Outcome]:
    if not isinstance(event, Mapping):
        raise PayloadError(f"body[{index}]: not a HubSpot event (a JSON object)")
    kind, at = event.get("subscriptionType"), event.get("occurredAt")
    subscription, event_id, object_id = (text_of(event.get(name)) for name in ("subscriptionId", "eventId", "objectId"))
    if not isinstance(kind, str) or subscription is None or event_id is None or not isinstance(at, int):
        raise PayloadError(f"body[{index}]: a HubSpot event has a subscriptionType, subscriptionId, eventId and occurredAt")
    key = f"hubspot-{subscription}-{event_id}"
    if kind not in KINDS:
        return [Ignored(kind)]
    if kind in ASSOCIATIONS:
        return [association(kind, key, at, event)]
    if object_id is None:
        return [Unusable(key, None, f"{kind}: objectId is missing", event)]
    name, value = event.get("propertyName"), event.get("propertyValue")
    if kind == "company.propertyChange":
        if name not in COMPANY_FIELDS or not isinstance(value, str) or not value.strip():
            return [Ignored(f"{kind} ({name})")]
        return [draft(f"company:{object_id}", key, "sales.account.updated", {COMPANY_FIELDS[name]: value}, at, event)]
    if isinstance(name, str) and name in DEAL_VALUES:
        return [deal_value(key, object_id, DEAL_VALUES[name], value, at, event)]
    if name != "dealstage" or not isinstance(value, str) or not value.strip():
        return [Ignored(f"{kind} ({name})")]
    return stage_change(key, object_id, value, at, event)


def stage_change(key: str, deal: str, stage: str, at: int, event: Any) -> list[Outcome]:
    found: list[Outcome] = [draft(f"deal:{deal}", key, "sales.opportunity.stage_changed",
                                  {"opportunityId": deal, "stage": stage}, at, event)]
    if stage == LOST:
        found.append(draft(f"deal:{deal}", f"{key}-lost", "sales.opportunity.lost", {"opportunityId": deal}, at, event))
    if stage == WON:
        found.append(WonDeal(f"{key}-won", deal, moment(at), event))
    return found


def deal_value(key: str, deal: str, name: str, value: Any, at: int, event: Any) -> Outcome:
    """The deal's amount (a decimal) or currency (ISO 4217); an empty value clears it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DealValue(key, deal, name, None, moment(at), event)
    try:
        checked = Amount().check(value) if name == "amount" else currency(value)
    except Invalid as invalid:
        return Unusable(key, f"deal:{deal}", f"deal.propertyChange: propertyValue (the deal's {name}) {invalid}", event)
    return DealValue(key, deal, name, checked, moment(at), event)


def currency(value: Any) -> str:
    code = value.strip().upper() if isinstance(value, str) else value
    if code not in CURRENCY_CODES:
        raise Invalid(f"must be an ISO 4217 currency code such as USD or EUR (got {value!r:.40})")
    return str(code)


def association(kind: str, key: str, at: int, event: Mapping[str, Any]) -> Outcome:
    """`deal.associationChange` of DEAL_TO_COMPANY (or `company.associationChange` of COMPANY_TO_DEAL)."""
    if event.get("associationType") != ASSOCIATIONS[kind]:
        return Ignored(f"{kind} ({event.get('associationType')})")
    source, target = text_of(event.get("fromObjectId")), text_of(event.get("toObjectId"))
    removed, primary = event.get("associationRemoved"), event.get("isPrimaryAssociation", False)
    if source is None or target is None or not isinstance(removed, bool) or not isinstance(primary, bool):
        return Unusable(key, None, f"{kind}: fromObjectId and toObjectId (ids) and associationRemoved (a boolean) "
                                   "are needed", event)
    deal, company = (source, target) if kind == "deal.associationChange" else (target, source)
    return DealCompany(key, deal, company, primary, removed, moment(at), event)


def moment(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, timezone.utc)


def draft(external_id: str, key: str, type_: str, data: dict[str, Any], at: int, event: Any) -> Draft:
    envelope = {"id": key, "source": SOURCE, "type": type_, "occurredAt": from_epoch(at / 1000), "data": data}
    return Draft(external_id, envelope, event)
