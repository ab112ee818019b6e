"""A HubSpot workflow's "Send a webhook" body (a JSON object whose keys we define) as a marketing email engagement.

HubSpot's webhooks API has no subscription for marketing email events, but a contact
workflow enrolled on "opened (or clicked) a marketing email" can post the contact's own
properties: `contactId` (Record ID), `companyId` (`associatedcompanyid`), `emailName`
(`hs_email_last_email_name`) and `openedAt` (`hs_email_last_open_date`) or `clickedAt`
(`hs_email_last_click_date`), milliseconds or RFC 3339. The template is in docs/webhooks.md.
The event's id is built from the contact, the action and its moment, so a retry is a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from service.webhooks import SOURCES
from service.webhooks.drafts import Draft, Outcome, PayloadError, Unusable, from_epoch, text_of

SOURCE = SOURCES["hubspot"]
LATEST = 253402300799999  # 9999-12-31T23:59:59.999Z in milliseconds
ACTIONS = {"openedAt": "open", "clickedAt": "click"}  # the body's moment key -> marketing.engagement.recorded action


def events_of(body: Mapping[str, Any]) -> list[Outcome]:
    contact = text_of(body.get("contactId"))
    moments = [name for name in ACTIONS if body.get(name) not in (None, "")]
    if contact is None or len(moments) != 1:
        raise PayloadError("body: a HubSpot workflow body has a contactId and one of openedAt or clickedAt "
                           "(docs/webhooks.md has the template)")
    at = milliseconds(moments[0], body[moments[0]])
    action = ACTIONS[moments[0]]
    key = f"hubspot-email-{contact}-{action}-{at}"
    company, email = text_of(body.get("companyId")), body.get("emailName")
    if company is None:
        return [Unusable(key, None, "workflow body: the contact has no company (companyId, the associatedcompanyid "
                                    "property): no account can be found", dict(body))]
    if not isinstance(email, str) or not email.strip():
        return [Unusable(key, f"company:{company}", "workflow body: emailName (hs_email_last_email_name) is missing: "
                                                    "it names the campaign", dict(body))]
    envelope = {"id": key, "source": SOURCE, "type": "marketing.engagement.recorded", "contactId": contact,
                "occurredAt": from_epoch(at / 1000), "data": {"campaignId": email, "channel": "email", "action": action}}
    return [Draft(f"company:{company}", envelope, dict(body))]


def milliseconds(name: str, value: Any) -> int:
    """A moment as HubSpot's properties give it (milliseconds, as a number or text) or as RFC 3339 text."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= LATEST:
        return value
    if isinstance(value, str) and value.strip().isdigit() and int(value) <= LATEST:
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return int(moment.timestamp() * 1000)
    raise PayloadError(f"body: {name} must be milliseconds since 1970 or an RFC 3339 date-time with its offset "
                       f"(got {value!r:.40})")
