"""The GraphQL endpoint on Starlette: exact decimals in, compact JSON out, clear HTTP errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as StarletteDisconnected
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from domain.fields import SURROGATE_REFUSED, has_lone_surrogate, json_type
from service.access.rate_limits import read_body_json
from service.access.scopes import PRINCIPAL
from service.api.context import Context
from service.api.fanout import FanOutHandler, Planner
from service.api.schema import Schema
from service.console.routes import GRAPHIQL_PAGE
from service.exact_json import fast_loads, loads_any_encoding


class SubscriberSocket(ASGIWebSocketAdapter):
    """A subscriber's WebSocket, sending text frames as graphql-transport-ws clients expect.

    (The endpoint's JSON encoder gives bytes, which the default adapter sends as binary
    frames.) A closed or vanished peer is strawberry's `WebSocketDisconnected`, whichever
    layer noticed it.
    """

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        await self.send_text(encoded.decode() if isinstance(encoded, bytes) else encoded)

    async def send_text(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except (WebSocketDisconnect, StarletteDisconnected) as disconnect:  # (the latter once we closed it)
            raise WebSocketDisconnected from disconnect

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        """Strawberry's, with a frame nested too deeply to parse refused like any other bad JSON (4400)."""
        try:
            async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
                yield message
        except HTTPException as refused:
            raise NonJsonMessageReceived from refused


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context and JSON handling.

    Numbers with a fraction are parsed as `Decimal`, so an amount is exact from the
    request body to the store; NaN and Infinity are not JSON and are refused. A body that
    is not an object (a string, a number, null) is a 400, as are a lone surrogate in
    `operationName` (which the 400 naming an unknown operation could not carry). An answer
    that echoes a lone surrogate back is sent with it escaped, as the client sent it.
    """

    websocket_adapter_class = SubscriberSocket
    graphql_transport_ws_handler_class = FanOutHandler

    def __init__(self, schema: Schema, **options: Any) -> None:
        # graphql-transport-ws only: the older graphql-ws protocol would bypass the fan-out and its shutdown.
        super().__init__(schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,), **options)
        self.planner = Planner(schema._schema, schema.query_rules, schema.query_limits)
        self.open_sockets: set[SubscriberSocket] = set()

    async def close_subscribers(self, grace_seconds: float = 2.0) -> None:
        """Close every subscriber's connection with 1001 (going away): the server is stopping."""

        async def going_away(socket: SubscriberSocket) -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(grace_seconds):  # a close can wait behind a slow reader's unread frames
                    await socket.close(1001, "server shutting down; subscribe again with after to resume")

        await asyncio.gather(*(going_away(socket) for socket in list(self.open_sockets)))

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the package's own copy of its assets, not strawberry's page (a CDN's): it works offline."""
        return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"))

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        context: Context = request.state.context  # opened by the application's lifespan
        # the principal the authentication middleware named; a WebSocket's is named at connection_init
        return context.for_request().acting_as(request.scope.get(PRINCIPAL))

    def decode_json(self, data: str | bytes) -> object:
        already, value = read_body_json(data)  # (the rate limit reads a POST's body first, to tell its kind)
        if already:
            return value
        try:
            return fast_loads(data, exact=loads_any_encoding)
        except RecursionError:
            raise HTTPException(400, "Request body is nested too deeply") from None
        except UnicodeDecodeError:
            raise HTTPException(400, "Request body is not UTF-8") from None

    def parse_json(self, data: str | bytes) -> object:
        """The body (or a GET's `variables`): a JSON object, or the list strawberry answers "Batching is not enabled"."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, 'Request must be a JSON object such as {"query": "{ __typename }"}, '
                                     f"not {json_type(parsed)}")
        return parsed

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        """A GET's parameters; `variables=null` means none, as strawberry takes it."""
        given = {name: value for name, value in dict(params).items()
                 if not (name in ("variables", "extensions") and value == "null")}
        return super().parse_query_params(given)

    def encode_json(self, data: object) -> bytes:
        try:
            return orjson.dumps(data, default=str)
        except orjson.JSONEncodeError:  # a lone surrogate the request sent, echoed (orjson refuses them)
            return json.dumps(data, default=str, ensure_ascii=True, separators=(",", ":")).encode()

    async def parse_http_body(self, request: Any) -> Any:
        if request.method == "POST" and "application/json" not in (request.content_type or ""):
            raise HTTPException(
                415, f"Content-Type must be application/json (got {request.content_type or 'none'!r})"
            )
        body = await super().parse_http_body(request)
        name = body.operation_name if not isinstance(body, list) else None  # (a list: batching, which is off)
        if isinstance(name, str) and has_lone_surrogate(name):
            raise HTTPException(400, f"operationName: {SURROGATE_REFUSED}")
        return body
