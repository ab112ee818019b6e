"""graphql-transport-ws with subscriptions fanned out: each message rendered once per distinct subscription.

Strawberry runs a subscription's selection set for every subscriber and every row; on two
cores that cannot keep up with ten thousand messages a second. For `events` and
`findingChanged` this handler plans the subscription once (parse, validate, coerce the
variables, read the arguments), follows the process's feed with a key naming what a
message depends on, and sends the JSON the feed rendered once for all subscribers with
that key. The key is the field as selected without its arguments, the fragments, and the
variables other than those only the arguments take: the arguments choose rows, they do
not change how a row reads, so `events { id }` and `events(accountId: "a") { id }` share
the rendering of a row both receive. (When API keys land, what a key may see joins the
key.) Whatever it does not plan (a document with errors, a bad argument, another field)
takes strawberry's own path, which reports the error in the protocol's usual form.

Its base (`service.api.keyed_handler`) authenticates the key of `connection_init`. The
handler also sends keep-alive pings, ends a subscription that falls behind with an
`error` naming the position to resume after, and lets the server close every subscriber
with 1001 (going away) before it shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from functools import lru_cache
from inspect import isawaitable
from typing import Any, cast

import orjson
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    execute,
    get_operation_ast,
    print_ast,
    specified_rules,
    validate,
    visit,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from service.access.scopes import STREAMS_READ
from service.api.context import Context
from service.api.cursors import notification_id_of
from service.api.errors import MASKED, UNAVAILABLE, BadInput, presented, should_mask, text_argument
from service.api.findings import change_filter, finding_change
from service.api.keyed_handler import KeyedHandler
from service.api.limits import CACHED_LENGTH, PARSED_DOCUMENTS, parsed
from service.api.stream_errors import stream_ended
from service.api.types import Event
from service.runtime.health import DatabaseUnavailable
from service.settings import QueryLimits
from service.stream.feed import Budget, NotIssued, StreamEnded
from service.stream.logs import EVERY_CHANGE, ChangeFilter, change_selection, event_selection

log = logging.getLogger(__name__)

FANNED_OUT = ("events", "findingChanged")


@dataclass(frozen=True)
class Plan:
    """A valid subscription to one of the fanned-out fields, ready to follow a feed."""

    field: str
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]  # as the client sent them; execution coerces them
    after: int | None
    account: str | None
    departments: list[str] | None
    key: tuple[str, bytes]
    changes: ChangeFilter = EVERY_CHANGE  # findingChanged's filters  # subscriptions with equal keys render every row alike


class Planner:
    """Plans subscriptions against the schema, with the same limits and validation rules as the ordinary path."""

    def __init__(self, schema: GraphQLSchema, rules: Sequence[type[ASTValidationRule]], limits: QueryLimits) -> None:
        self.schema = schema
        self.rules = [*specified_rules, *rules]
        self.limits = limits
        self.cached = lru_cache(maxsize=PARSED_DOCUMENTS)(self.checked)

    def document(self, query: str) -> DocumentNode | None:
        """The valid document, or None; a short query's from the cache (as on the ordinary path)."""
        return self.cached(query) if len(query) <= CACHED_LENGTH else self.checked(query)

    def checked(self, query: str) -> DocumentNode | None:
        try:
            document = parsed(query, self.limits.max_tokens, self.limits.max_length)
        except GraphQLError:
            return None
        return None if validate(self.schema, document, self.rules) else document

    def plan(self, query: object, variables: object, operation_name: object) -> Plan | None:
        """The plan, or None to leave the subscription to strawberry (which names what is wrong)."""
        try:
            return self.planned(query, variables, operation_name)
        except Exception:  # whatever we did not foresee is left to strawberry's own path, which answers it
            log.exception("subscription: could not plan %.200r", query)
            return None

    def planned(self, query: object, variables: object, operation_name: object) -> Plan | None:
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            return None
        if not isinstance(operation_name, str | None):
            return None
        document = self.document(query)
        operation = get_operation_ast(document, operation_name) if document is not None else None
        if document is None or operation is None or operation.operation != OperationType.SUBSCRIPTION:
            return None
        selections = operation.selection_set.selections
        if len(selections) != 1 or not isinstance(selections[0], FieldNode):
            return None
        field = selections[0]
        subscription = self.schema.subscription_type
        if field.name.value not in FANNED_OUT or subscription is None:
            return None
        sent = variables or {}
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), sent)
        if isinstance(coerced, list):
            return None
        try:
            arguments = get_argument_values(subscription.fields[field.name.value], field, coerced)
            after = notification_id_of(arguments["after"], "after") if arguments.get("after") else None
            account = text_argument("accountId", str(arguments["accountId"])) if arguments.get("accountId") is not None else None
            changes = change_filter(arguments.get("rule"), arguments.get("severity"), arguments.get("department"),
                                    arguments.get("assignee")) if field.name.value == "findingChanged" else EVERY_CHANGE
        except (GraphQLError, BadInput):
            return None
        departments = arguments.get("departments")
        choosing = only_choosing_rows(operation, field, document)
        rendering = {name: value for name, value in coerced.coerced.items() if name not in choosing}
        rest = orjson.dumps(rendering, option=orjson.OPT_SORT_KEYS, default=str)
        return Plan(
            field=field.name.value,
            document=document,
            operation_name=operation_name,
            variables=sent,
            after=after,
            account=account,
            departments=[department.value for department in departments] if departments is not None else None,
            key=(rendering_of(operation, field, document), rest),
            changes=changes,
        )


