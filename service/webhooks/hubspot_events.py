"""HubSpot's webhook events (a JSON array of subscription events) as catalogue sales events.

Each event's envelope `id` is `hubspot-<subscriptionId>-<eventId>` (a retry keeps both),
`occurredAt` its `occurredAt` (milliseconds). A company event names its company, a deal
event only its deal (HubSpot sends no associations): the external ids of the account
mapping are `company:<id>` and `deal:<id>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.webhooks import SOURCES
from service.webhooks.drafts import Draft, Ignored, Outcome, PayloadError, Unusable, from_epoch, text_of

SOURCE = SOURCES["hubspot"]
COMPANY_FIELDS = {"name": "name", "industry": "industry", "country": "country", "hubspot_owner_id": "owner",
                  "type": "tier"}  # HubSpot property -> sales.account.updated field
WON, LOST = "closedwon", "closedlost"  # the default pipeline's closing stages


def events_of(body: Any) -> list[Outcome]:
    if not isinstance(body, list):
        raise PayloadError("body: not a HubSpot webhook batch (a JSON array of events)")
    return [outcome for index, event in enumerate(body) for outcome in one(index, event)]


def one(index: int, event: Any) -> list[Outcome]:
    if not isinstance(event, Mapping):
        raise PayloadError(f"body[{index}]: not a HubSpot event (a JSON object)")
    kind, at = event.get("subscriptionType"), event.get("occurredAt")
    subscription, event_id, object_id = (text_of(event.get(name)) for name in ("subscriptionId", "eventId", "objectId"))
    if not isinstance(kind, str) or subscription is None or event_id is None or not isinstance(at, int):
        raise PayloadError(f"body[{index}]: a HubSpot event has a subscriptionType, subscriptionId, eventId and occurredAt")
    key = f"hubspot-{subscription}-{event_id}"
    if kind not in ("deal.propertyChange", "company.propertyChange"):
        return [Ignored(kind)]
    if object_id is None:
        return [Unusable(key, None, f"{kind}: objectId is missing", event)]
    name, value = event.get("propertyName"), event.get("propertyValue")
    if kind == "company.propertyChange":
        if name not in COMPANY_FIELDS or not isinstance(value, str) or not value.strip():
            return [Ignored(f"{kind} ({name})")]
        return [draft(f"company:{object_id}", key, "sales.account.updated", {COMPANY_FIELDS[name]: value}, at, event)]
    if name != "dealstage" or not isinstance(value, str) or not value.strip():
        return [Ignored(f"{kind} ({name})")]
    deal = f"deal:{object_id}"
    found: list[Outcome] = [draft(deal, key, "sales.opportunity.stage_changed",
                                  {"opportunityId": object_id, "stage": value}, at, event)]
    if value == LOST:
        found.append(draft(deal, f"{key}-lost", "sales.opportunity.lost", {"opportunityId": object_id}, at, event))
    if value == WON:
        found.append(Unusable(f"{key}-won", deal, f"{kind}: deal {object_id} won, but HubSpot's webhook carries no "
                                                  "amount and currency, which sales.opportunity.won needs", event))
    return found


def draft(external_id: str, key: str, type_: str, data: dict[str, Any], at: int, event: Any) -> Draft:
    envelope = {"id": key, "source": SOURCE, "type": type_, "occurredAt": from_epoch(at / 1000), "data": data}
    return Draft(external_id, envelope, event)
