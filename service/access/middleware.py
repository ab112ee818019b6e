"""The ASGI middleware that names every request's principal, or refuses it.

HTTP requests carry their key as `Authorization: Bearer <key>`; the principal goes into
the ASGI scope as `scope["cx360.principal"]`. A WebSocket carries its key in
`connection_init`, which the subscription handler checks (`service.api.keyed_handler`);
strawberry refuses the handshake of a web page of a foreign origin (`allowed_origins`).
`/healthz` and `/readyz` stay open for load balancers; `/metrics` is open from loopback and
needs the `admin` scope from elsewhere; the GraphiQL page stays open
(a GET without `query` runs nothing), and so do the web console's page and files: what they send
needs a key like anything else. `/webhooks/<provider>` is authenticated by the provider's
signature instead (service/webhooks/).
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from service.access.gate import Refusal, authenticate
from service.access.ring import KeyRing
from service.access.scopes import ADMIN, PRINCIPAL, Principal
from service.console.routes import is_console_file
from service.observability.endpoints import LOCAL_PATHS, OPEN_PATHS, from_loopback
from service.webhooks import PATH_PREFIX

GRAPHIQL_PATH = "/graphql"  # a GET without `query` there is the GraphiQL page, which runs nothing


class Authentication:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(PATH_PREFIX):
            await self.app(scope, receive, send)  # a provider's webhook: its signature authenticates it
            return
        if is_console_file(scope["method"], scope["path"]):
            await self.app(scope, receive, send)  # the console's page and files, which hold no data
            return
        if scope["path"] in LOCAL_PATHS and from_loopback(scope):
            await self.app(scope, receive, send)  # a scraper on this machine
            return
        headers = Headers(scope=scope)
        if scope["path"] == GRAPHIQL_PATH and scope["method"] == "GET" and "query" not in QueryParams(scope["query_string"]):
            await self.app(scope, receive, send)  # the GraphiQL page
            return
        verdict = self.verdict(scope, headers)
        if isinstance(verdict, Refusal):
            await unauthorized(send, verdict, token_given="authorization" in headers)
            return
        if scope["path"] in LOCAL_PATHS and not verdict.allows(ADMIN):
            await refuse(send, 403, "FORBIDDEN", f"{scope['path']} from another machine needs a key with the scope {ADMIN}")
            return
        scope[PRINCIPAL] = verdict
        await self.app(scope, receive, send)

    def verdict(self, scope: Scope, headers: Headers) -> Principal | Refusal:
        given = headers.getlist("authorization")
        if len(given) > 1:
            return Refusal("Authorization: send one header, not several", "one Authorization header")
        keys: KeyRing = scope["state"]["context"].keys  # opened by the application's lifespan
        client = scope.get("client")
        return authenticate(keys, given[0] if given else None, client[0] if client else None, headers.get("host"))


async def refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def unauthorized(send: Send, refusal: Refusal, token_given: bool) -> None:
    body = json.dumps({"errors": [{"message": refusal.reason, "extensions": {"code": "UNAUTHENTICATED"}}]}).encode()
    challenge = b'Bearer realm="cx360"' + (b', error="invalid_token"' if token_given else b"")
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", challenge)]})
    await send({"type": "http.response.body", "body": body})