def rendering_of(operation: OperationDefinitionNode, field: FieldNode, document: DocumentNode) -> str:
    """What decides how a row reads: the field without its arguments (which only choose rows), its
    selection, the fragments, the operation's directives. `events { id }` and `events(accountId: $a)
    { id }` read alike, so a row both receive is rendered once."""
    bare = FieldNode(alias=field.alias, name=field.name, arguments=(), directives=field.directives,
                     selection_set=field.selection_set)
    fragments = [each for each in document.definitions if isinstance(each, FragmentDefinitionNode)]
    return "\n".join(print_ast(node) for node in (bare, *(operation.directives or ()), *fragments))


def only_choosing_rows(operation: OperationDefinitionNode, field: FieldNode, document: DocumentNode) -> set[str]:
    """The variables used nowhere but in the field's own arguments: they choose rows, not how a row reads."""
    everywhere, in_arguments = Counter[str](), Counter[str]()
    for node in (operation.selection_set, *(operation.directives or ()),
                 *(each for each in document.definitions if isinstance(each, FragmentDefinitionNode))):
        visit(node, VariableCounter(everywhere))
    for argument in field.arguments or ():
        visit(argument, VariableCounter(in_arguments))
    return {name for name, count in in_arguments.items() if everywhere[name] == count}


class VariableCounter(Visitor):
    def __init__(self, counts: Counter[str]) -> None:
        super().__init__()
        self.counts = counts

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.counts[node.name.value] += 1


class Renderer:
    """Runs a plan's selection over one row and gives the `payload` of a `next` message, as JSON."""

    def __init__(self, schema: GraphQLSchema, plan: Plan, context: Context) -> None:
        self.schema = schema
        self.plan = plan
        self.context = context

    async def __call__(self, value: object) -> str:
        result = execute(
            self.schema,
            self.plan.document,
            root_value=value,
            context_value=self.context.for_request(),  # loaders live for one message
            variable_values=self.plan.variables,
            operation_name=self.plan.operation_name,
        )
        done: ExecutionResult = await result if isawaitable(result) else result
        body: dict[str, object] = {"data": done.data}
        if done.errors:
            body["errors"] = [masked(error) for error in done.errors]
        return orjson.dumps(body, default=str).decode()


def masked(error: GraphQLError) -> dict[str, Any]:
    if should_mask(error):
        log.error("subscription message failed: %s", error.message, exc_info=error.original_error)
        return {"message": MASKED, "path": error.path}
    return dict(presented(error).formatted)


