"""Zendesk's and HubSpot's signatures, computed here as each provider documents them; Stripe's through its library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from service.webhooks.signatures import SignatureRefused, check_hubspot, check_hubspot_v2, check_stripe, check_zendesk

SECRET = "dGhpcyBpcyBhIHRlc3Qgc2VjcmV0"
BODY = b'{"type":"zen:event-type:ticket.created","id":"e1"}'


def zendesk_signature(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


def hubspot_signature(uri: str, body: bytes, timestamp: str, secret: str = SECRET) -> str:
    signed = b"POST" + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def stripe_header(body: bytes, at: int, secret: str = "whsec_test") -> str:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def test_zendesk_accepts_its_signature_and_refuses_others() -> None:
    now = time.time()
    stamp = iso(now)
    check_zendesk(BODY, zendesk_signature(BODY, stamp), stamp, SECRET, now)
    with pytest.raises(SignatureRefused, match="does not match"):
        check_zendesk(BODY + b" ", zendesk_signature(BODY, stamp), stamp, SECRET, now)
    with pytest.raises(SignatureRefused, match="does not match"):
        check_zendesk(BODY, zendesk_signature(BODY, stamp, "other"), stamp, SECRET, now)
    with pytest.raises(SignatureRefused, match="required"):
        check_zendesk(BODY, None, stamp, SECRET, now)


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_zendesk_refuses_a_timestamp_beyond_five_minutes(offset: int) -> None:
    now = time.time()
    stamp = iso(now + offset)
    with pytest.raises(SignatureRefused, match="tolerance"):
        check_zendesk(BODY, zendesk_signature(BODY, stamp), stamp, SECRET, now)


def test_hubspot_accepts_its_v3_signature_over_the_decoded_uri() -> None:
    now = time.time()
    stamp = str(int(now * 1000))
    uri = "https://cx.example.com/webhooks/hubspot?portal=62515&tag=a:b"
    sent = "https://cx.example.com/webhooks/hubspot?portal=62515&tag=a%3Ab"  # HubSpot signs `:` decoded
    check_hubspot("POST", sent, BODY, hubspot_signature(uri, BODY, stamp), stamp, SECRET, now)
    with pytest.raises(SignatureRefused, match="does not match"):
        check_hubspot("POST", "https://other.example.com/webhooks/hubspot", BODY,
                      hubspot_signature(uri, BODY, stamp), stamp, SECRET, now)
    stale = str(int((now - 301) * 1000))
    with pytest.raises(SignatureRefused, match="tolerance"):
        check_hubspot("POST", uri, BODY, hubspot_signature(uri, BODY, stale), stale, SECRET, now)
    with pytest.raises(SignatureRefused, match="milliseconds"):
        check_hubspot("POST", uri, BODY, "x", "2026-01-01", SECRET, now)


def test_stripe_through_its_library() -> None:
    now = int(time.time())
    check_stripe(BODY, stripe_header(BODY, now), "whsec_test")
    with pytest.raises(SignatureRefused, match="Stripe-Signature"):
        check_stripe(BODY, stripe_header(BODY, now, "whsec_other"), "whsec_test")
    with pytest.raises(SignatureRefused, match="tolerance"):
        check_stripe(BODY, stripe_header(BODY, now - 301), "whsec_test")
    with pytest.raises(SignatureRefused):
        check_stripe(BODY, None, "whsec_test")
    with pytest.raises(SignatureRefused, match="not JSON"):
        check_stripe(b"not json", stripe_header(b"not json", now), "whsec_test")


@pytest.mark.parametrize(("offset", "says"), [(-600, "signed 600 s ago"), (600, "signed 600 s in the future"),
                                              (-301, "signed 301 s ago")])
def test_the_refusal_says_how_long_ago_or_ahead_it_was_signed(offset: int, says: str) -> None:
    now = float(int(time.time()))
    stamp = iso(now + offset)
    with pytest.raises(SignatureRefused, match=f"^X-Zendesk-Webhook-Signature-Timestamp: {says}, beyond"):
        check_zendesk(BODY, zendesk_signature(BODY, stamp), stamp, SECRET, now)
    millis = str(int(now + offset) * 1000)
    with pytest.raises(SignatureRefused, match=f"^X-HubSpot-Request-Timestamp: {says}, beyond"):
        check_hubspot("POST", "https://cx.example.com/", BODY, "x", millis, SECRET, now)


def test_while_a_secret_is_rotated_either_signs() -> None:
    """A setting of two secrets, the new one first: a request signed with either is accepted, with neither refused."""
    now = time.time()
    stamp, millis, at = iso(now), str(int(now * 1000)), int(now)
    uri = "https://cx.example.com/webhooks/hubspot"
    for signer in ("new-secret", SECRET):
        check_zendesk(BODY, zendesk_signature(BODY, stamp, signer), stamp, f"new-secret,{SECRET}", now)
        check_hubspot("POST", uri, BODY, hubspot_signature(uri, BODY, millis, signer), millis, f"new-secret,{SECRET}",
                      now)
    for signer in ("whsec_new", "whsec_test"):
        check_stripe(BODY, stripe_header(BODY, at, signer), "whsec_new,whsec_test")
    with pytest.raises(SignatureRefused, match="does not match"):
        check_zendesk(BODY, zendesk_signature(BODY, stamp, "third"), stamp, f"new-secret,{SECRET}", now)
    with pytest.raises(SignatureRefused, match="does not match"):
        check_hubspot("POST", uri, BODY, hubspot_signature(uri, BODY, millis, "third"), millis, f"new-secret,{SECRET}",
                      now)
    with pytest.raises(SignatureRefused, match="does not match"):
        check_stripe(BODY, stripe_header(BODY, at, "whsec_third"), "whsec_new,whsec_test")
    with pytest.raises(SignatureRefused, match="not JSON"):  # signed by the second: the body is read, and refused
        check_stripe(b"not json", stripe_header(b"not json", at, "whsec_test"), "whsec_new,whsec_test")


def test_a_signature_of_odd_characters_is_refused_not_an_error() -> None:
    now = time.time()
    stamp = iso(now)
    with pytest.raises(SignatureRefused, match="does not match"):
        check_zendesk(BODY, "é" * 44, stamp, SECRET, now)
    with pytest.raises(SignatureRefused, match="Stripe-Signature: malformed"):
        check_stripe(BODY, f"t={int(now)},v1={'é' * 64}", "whsec_test")


def test_hubspot_v2_as_its_documentation_computes_it() -> None:
    """HubSpot's own example ("Validating the v2 request signature"): a GET with no body."""
    secret, uri = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "https://www.example.com/webhook_uri"
    check_hubspot_v2("GET", uri, b"", "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e", secret)
    check_hubspot_v2("GET", uri, b"", "EEE2DDDCC73C94D699F5E395F4B9D454A069A6855FBFA152E91E88823087200E", secret)
    check_hubspot_v2("GET", uri, b"", "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e",
                     f"new-secret,{secret}")  # during a rotation
    for method, signed_uri, body in (("POST", uri, b""), ("GET", uri + "?x=1", b""), ("GET", uri, b"{}")):
        with pytest.raises(SignatureRefused, match="X-HubSpot-Signature \\(v2\\): does not match"):
            check_hubspot_v2(method, signed_uri, body, "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e",
                             secret)
    with pytest.raises(SignatureRefused):
        check_hubspot_v2("GET", uri, b"", "\u00e9t\u00e9", secret)  # odd characters never match, nor raise
