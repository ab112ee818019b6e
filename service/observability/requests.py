"""A pure ASGI middleware: an id for every request, and the latency of GraphQL requests by operation.

Each HTTP request and each WebSocket connection gets an id: the caller's `X-Request-Id`
when it is a sane one, else a fresh one. It is sent back in the `X-Request-Id` response
header and set in the request's context, so every log line written while serving it
carries it. A GraphQL request over HTTP is timed from its first byte in to its last
byte out, labelled with the operation it ran (noted by the schema's extension, or by
the response cache when it answers).
"""

from __future__ import annotations

import time
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.context import CURRENT, RequestInfo, request_id_from
from service.observability.metrics import Metrics

HEADER = b"x-request-id"
TIMED_PATH = "/graphql"


class RequestHook(Protocol):
    """Told when a request starts and when its response starts (traces annotate their span with it: the
    span may end with the response's last byte, before the middleware's own end)."""

    def started(self, request: RequestInfo) -> None: ...
    def responding(self, request: RequestInfo) -> None: ...


class RequestObservation:
    def __init__(self, app: ASGIApp, metrics: Metrics, hook: RequestHook | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.hook = hook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request = RequestInfo(request_id_from(dict(scope["headers"]).get(HEADER)))
        header = (HEADER, request.request_id.encode())
        timed = scope["type"] == "http" and scope["path"] == TIMED_PATH
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", ()), header]}
                if self.hook is not None:
                    self.hook.responding(request)
            await send(message)

        token = CURRENT.set(request)
        if self.hook is not None:
            self.hook.started(request)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if timed:
                self.metrics.request_took(request.operation, time.perf_counter() - started)
            CURRENT.reset(token)
