"""`POST /events`: CloudEvents (structured, batched, binary) and NDJSON envelopes, into the write path.

Every event goes through the same validation, idempotency and conflicts as `recordEvents`,
under the same scope (`events:write`, and a key's sources) and the same write budget. The
answer is JSON with counts: 200 when every event was stored or already was, 207 when some
were rejected or conflicted (each named by its `index` from 0, or its `line` from 1 for
NDJSON); 400 for a body that cannot be read at all; 415 for a content type not taken.

A CloudEvents batch is stored in one transaction, like a `recordEvents` batch, and holds at
most `CX360_MAX_BATCH_EVENTS` events. An NDJSON body may hold more: it is stored in
transactions of that many lines, in order, each validated while the one before it is
stored; if the database fails midway, the answer (503) says through which line events
were stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response

from domain.fields import json_type
from service.access.scopes import EVENTS_WRITE, PRINCIPAL, Principal
from service.api.context import Context
from service.producers.cloudevents import BATCH, STRUCTURED, binary_item, reason, structured_item
from service.producers.envelopes import Item, Line, Unreadable, line_items, numbered_lines, read_json
from service.store.event_store import StoreUnavailable
from service.store.ingest import Checked, Ingest

NDJSON = "application/x-ndjson"
ACCEPTED_TYPES = (f"{STRUCTURED} (structured), {BATCH} (batched), {NDJSON} (one envelope per line), or, in "
                  "binary mode, a JSON type such as application/json with the ce-specversion, ce-id, ce-source, "
                  "ce-type, ce-subject and ce-time headers")


@dataclass
class Outcome:
    """What became of a body's events, each named by its label (`unit`: index or line)."""

    unit: str
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    conflicted: list[dict[str, Any]] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "conflicts": len(self.conflicted),
                "rejected": self.rejected, "conflicted": self.conflicted}

    @property
    def status(self) -> int:
        return 207 if self.rejected or self.conflicted else 200


async def post_events(request: Request) -> Response:
    context: Context = request.state.context  # opened by the application's lifespan
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None or not principal.allows(EVENTS_WRITE):
        return refusal(403, "FORBIDDEN", f"this key lacks the scope {EVENTS_WRITE}", scope=EVENTS_WRITE)
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    binary = "ce-specversion" in request.headers
    if media not in (STRUCTURED, BATCH, NDJSON) and not binary:
        return refusal(415, "UNSUPPORTED_MEDIA_TYPE",
                       f"Content-Type must be {ACCEPTED_TYPES} (got {media or 'none'!r:.80})")
    body = await request.body()
    try:  # NDJSON lines are read in the batches they are stored in (`check_chunk`), other bodies at once
        units: Sequence[Any] = (numbered_lines(body) if media == NDJSON
                                else read_items(media, request, body, context.settings.max_batch_events))
    except Unreadable as unreadable:
        return refusal(400, "BAD_REQUEST", str(unreadable))
    outcome = Outcome("line" if media == NDJSON else "index")
    size = context.settings.max_batch_events
    chunks = [units[start:start + size] for start in range(0, len(units), size)]
    read: Callable[[Sequence[Any]], list[Item]] = line_items if media == NDJSON else items_as_they_are
    checked = await check_chunk(context.ingest, partial(read, chunks[0]), principal) if chunks else None
    for number in range(len(chunks)):
        assert checked is not None
        storing = asyncio.ensure_future(store_items(context.ingest, *checked, outcome))
        try:  # the next chunk is read and validated while this one is stored
            checked = (await check_chunk(context.ingest, partial(read, chunks[number + 1]), principal)
                       if number + 1 < len(chunks) else None)
            await storing
        except StoreUnavailable as failure:
            return refusal(503, "UNAVAILABLE", unstored(failure, outcome, units, number * size))
        finally:
            if not storing.done():
                storing.cancel()
    return Response(orjson.dumps(outcome.answer()), status_code=outcome.status, media_type="application/json")


def read_items(media: str, request: Request, body: bytes, maximum: int) -> list[Item]:
    """The items of a CloudEvents body (NDJSON is read by `line_items`)."""
    if media == BATCH:
        value = read_json(body, "a JSON array of CloudEvents")
        if not isinstance(value, list):
            raise Unreadable(f"body: a batch must be a JSON array of CloudEvents, not {json_type(value)}")
        if len(value) > maximum:
            raise Unreadable(f"body: a batch holds at most {maximum} events (got {len(value)}); nothing was stored")
        return [structured_item(index, each) for index, each in enumerate(value)]
    if media == STRUCTURED:
        value = read_json(body, "a CloudEvent as a JSON object")
        if not isinstance(value, dict):
            raise Unreadable(f"body: must be a CloudEvent as a JSON object, not {json_type(value)}")
        return [structured_item(0, value)]
    return [binary_item(request.headers, body)]


async def check_chunk(ingest: Ingest, read: Callable[[], list[Item]], principal: Principal) -> tuple[list[Item], Checked]:
    """The chunk's items (`read`: NDJSON lines are read here), those without faults validated as one batch, in
    a worker thread."""

    def check() -> tuple[list[Item], Checked]:
        items = read()
        return items, ingest.checked([item.envelope for item in items if not item.faults], principal.sources, False)

    return await anyio.to_thread.run_sync(check)


async def store_items(ingest: Ingest, items: Sequence[Item], checked: Checked, outcome: Outcome) -> None:
    """Store the checked batch of the items in one transaction; add what became of each item to the outcome."""
    readable = [item for item in items if not item.faults]
    result = await ingest.store_checked(checked)
    outcome.accepted += result.accepted
    outcome.duplicates += result.duplicates
    rejected = [(item.label, item.event_id, name, message) for item in items for name, message in item.faults.items()]
    for rejection in result.rejected:
        item = readable[rejection.index]
        rejected.append((item.label, rejection.event_id, shown_field(item, rejection.field),
                         reason(rejection.field, rejection.message) if item.names else rejection.message))
    rejected.sort(key=lambda each: each[0])  # stable: an event's faults stay in their order
    outcome.rejected.extend({outcome.unit: label, "eventId": event_id, "field": name, "message": message}
                            for label, event_id, name, message in rejected)
    for conflict in result.conflicts:
        earlier = f"{outcome.unit} {readable[conflict.earlier].label}" if conflict.earlier is not None else None
        outcome.conflicted.append({outcome.unit: readable[conflict.index].label, "eventId": conflict.event_id,
                                   "source": conflict.source, "fields": [shown_field(readable[conflict.index], each)
                                                                         for each in conflict.fields],
                                   "message": conflict.message_with(earlier)})


def items_as_they_are(items: Sequence[Item]) -> list[Item]:
    return list(items)


def shown_field(item: Item, name: str) -> str:
    """A field as the producer named it: `subject` for accountId in a CloudEvent, say."""
    head, dot, rest = name.partition(".")
    return item.names.get(head, head) + dot + rest


def unstored(failure: StoreUnavailable, outcome: Outcome, units: Sequence[Item | Line], start: int) -> str:
    if start == 0:
        return str(failure)
    last = units[start - 1]
    through = last.label if isinstance(last, Item) else last[0]
    return (f"{failure}; the events through {outcome.unit} {through} were stored or answered "
            f"({outcome.accepted} new, {outcome.duplicates} duplicates): resend from the next one, or all of it "
            "(what was stored comes back as duplicates)")


def refusal(status: int, code: str, message: str, **extensions: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")
