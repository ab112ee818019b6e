"""A fact keeps the event's actor (attribution credits them), from the store and through a checkpoint."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson

from domain.stream import topic_of
from projections.facts import Fact, fact_from_stored
from projections.state_codec import decode, encode

TOPIC = topic_of("support.ticket.resolved")
WHEN = datetime(2026, 3, 2, 9, 14, tzinfo=timezone.utc)
STORED = {"id": "zd-1", "source": "zendesk", "account_id": "acme", "contact_id": None,
          "occurred_at": WHEN.isoformat(), "actor": "agent-7", "data": {"ticketId": "T-1"}}


def test_a_stored_event_s_actor_is_the_fact_s() -> None:
    fact, account = fact_from_stored(1, TOPIC, orjson.dumps(STORED))
    assert (fact.actor, account) == ("agent-7", "acme")
    fact, _ = fact_from_stored(1, TOPIC, orjson.dumps(STORED | {"actor": None}))
    assert fact.actor is None


def test_a_checkpoint_keeps_the_actor() -> None:
    """(The fact's fields are part of the checkpoints' fingerprint: those written before facts had an actor are stale.)"""
    fact = Fact(1, "support.ticket.resolved", WHEN, "zendesk", "zd-1", None, {"ticketId": "T-1"}, "agent-7")
    assert decode(encode([fact])) == [fact]
