"""What a key may do, and who acted: the scopes and the principal of a request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EVENTS_WRITE = "events:write"  # recordEvents
VIEWS_READ = "views:read"  # every query
STREAMS_READ = "streams:read"  # every subscription
FINDINGS_ACT = "findings:act"  # acknowledge, assign, snooze, comment on, close and reopen findings
ADMIN = "admin"  # everything above, and what operators do (rebuild, keys)
SCOPES = (EVENTS_WRITE, VIEWS_READ, STREAMS_READ, FINDINGS_ACT, ADMIN)
LOCAL_ACTOR = "local"  # who acts for a client on this machine served without a key

PRINCIPAL = "cx360.principal"  # the ASGI scope's key for the authenticated principal


class ScopeError(ValueError):
    """A scope list that cannot be used; the message names the scope and the reason."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: an API key (its id and holder), or a client on this machine when no key exists."""

    key_id: str | None
    holder: str
    scopes: frozenset[str]
    address: str | None = None  # the client's address, for a loopback client without a key
    sources: frozenset[str] | None = None  # the only sources its events may name (None: any)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes

    @property
    def rate_key(self) -> str:
        """Whose budget a request spends: the key's, or the client address's without a key."""
        return f"key:{self.key_id}" if self.key_id is not None else f"address:{self.address}"

    @property
    def actor(self) -> str:
        """Who a finding's handling records as acting: the key's holder, or `local` without a key."""
        return self.holder if self.key_id is not None else LOCAL_ACTOR

    @classmethod
    def loopback(cls, address: str) -> Principal:
        return cls(key_id=None, holder=f"loopback client {address}", scopes=frozenset({ADMIN}), address=address)


IN_PROCESS = Principal(key_id=None, holder="in-process caller", scopes=frozenset({ADMIN}))
"""The principal of a context built in the process (tests, benchmarks): requests never get it."""


def scopes_from(given: Iterable[str]) -> frozenset[str]:
    """The scopes of `--scope` values (each may list several, separated by commas)."""
    scopes = {each.strip() for text in given for each in text.split(",") if each.strip()}
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise ScopeError(f"scope: unknown {', '.join(repr(each[:40]) for each in unknown)}; the scopes are {', '.join(SCOPES)}")
    if not scopes:
        raise ScopeError(f"scope: give at least one of {', '.join(SCOPES)}")
    return frozenset(scopes)
