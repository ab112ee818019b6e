"""A pure ASGI middleware that refuses request bodies over a size limit, before they are read whole.

The refusal is a 413 in the shape of the path's own errors: GraphQL's `{"errors": [...]}`, or
`{"error": ...}` under the prefixes given as `plain_prefixes` (the webhooks answer so)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, plain_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.plain_prefixes = plain_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(scope, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self.refuse(scope, send)

    async def refuse(self, scope: Scope, send: Send) -> None:
        message = f"request body: must be at most {self.max_bytes} bytes (CX360_MAX_BODY_BYTES)"
        plain = str(scope.get("path", "")).startswith(self.plain_prefixes) if self.plain_prefixes else False
        body = json.dumps({"error": message} if plain else {"errors": [{"message": message}]}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
