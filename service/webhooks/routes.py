"""`POST /webhooks/stripe`, `/webhooks/zendesk` and `/webhooks/hubspot`: the signature first, then the events.

Answers: 200 with counts once the events are stored, parked or ignored (the provider stops
retrying); 400 for a wrong or stale signature or a body not of the provider's format
(nothing stored); 503 when the provider's secret is not set, or the store is unavailable
(the provider retries later, so nothing is lost while an operator sets it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.settings import Settings
from service.store.event_store import StoreUnavailable
from service.webhooks import PATH_PREFIX, hubspot_events, stripe_events, zendesk_events
from service.webhooks.drafts import Outcome, PayloadError
from service.webhooks.intake import Webhooks
from service.webhooks.signatures import SignatureRefused, check_hubspot, check_hubspot_v2, check_stripe, check_zendesk

SECRETS = {"stripe": "CX360_STRIPE_WEBHOOK_SECRET", "zendesk": "CX360_ZENDESK_WEBHOOK_SECRET",
           "hubspot": "CX360_HUBSPOT_CLIENT_SECRET"}
RETRY_SECONDS = "60"


def secret_of(settings: Settings, provider: str) -> str | None:
    return {"stripe": settings.stripe_webhook_secret, "zendesk": settings.zendesk_webhook_secret,
            "hubspot": settings.hubspot_client_secret}[provider]


def check(provider: str, request: Request, body: bytes, secret: str) -> None:
    headers = request.headers
    if provider == "stripe":
        check_stripe(body, headers.get("stripe-signature"), secret)
    elif provider == "zendesk":
        check_zendesk(body, headers.get("x-zendesk-webhook-signature"),
                      headers.get("x-zendesk-webhook-signature-timestamp"), secret)
    elif (not headers.get("x-hubspot-signature-v3") and headers.get("x-hubspot-signature-version") == "v2"
          and headers.get("x-hubspot-signature") and is_json_object(body)):
        # a workflow's "Send a webhook", which HubSpot documents as signed with v2; v3 is checked where it is sent
        check_hubspot_v2(request.method, str(request.url), body, headers["x-hubspot-signature"], secret)
    else:
        check_hubspot(request.method, str(request.url), body, headers.get("x-hubspot-signature-v3"),
                      headers.get("x-hubspot-request-timestamp"), secret)


def is_json_object(body: bytes) -> bool:
    try:
        return isinstance(orjson.loads(body), dict)
    except orjson.JSONDecodeError:
        return False


MAPPERS: dict[str, Callable[[Any], list[Outcome]]] = {
    "stripe": stripe_events.events_of, "zendesk": zendesk_events.events_of, "hubspot": hubspot_events.events_of}


def endpoint(provider: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def receive(request: Request) -> JSONResponse:
        webhooks: Webhooks | None = request.state.context.webhooks
        settings: Settings = request.state.context.settings
        secret = secret_of(settings, provider)
        if webhooks is None or not secret:
            if webhooks is not None:
                webhooks.metrics.refuse(provider, "not_configured")
            return refusal(503, f"{provider} webhooks are off: the operator sets {SECRETS[provider]} to the "
                                "signing secret (docs/webhooks.md)", retry=True)
        body = await request.body()
        try:
            check(provider, request, body, secret)
            outcomes = MAPPERS[provider](orjson.loads(body))
        except SignatureRefused as refused:
            webhooks.metrics.refuse(provider, "signature")
            return refusal(400, str(refused))
        except orjson.JSONDecodeError:
            webhooks.metrics.refuse(provider, "bad_payload")
            return refusal(400, "body: not JSON")
        except PayloadError as bad:
            webhooks.metrics.refuse(provider, "bad_payload")
            return refusal(400, str(bad))
        try:
            taken = await webhooks.take(provider, outcomes)
        except StoreUnavailable as failure:
            return refusal(503, str(failure), retry=True)
        return JSONResponse(taken.as_json())

    return receive


def refusal(status: int, message: str, retry: bool = False) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"retry-after": RETRY_SECONDS} if retry else None)


def routes() -> list[Route]:
    return [Route(f"{PATH_PREFIX}{provider}", endpoint(provider), methods=["POST"], name=f"webhook-{provider}")
            for provider in MAPPERS]
