"""graphql-transport-ws with API keys: the key comes in `connection_init`, and its revocation ends the connection.

`connection_init`'s payload carries `{"authorization": "Bearer <API key>"}`; without a
valid key (or, while no key exists, from a client not on this machine) the connection is
closed with 4401. Once the key is revoked (or expires), the connection is closed with 4403, so every
subscription on it ends (4401 for a client served without a key, once keys are required).
Each operation spends the key's rate limit; over it, the operation gets an `error`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import cast

from starlette.datastructures import Headers
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, Message

from service.access.gate import Refusal, authenticate
from service.access.rate_limits import operation_kind
from service.access.scopes import Principal
from service.api.context import Context


class KeyedHandler(BaseGraphQLTransportWSHandler[Context, None]):
    unwatch: Callable[[], None] | None = None  # stops watching the key for its revocation
    closing: asyncio.Task[None] | None = None

    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            if self.unwatch is not None:
                self.unwatch()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Strawberry's, once the payload's `authorization` names a valid key: without one, close with 4401."""
        payload = message.get("payload", {})
        if self.connection_init_received or self.connection_timed_out or not isinstance(payload, dict):
            await super().handle_connection_init(message)  # closes as the protocol says (4429, 4400)
            return
        verdict = self.authenticated(payload)
        if isinstance(verdict, Refusal):
            self.connection_init_received = True
            if self.connection_init_timeout_task is not None:
                self.connection_init_timeout_task.cancel()
            await self.websocket.close(4401, verdict.short)
            return
        self.context = self.context.acting_as(verdict)
        self.unwatch = self.context.keys.watch(verdict, self.key_ended)  # no await since the check: no revocation between
        await super().handle_connection_init(message)

    def authenticated(self, payload: dict[str, object]) -> Principal | Refusal:
        authorization = payload.get("authorization", payload.get("Authorization"))
        if authorization is not None and not isinstance(authorization, str):
            return Refusal("authorization: must be a string", "authorization must be a string `Bearer <API key>`")
        scope = self.websocket.ws.scope  # type: ignore[attr-defined]
        client = scope.get("client")
        return authenticate(self.context.keys, authorization, client[0] if client else None, Headers(scope=scope).get("host"))

    def key_ended(self) -> None:
        """The key was revoked (or keys became required for a client served without one): close the connection."""
        principal = self.context.principal
        revoked = principal is not None and principal.key_id is not None
        code, reason = (4403, "the API key was revoked or has expired") if revoked else (4401, "an API key is now required")

        async def close() -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):  # a close can wait behind a slow reader's unread frames
                    await self.websocket.close(code, reason)

        self.closing = asyncio.create_task(close())

    def may(self, scope: str) -> bool:
        return self.context.principal is not None and self.context.principal.allows(scope)

    async def within_rate_limit(self, operation: Operation[Context, None]) -> bool:
        """Spend the key's budget on the operation; over it, end the operation with an `error` and say False."""
        principal = self.context.principal
        assert principal is not None, "operations run once connection_init has named the principal"
        over = await self.context.rates.spend(principal, operation_kind(operation.query, operation.operation_name))
        if over is None:
            return True
        with contextlib.suppress(WebSocketDisconnected):
            await operation.send_operation_message(cast(Message, {"id": operation.id, "type": "error",
                                                                   "payload": [over.error()]}))
        return False
