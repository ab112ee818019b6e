"""Who a request is: the key it presents, or a client on this machine while no key exists.

With at least one active key, every client needs one. With none, the service serves only
clients on this machine (loopback), and only under a name of this machine: a web page
that rebinds its own host name to 127.0.0.1 (DNS rebinding) reaches the port from the
user's browser, but with its own name in `Host`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.access.ring import KeyRing
from service.access.scopes import Principal

LOOPBACK_NAMES = ("localhost",)
CREATE_ONE = "an operator creates one with `cx360 keys create`"


@dataclass(frozen=True)
class Refusal:
    """Why a request is not served; said to the client (401 on HTTP, close 4401 on a WebSocket)."""

    reason: str
    short: str  # for a WebSocket close frame, which holds at most 123 bytes


def authenticate(keys: KeyRing, authorization: str | None, client: str | None, host: str | None) -> Principal | Refusal:
    """The principal of a request from `client` with this `Authorization` value and `Host` header."""
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Refusal("Authorization: must be `Bearer <API key>`", "authorization must be `Bearer <API key>`")
        principal = keys.verify(token.strip())
        if principal is None:
            return Refusal("Authorization: the API key is not valid (unknown, revoked or mistyped)",
                           "the API key is not valid (unknown, revoked or mistyped)")
        return principal
    if keys.required:
        return Refusal(f"Authorization: an API key is required: send `Authorization: Bearer <API key>`; {CREATE_ONE}",
                       "an API key is required")
    if client is None or not is_loopback(client):
        return Refusal(f"no API key exists yet, so only clients on this machine (loopback) are served; {CREATE_ONE}",
                       "no API key exists yet: only clients on this machine are served")
    if not names_this_machine(host):
        return Refusal(f"Host: {host!r:.80} is not a name of this machine; without API keys only localhost, 127.0.0.1 "
                       "and [::1] are served", "Host: not a name of this machine")
    return Principal.loopback(client)


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def names_this_machine(host: str | None) -> bool:
    """Whether a `Host` header names this machine: localhost or a loopback address, with any port."""
    if not host:
        return False
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    return name is not None and (name in LOOPBACK_NAMES or is_loopback(name))
