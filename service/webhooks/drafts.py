"""What a provider's payload becomes: catalogue events still without their account, or why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


class PayloadError(ValueError):
    """A signed body that is not the provider's format at all; the message names the field and the reason."""


@dataclass(frozen=True)
class Draft:
    """A catalogue event whose account is the one `external_id` (the provider's customer) is mapped to."""

    external_id: str
    envelope: dict[str, Any]  # id, source, type, occurredAt, data (contactId, actor): all but accountId
    payload: Any  # the provider's own event, kept if the draft is parked

    @property
    def key(self) -> str:
        return str(self.envelope["id"])

    def for_account(self, account_id: str) -> dict[str, Any]:
        return {**self.envelope, "accountId": account_id}


@dataclass(frozen=True)
class Unusable:
    """A payload of a known kind that lacks what the mapping needs: parked with the reason, never dropped."""

    key: str
    external_id: str | None
    reason: str
    payload: Any


@dataclass(frozen=True)
class Ignored:
    """A kind of event the catalogue has nothing for: acknowledged, counted, not stored."""

    kind: str


class Fact:
    """A provider event that is no catalogue event itself but what later ones need (a HubSpot deal's amount, its
    company): kept by the provider's own module (`hubspot_deals`), counted as `noted`."""

    key: str


Outcome = Draft | Unusable | Ignored | Fact


def from_epoch(seconds: int | float) -> str:
    """A Unix time (seconds) as an RFC 3339 date-time in UTC."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


def text_of(value: Any) -> str | None:
    """An id as text (providers send some ids as numbers), or None when absent or empty."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str) and str(value).strip():
        return str(value)
    return None
