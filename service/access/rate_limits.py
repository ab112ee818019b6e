"""Rate limits per key on writes and reads, with the `limits` library (the one behind slowapi).

Each key (or, without keys, each loopback client address) has a budget of writes
(`recordEvents`, `POST /events`) and one of reads (queries, subscriptions, anything else), counted with
the library's sliding window counter in this process's memory: with several replicas, a
key's budget is per replica. Over it, HTTP answers 429 with `Retry-After`, and a
WebSocket operation gets an `error`.
"""

from __future__ import annotations

import math
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from limits import RateLimitItem
from limits import parse as parse_limit
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.access.scopes import PRINCIPAL, Principal
from service.exact_json import fast_loads, loads_any_encoding

WRITE, READ = "write", "read"
WRITE_PATHS = frozenset({"/events"})  # every request there records events
MAX_TOKENS = 50_000  # as the GraphQL endpoint's own limit
CACHED_QUERY_BYTES = 64 * 1024  # longer query texts are classified without being kept

# The body this request's rate limit read, and its value, read as the GraphQL endpoint reads it: the endpoint
# takes the value from here instead of reading the body a second time (`read_body_json`).
READ_BODY: ContextVar[tuple[bytes, Any] | None] = ContextVar("READ_BODY", default=None)


@dataclass(frozen=True)
class OverLimit:
    retry_after: int  # whole seconds, at least 1
    message: str

    def error(self) -> dict[str, object]:
        return {"message": self.message, "extensions": {"code": "RATE_LIMITED", "retryAfter": self.retry_after}}


class RateLimits:
    def __init__(self, reads: str, writes: str) -> None:
        self.items: dict[str, tuple[RateLimitItem, str]] = {
            READ: (parse_limit(reads), "CX360_RATE_LIMIT_READS"),
            WRITE: (parse_limit(writes), "CX360_RATE_LIMIT_WRITES"),
        }
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def spend(self, principal: Principal, kind: str) -> OverLimit | None:
        """Count one `kind` request against the principal's budget; what to answer if it is spent."""
        item, variable = self.items[kind]
        if await self.limiter.hit(item, kind, principal.rate_key):
            return None
        stats = await self.limiter.get_window_stats(item, kind, principal.rate_key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        whose = "this key" if principal.key_id is not None else "this client"
        return OverLimit(retry, f"rate limit: {whose} may make at most {item.amount} {kind}s per "
                                f"{item.multiples} {item.GRANULARITY.name} ({variable}); retry after {retry} s")


def operation_kind(query: object, operation_name: object) -> str:
    """WRITE for a mutation, READ for anything else (a query, a subscription, a document that does not parse)."""
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return READ
    if len(query) > CACHED_QUERY_BYTES:
        return kind_of(query, operation_name)
    return cached_kind_of(query, operation_name)


def kind_of(query: str, operation_name: str | None) -> str:
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return READ
    operations = [each for each in document.definitions if isinstance(each, OperationDefinitionNode)]
    chosen = [each for each in operations if operation_name is None or (each.name and each.name.value == operation_name)]
    return WRITE if len(chosen) == 1 and chosen[0].operation == OperationType.MUTATION else READ


cached_kind_of = lru_cache(maxsize=256)(kind_of)


class RateLimit:
    """ASGI middleware: spends the request's principal's budget, or answers 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get(PRINCIPAL)
        if scope["type"] != "http" or principal is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive) if scope["method"] == "POST" else None
        rates: RateLimits = scope["state"]["context"].rates
        kind = WRITE if scope["path"] in WRITE_PATHS else kind_of_body(body) if body is not None else READ
        over = await rates.spend(principal, kind)
        if over is not None:
            await too_many(send, over)
            return
        await self.app(scope, receive if body is None else replaying(body, receive), send)


def kind_of_body(body: bytes) -> str:
    """The kind of a GraphQL request body; the body's value is kept for the endpoint (`READ_BODY`)."""
    try:
        request = fast_loads(body, exact=loads_any_encoding)
    except Exception:  # noqa: BLE001  (not JSON, too deep, not UTF-8...: the endpoint says what is wrong with it)
        return READ
    READ_BODY.set((body, request))
    if not isinstance(request, dict):
        return READ
    return operation_kind(request.get("query"), request.get("operationName"))


def read_body_json(data: bytes | str) -> tuple[bool, Any]:
    """Whether this request's rate limit already read `data`, and its value if it did."""
    read = READ_BODY.get()
    if read is None or not isinstance(data, bytes) or (read[0] is not data and read[0] != data):
        return False, None
    return True, read[1]


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next (a disconnect)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


async def too_many(send: Send, over: OverLimit) -> None:
    body = orjson.dumps({"errors": [over.error()]})
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(over.retry_after).encode())]})
    await send({"type": "http.response.body", "body": body})
