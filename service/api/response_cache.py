"""A response cache for the side-panel query: one `account(id)` with no `asOf`.

A front-end asks for the same account again and again, and answering it runs a few
hundred resolvers. The answer depends only on the account's events (its stream version),
its projected view (the moment it was judged, which moves whenever the projector
rewrites it, deadlines and rebuilds included) and its findings (a counter the
projector moves whenever it rewrites them). So the whole response is kept,
keyed by the request and those two values, and served again while both are unchanged:
one small query instead of the GraphQL execution, for a key with the scope to read it. Any other request, an error, or an
account the projector has not judged yet passes through untouched. So does a query that
reads findings' handling (`handling`, `onIt`): it changes with people's actions and with
time (a deadline passing, a snooze running out), which neither value follows.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import asyncpg
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    parse,
    visit,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.weeks import boundary_at_or_before
from service.access.scopes import PRINCIPAL, VIEWS_READ, Principal
from service.observability.context import current_request, label_operation
from service.projection.view_store import ACCOUNT_VIEWS_TABLE
from service.read.pool import QueryTimedOut
from service.runtime.health import DatabaseUnavailable
from service.store.tables import ACCOUNTS_TABLE

VERSION = f"""
SELECT a.version, v.judged_at, v.findings_version FROM {ACCOUNTS_TABLE} a
JOIN {ACCOUNT_VIEWS_TABLE} v ON v.account_id = a.account_id
WHERE a.account_id = $1
"""


MAX_QUERY_BYTES = 64 * 1024
UNCACHED_FIELDS = frozenset({"handling", "onIt"})  # findings' handling: people's actions and deadlines move it


class FieldFinder(Visitor):
    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names
        self.found = False

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self.found = self.found or node.name.value in self.names


@lru_cache(maxsize=256)
def account_argument(query: str) -> tuple[str, str] | None:
    """For a query whose only root field is `account(id)` without `asOf`: how its id is given.

    ("variable", name) or ("literal", value); None for any other query.
    """
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [each for each in document.definitions if isinstance(each, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return None
    finder = FieldFinder(UNCACHED_FIELDS)
    visit(document, finder)  # fragments included
    if finder.found:
        return None
    roots = operations[0].selection_set.selections
    if len(roots) != 1 or not isinstance(roots[0], FieldNode) or roots[0].name.value != "account" or roots[0].directives:
        return None
    arguments = {argument.name.value: argument.value for argument in roots[0].arguments or ()}
    if set(arguments) != {"id"}:
        return None
    value = arguments["id"]
    if isinstance(value, VariableNode):
        return ("variable", value.name.value)
    literal = getattr(value, "value", None)
    return ("literal", literal) if isinstance(literal, str) else None


class AccountResponseCache:
    """ASGI wrapper of the GraphQL endpoint that answers repeated account queries from memory."""

    def __init__(self, app: ASGIApp, max_entries: int = 1024, max_bytes: int = 256 * 1024) -> None:
        self.app = app
        self.max_entries = max_entries
        self.max_bytes = max_bytes  # larger responses are not kept
        self.entries: OrderedDict[tuple[Any, ...], tuple[bytes, tuple[str, str | None] | None]] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        found = await self.cache_key(scope, body)
        if found is not None and found in self.entries:
            self.entries.move_to_end(found)
            answer, operation = self.entries[found]
            if operation is not None:  # the request's metric and span name what the cached answer ran
                label_operation(*operation)
            await respond(send, answer)
            return
        captured = await self.pass_through(scope, body, send)
        if found is not None and captured is not None and len(captured) <= self.max_bytes:
            request = current_request()
            self.entries[found] = (captured, request.operation if request is not None else None)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)

    async def cache_key(self, scope: Scope, body: bytes) -> tuple[Any, ...] | None:
        headers = dict(scope["headers"])
        if len(body) > MAX_QUERY_BYTES or b"account" not in body:
            return None  # batches of events and other requests: not parsed twice
        if b"application/json" not in headers.get(b"content-type", b""):
            return None
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the endpoint answers it
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            return None
        how = account_argument(request["query"])
        variables = request.get("variables") or {}
        if how is None or not isinstance(variables, dict):
            return None
        account_id = variables.get(how[1]) if how[0] == "variable" else how[1]
        if not isinstance(account_id, str) or not account_id.isprintable():
            return None  # the endpoint names what is wrong with it
        context = scope.get("state", {}).get("context")
        principal: Principal | None = scope.get(PRINCIPAL)
        if context is None or principal is None or not principal.allows(VIEWS_READ):
            return None  # the endpoint refuses it, naming the scope
        try:
            row = await context.reads.pool.fetchrow(VERSION, account_id)
        except (DatabaseUnavailable, QueryTimedOut, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            return None  # the endpoint answers, or says the database is unavailable
        if row is None:
            return None
        query = hashlib.sha256(request["query"].encode()).digest()
        return (query, json.dumps(variables, sort_keys=True), request.get("operationName"),
                row["version"], row["judged_at"], row["findings_version"],
                boundary_at_or_before(datetime.now(timezone.utc)))  # the trend gains a point at each boundary

    async def pass_through(self, scope: Scope, body: bytes, send: Send) -> bytes | None:
        """Run the endpoint; return the response body if it is a clean 200 JSON answer."""
        status = 0
        chunks: list[bytes] = []
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, capture)
        answer = b"".join(chunks)
        return answer if status == 200 and b'"errors"' not in answer else None


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def respond(send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