class FanOutHandler(KeyedHandler):
    """strawberry's graphql-transport-ws handler, serving `events` and `findingChanged` from the feeds."""

    budget: Budget | None = None  # the connection's, shared by its subscriptions (made on the first)

    async def handle(self) -> None:
        sockets: set[Any] = getattr(self.view, "open_sockets", set())
        sockets.add(self.websocket)
        pings = asyncio.create_task(self.keep_alive())
        try:
            await super().handle()
        finally:
            pings.cancel()
            sockets.discard(self.websocket)

    async def handle_message(self, message: Any) -> None:
        """Strawberry's, after checking the message's shape: a malformed one closes with 4400, as the protocol says."""
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("Message must be a JSON object with a string `type`")
            return
        if message["type"] in ("subscribe", "complete") and not isinstance(message.get("id"), str):
            await self.handle_invalid_message(f"A {message['type']} message needs a string `id`")
            return
        if message["type"] == "subscribe" and not (
            isinstance(payload := message.get("payload"), dict) and isinstance(payload.get("query"), str)
            and isinstance(payload.get("variables"), dict | None)
            and isinstance(payload.get("operationName"), str | None)
        ):
            await self.handle_invalid_message(  # (a close reason holds at most 123 bytes)
                "subscribe needs payload {query: string, variables?: object, operationName?: string}"
            )
            return
        await super().handle_message(cast(Message, message))

    async def handle_invalid_message(self, error_message: str) -> None:
        """Close with 4400; the reason cut to fit a close frame (123 bytes), or the close itself would fail."""
        reason = error_message.encode()[:120].decode(errors="ignore")
        await super().handle_invalid_message(reason)

    async def keep_alive(self) -> None:
        """The protocol's ping every `keep_alive_interval` seconds once acknowledged."""
        interval = float(getattr(self.view, "keep_alive_interval", None) or 15.0)
        with contextlib.suppress(WebSocketDisconnected):
            while True:
                await asyncio.sleep(interval)
                if self.connection_acknowledged:
                    await self.send_message({"type": "ping"})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        if not await self.within_rate_limit(operation):
            return
        planner: Planner | None = getattr(self.view, "planner", None)
        plan = planner.plan(operation.query, operation.variables, operation.operation_name) if planner else None
        if plan is None or planner is None or not self.may(STREAMS_READ):
            await super().run_operation(operation)  # (which refuses a subscription outside the key's scope)
            return
        try:
            await self.fan_out(operation, plan, Renderer(planner.schema, plan, self.context))
        except NotIssued:  # strawberry's path names the argument, in the same shape as any bad argument
            await super().run_operation(operation)
        except StreamEnded as ended:
            log.info("subscription %s ended at %d: %s", operation.id, ended.position, ended)
            await self.end(operation, dict(stream_ended(ended).formatted))
        except WebSocketDisconnected:
            pass
        except DatabaseUnavailable as error:  # subscribing during an outage: logged once by the database's health
            await self.end(operation, {"message": str(error), "extensions": {"code": UNAVAILABLE}})
        except Exception:
            log.exception("subscription %s failed", operation.id)
            await self.end(operation, {"message": MASKED})

    async def end(self, operation: Operation[Context, None], error: dict[str, object]) -> None:
        with contextlib.suppress(WebSocketDisconnected):
            await operation.send_operation_message(cast(Message, {"id": operation.id, "type": "error", "payload": [error]}))

    async def fan_out(self, operation: Operation[Context, None], plan: Plan, render: Renderer) -> None:
        context = self.context
        capacity = context.settings.subscriber_buffer
        if self.budget is None:
            self.budget = Budget(context.settings.connection_buffer_bytes)
        frame = '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":'
        send: Callable[[str], Awaitable[None]] = self.websocket.send_text  # type: ignore[attr-defined]
        if plan.field == "events":
            selection = event_selection(plan.departments, plan.account)
            messages = context.event_feed.follow(plan.after, selection, lambda record: render(Event.from_record(record)),
                                                 capacity, key=plan.key, budget=self.budget)
        else:
            selected = change_selection(plan.account, plan.changes, context.settings.handling.owners)
            messages = context.change_feed.follow(plan.after, selected,
                                                  lambda row: render(finding_change(row)), capacity, key=plan.key,
                                                  budget=self.budget)
        async with aclosing(messages):
            async for _, payload in messages:
                if operation.completed:
                    return
                await send(frame + payload + "}")
