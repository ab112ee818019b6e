"""Telling a resent event from a different one under the same idempotency key.

`(source, id)` stores an event once. A resend with the same content is a duplicate (the
producer retried); one whose content differs is a conflict: it is not stored either (the
stored event stands, and nobody can overwrite it by sending later), but the producer is
told which fields differ, so that a changed fact is sent again under an id of its own, and
so that a producer whose ids were squatted by another finds out. The content is everything
but the key: type, account, contact, actor, the instant of `occurredAt` (not its text: the
same instant written with another offset is the same event) and `data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from domain.fields import parse_rfc3339
from domain.validation import ValidEvent


@dataclass(frozen=True, slots=True)
class Content:
    """What an event says, under its key: the stored event's fields, or a new one's."""

    type: str
    account_id: str
    contact_id: str | None
    actor: str | None
    occurred_at: datetime
    data: Any  # plain JSON values

    @staticmethod
    def of(event: ValidEvent) -> Content:
        return Content(event.type, event.account_id, event.contact_id, event.actor, event.occurred_at,
                       orjson.loads(orjson.dumps(event.data)))  # as stored: plain JSON

    @staticmethod
    def stored(event_type: str, state: Mapping[str, Any]) -> Content:
        return Content(event_type, state["account_id"], state.get("contact_id"), state.get("actor"),
                       parse_rfc3339(state["occurred_at"]), state["data"])


@dataclass(frozen=True, slots=True)
class Conflict:
    index: int  # in the batch
    source: str
    event_id: str
    fields: tuple[str, ...]  # what differs, as the producer names it: type, accountId, data.amount, ...
    earlier: int | None  # the index of the same key earlier in the batch, when the conflict is within it

    @property
    def message(self) -> str:
        return self.message_with(f"index {self.earlier}" if self.earlier is not None else None)

    def message_with(self, earlier: str | None) -> str:
        """The reason, with the earlier event of the batch named as the caller numbers it (an index, a line)."""
        which = ", ".join(self.fields)
        before = f"sent earlier in this batch ({earlier})" if earlier is not None else "already stored"
        return (f"event {self.event_id!r:.80} of source {self.source!r:.80} was {before} with different content "
                f"({which} differ); it is not stored again: the first stands. A changed fact is a new event "
                f"with an id of its own")


ENVELOPE_NAMES = (("type", "type"), ("account_id", "accountId"), ("contact_id", "contactId"), ("actor", "actor"),
                  ("occurred_at", "occurredAt"))


def differences(first: Content, again: Content) -> tuple[str, ...]:
    """The fields in which `again` differs from `first`; data by its top-level keys."""
    fields = [name for attribute, name in ENVELOPE_NAMES if getattr(first, attribute) != getattr(again, attribute)]
    if first.data != again.data:
        if isinstance(first.data, dict) and isinstance(again.data, dict):
            keys = sorted(set(first.data) | set(again.data))
            fields.extend(f"data.{key}" for key in keys if first.data.get(key, ...) != again.data.get(key, ...))
        else:
            fields.append("data")
    return tuple(fields)
