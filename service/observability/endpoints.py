"""`/healthz`, `/readyz` and `/metrics`.

`/healthz` answers as long as the process serves (no database call): a failing one
means restart the process. `/readyz` says whether to send it traffic: the database
answers within a short timeout and the projection is not too far behind. `/metrics`
is Prometheus' text format (OpenMetrics when the scraper asks for it).

Access (`service.access.middleware` applies it): `OPEN_PATHS` stay open to every caller,
since orchestrators' probes carry no key; `LOCAL_PATHS` are open to callers on the
loopback interface (`from_loopback`), and from other addresses need a key with the
`admin` scope. Operators should not expose `/metrics` publicly all the same.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import asyncpg
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from service.observability.collector import LiveCollector
from service.observability.metrics import Metrics
from service.observability.probe import TIMEOUT_SECONDS, TRANSIENT, ProjectionState, projection_state
from service.settings import Settings

log = logging.getLogger(__name__)

HEALTH_PATH, READY_PATH, METRICS_PATH = "/healthz", "/readyz", "/metrics"
OPEN_PATHS = frozenset({HEALTH_PATH, READY_PATH})  # never behind an API key
LOCAL_PATHS = frozenset({METRICS_PATH})  # open from loopback; elsewhere, a key with the `admin` scope


def from_loopback(scope: Scope) -> bool:
    """Whether the caller connected from the loopback interface (a proxy on the same host looks local too)."""
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:  # a unix socket's peer has no address
        return False


class Operability:
    """Reads the database for readiness and scrapes, and decides readiness from the settings' thresholds."""

    def __init__(self, pool: asyncpg.Pool, metrics: Metrics, live: LiveCollector, settings: Settings) -> None:
        self.pool = pool
        self.metrics = metrics
        self.live = live
        self.settings = settings
        self.was_ready: bool | None = None

    async def state(self, *, with_due: bool = False) -> ProjectionState | None:
        """The projection's state, or None when the database did not answer in time."""
        try:
            return await projection_state(self.pool, with_due=with_due)
        except TRANSIENT as error:
            log.debug("the database did not answer the operability read: %r", error)
            return None

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        state = await self.state()
        body: dict[str, Any]
        if state is None:
            ready, body = False, {"status": "unavailable",
                                  "reason": f"the database did not answer within {TIMEOUT_SECONDS:g}s"}
        else:
            reason = lag_problem(state, self.settings)
            ready = reason is None
            body = {"status": "ready" if ready else "unavailable", **({"reason": reason} if reason else {}),
                    "projection": {"head": state.head, "position": state.position, "lagEvents": state.lag_events,
                                   "lagSeconds": round(state.lag_seconds, 3)}}
        if ready != self.was_ready:
            log.log(logging.INFO if ready else logging.WARNING, "readiness: %s%s", body["status"],
                    f" ({body['reason']})" if "reason" in body else "")
            self.was_ready = ready
        return ready, body

    async def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper accepts, with this moment's database read."""
        state = await self.state(with_due=True)
        self.live.state, self.live.database_up = state, state is not None
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.metrics.registry), content_type


def lag_problem(state: ProjectionState, settings: Settings) -> str | None:
    """Why the projection is too far behind to serve, or None (a threshold of 0 is no limit)."""
    events, seconds = settings.ready_max_lag_events, settings.ready_max_lag_seconds
    if events and state.lag_events > events:
        return f"the projection is {state.lag_events} events behind (CX360_READY_MAX_LAG_EVENTS={events})"
    if seconds and state.lag_seconds > seconds:
        return (f"the projection's oldest waiting event was recorded {state.lag_seconds:.0f}s ago "
                f"(CX360_READY_MAX_LAG_SECONDS={seconds})")
    return None


def operability_of(request: Request) -> Operability:
    operability: Operability = request.state.operability  # opened by the application's lifespan
    return operability


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    ready, body = await operability_of(request).readiness()
    return JSONResponse(body, status_code=200 if ready else 503, headers={"cache-control": "no-store"})


async def metrics(request: Request) -> Response:
    body, content_type = await operability_of(request).exposition(request.headers.get("accept"))
    return Response(body, headers={"content-type": content_type, "cache-control": "no-store"})


def routes() -> list[Route]:
    return [
        Route(HEALTH_PATH, healthz, methods=["GET"]),
        Route(READY_PATH, readyz, methods=["GET"]),
        Route(METRICS_PATH, metrics, methods=["GET"]),
    ]
