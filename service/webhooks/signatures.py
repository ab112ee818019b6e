"""Each provider's signature, checked as the provider documents it; a request that fails is refused whole.

Stripe's with its official library (`stripe.Webhook.construct_event`); Zendesk and HubSpot
publish no Python library for it, so their HMACs are computed here, compared in constant
time. Every timestamp is held to `TOLERANCE_SECONDS`.

A secret setting may hold several secrets separated by commas (none of the three
providers' secrets has one): while a secret is rotated, a request signed with any of them
is accepted, so the provider's side and ours need not change at the same instant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime

import stripe

TOLERANCE_SECONDS = 300
HUBSPOT_DECODED = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(",
                   "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}  # HubSpot signs its URI with these decoded


class SignatureRefused(Exception):
    """The request is not shown to come from the provider (the message says why)."""


def alternatives(secret: str) -> list[str]:
    """The secrets a setting holds: one, or during a rotation several, separated by commas."""
    return secret.split(",")


def check_stripe(body: bytes, header: str | None, secret: str, now: float | None = None) -> None:
    """`Stripe-Signature` (`t=…,v1=…`): HMAC-SHA256 of `t.body`, `t` within the tolerance.

    The library checks; the refusal is told in our words (what was wrong with the header),
    never the library's message, which advises its own unverified methods."""
    if not header:
        raise SignatureRefused("Stripe-Signature: missing; Stripe signs every webhook it sends with it")
    signed_at = stripe_timestamp(header)
    for each in alternatives(secret):
        try:
            stripe.Webhook.construct_event(body, header, each, tolerance=TOLERANCE_SECONDS)
            return
        except stripe.SignatureVerificationError:
            continue
        except (ValueError, UnicodeDecodeError):
            raise SignatureRefused("body: not JSON, so not a Stripe event") from None
    if (time.time() if now is None else now) - signed_at > TOLERANCE_SECONDS:
        within_tolerance("Stripe-Signature", signed_at, now)
    raise SignatureRefused("Stripe-Signature: does not match the body and the secret (is "
                           "CX360_STRIPE_WEBHOOK_SECRET this endpoint's whsec_ signing secret?)")


def stripe_timestamp(header: str) -> int:
    """The `t=` of a well-formed `Stripe-Signature` (one `t=` of digits, at least one `v1=`)."""
    if not header.isascii():  # Stripe's are hex and digits; its library cannot even compare others (TypeError)
        raise SignatureRefused(f"Stripe-Signature: malformed; expected t=<seconds since 1970>,v1=<signature> "
                               f"(got {header!r:.60})")
    pairs = [item.strip().partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in pairs if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not any(key == "v1" and value for key, _, value in pairs):
        raise SignatureRefused(f"Stripe-Signature: malformed; expected t=<seconds since 1970>,v1=<signature> "
                               f"(got {header!r:.60})")
    return int(stamps[0])


def check_zendesk(body: bytes, signature: str | None, timestamp: str | None, secret: str,
                  now: float | None = None) -> None:
    """`X-Zendesk-Webhook-Signature`: base64(HMAC-SHA256(secret, timestamp + body)), with
    `X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601) within the tolerance."""
    if not signature or not timestamp:
        raise SignatureRefused("X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp are required")
    try:
        signed_at = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise SignatureRefused(f"X-Zendesk-Webhook-Signature-Timestamp: not an ISO 8601 date-time ({timestamp!r:.40})") from None
    within_tolerance("X-Zendesk-Webhook-Signature-Timestamp", signed_at, now)
    if not signed_by_one(alternatives(secret), timestamp.encode() + body, signature):
        raise SignatureRefused("X-Zendesk-Webhook-Signature: does not match the body and the secret")


def check_hubspot(method: str, uri: str, body: bytes, signature: str | None, timestamp: str | None, secret: str,
                  now: float | None = None) -> None:
    """`X-HubSpot-Signature-v3`: base64(HMAC-SHA256(client secret, method + URI + body + timestamp)), with
    `X-HubSpot-Request-Timestamp` (milliseconds) within the tolerance."""
    if not signature or not timestamp:
        raise SignatureRefused("X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required (a workflow's "
                               "webhook may carry X-HubSpot-Signature with X-HubSpot-Signature-Version: v2 instead)")
    if not timestamp.isdigit():
        raise SignatureRefused(f"X-HubSpot-Request-Timestamp: not milliseconds since 1970 ({timestamp!r:.40})")
    within_tolerance("X-HubSpot-Request-Timestamp", int(timestamp) / 1000, now)
    signed = method.encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    if not signed_by_one(alternatives(secret), signed, signature):
        raise SignatureRefused("X-HubSpot-Signature-v3: does not match the request and the client secret")


def check_hubspot_v2(method: str, uri: str, body: bytes, signature: str, secret: str) -> None:
    """`X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v2`: hex(SHA-256(client secret + method + URI +
    body)), as HubSpot signs a workflow's "Send a webhook" request. It carries no timestamp, so none is held to the
    tolerance: a replayed workflow body is stored once all the same (its key is the contact, the action and its
    moment), and the route takes this signature for a workflow's body alone (`routes.check`)."""
    given = signature.strip().lower().encode(errors="replace")
    matches = [hmac.compare_digest(hashlib.sha256(each.encode() + method.encode() + uri.encode() + body).hexdigest()
                                   .encode(), given) for each in alternatives(secret)]
    if not any(matches):
        raise SignatureRefused("X-HubSpot-Signature (v2): does not match the request and the client secret")


def signed_by_one(secrets: list[str], signed: bytes, signature: str) -> bool:
    """Whether the signature is base64(HMAC-SHA256(secret, signed)) for one of the secrets (each compared in full,
    in constant time)."""
    given = signature.strip().encode(errors="replace")  # a header's odd characters never match, nor raise
    matches = [hmac.compare_digest(base64.b64encode(hmac.digest(each.encode(), signed, hashlib.sha256)), given)
               for each in secrets]
    return any(matches)


def hubspot_uri(uri: str) -> str:
    for encoded, character in HUBSPOT_DECODED.items():
        uri = uri.replace(encoded, character).replace(encoded.lower(), character)
    return uri


def within_tolerance(header: str, signed_at: float, now: float | None) -> None:
    age = (time.time() if now is None else now) - signed_at
    if abs(age) > TOLERANCE_SECONDS:
        when = f"{age:.0f} s ago" if age > 0 else f"{-age:.0f} s in the future"
        raise SignatureRefused(f"{header}: signed {when}, beyond the tolerance of {TOLERANCE_SECONDS} s "
                               "(a replayed or delayed request, or a clock that is off)")
