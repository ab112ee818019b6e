"""The composition root: settings in, a running application out.

Nothing connects at import time. The lifespan opens the database (the embedded server
when no `DATABASE_URL` is set), the event store (creating its tables, idempotently) and
the read pool, and closes them in reverse order on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, Protocol

import anyio.to_thread
import asyncpg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from service.access import keys as access_keys
from service.access import ring
from service.access.middleware import Authentication
from service.access.rate_limits import RateLimit, RateLimits
from service.access.ring import KeyRing
from service.api.context import Context
from service.api.http import GraphQLEndpoint
from service.api.response_cache import AccountResponseCache
from service.api.schema import build_schema
from service.observability.collector import LiveCollector
from service.observability.endpoints import Operability
from service.observability.endpoints import routes as operability_routes
from service.observability.metrics import Metrics
from service.observability.requests import RequestObservation
from service.observability.traces import start_tracing
from service.projection import finding_changes
from service.projection.process import (
    ProjectorConfig,
    ProjectorProcess,
    ProjectorThread,
)
from service.projection.view_store import open_view_store
from service.read.account_view import ViewReads
from service.read.accounts import Reads
from service.read.findings import FindingReads
from service.runtime.embedded_postgres import EmbeddedPostgres
from service.runtime.middleware import BodySizeLimit
from service.settings import Settings, connection_params
from service.store.event_store import EventStore, store_env
from service.store.ingest import Ingest
from service.stream.feed import Feed
from service.stream.logs import CHANGE_LOG, EVENT_LOG
from service.stream.notifier import LogNotifier

log = logging.getLogger(__name__)

DEMO_BATCH = 500


@asynccontextmanager
async def open_context(
    settings: Settings, on_query: Callable[[Any], None] | None = None, metrics: Metrics | None = None
) -> AsyncIterator[Context]:
    """Open every resource the service needs, and close them all on the way out.

    `on_query` is called with every query the read side runs (asyncpg's query logger):
    tests count queries with it. `metrics` counts what the resources do (a registry of
    their own when not given).
    """
    metrics = metrics if metrics is not None else Metrics()
    embedded = EmbeddedPostgres(settings.data_dir) if settings.database_url is None else None
    url = await anyio.to_thread.run_sync(embedded.start) if embedded is not None else settings.database_url
    assert url is not None
    try:
        params = connection_params(url)
        store = await anyio.to_thread.run_sync(lambda: EventStore(env=store_env(params)))
        try:
            projector = await anyio.to_thread.run_sync(lambda: start_projector(settings, url, store, metrics))
            try:
                pool = await asyncpg.create_pool(
                    dsn=url, min_size=1, max_size=settings.db_pool_size, init=query_logger(on_query)
                )
                notifier = LogNotifier(url, store.indexing_recorder.channel_name, settings.projector_poll_seconds,
                                       name=EVENT_LOG.name, metrics=metrics)
                change_notifier = LogNotifier(url, finding_changes.CHANNEL, settings.projector_poll_seconds,
                                              name=CHANGE_LOG.name, metrics=metrics)
                burst = settings.subscriber_buffer // 2
                event_feed = Feed(pool, notifier, EVENT_LOG, burst=burst, metrics=metrics)
                change_feed = Feed(pool, change_notifier, CHANGE_LOG, burst=burst, metrics=metrics)
                keys = KeyRing(pool, LogNotifier(url, access_keys.CHANNEL, ring.POLL_SECONDS))
                await notifier.start()
                await change_notifier.start()
                await event_feed.start()
                await change_feed.start()
                try:
                    await keys.start()
                    findings = FindingReads(pool, settings.thresholds)
                    yield Context(
                        settings=settings,
                        reads=Reads(pool),
                        ingest=Ingest(store, settings.limits, metrics),
                        findings=findings,
                        views=ViewReads(pool, settings.health_weights),
                        event_feed=event_feed,
                        change_feed=change_feed,
                        keys=keys,
                        rates=RateLimits(reads=settings.rate_limit_reads, writes=settings.rate_limit_writes),
                    )
                finally:
                    await keys.stop()
                    await change_feed.stop()
                    await event_feed.stop()
                    await change_notifier.stop()
                    await notifier.stop()
                    await pool.close()
            finally:
                await anyio.to_thread.run_sync(projector.stop)
        finally:
            await anyio.to_thread.run_sync(store.close)
    finally:
        if embedded is not None:
            await anyio.to_thread.run_sync(embedded.stop)


def query_logger(on_query: Callable[[Any], None] | None) -> Any:
    """A pool `init` that adds the query logger to each connection, or None."""
    if on_query is None:
        return None

    async def init(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(on_query)

    return init


class Stoppable(Protocol):
    def stop(self) -> None: ...


class NoProjector:
    """`CX360_PROJECTOR=off`: this replica only serves; another process keeps the views."""

    def stop(self) -> None:
        pass


def start_projector(settings: Settings, url: str, store: EventStore, metrics: Metrics) -> Stoppable:
    """The projector as configured: its own process (the default), a thread, or none."""
    config = ProjectorConfig.of(settings, url, store.indexing_recorder.channel_name)
    if settings.projector == "thread":
        return ProjectorThread(config, on_relisten=lambda: metrics.reconnected("projector"))
    open_view_store(connection_params(url)).datastore.close()  # its tables exist before the first read
    if settings.projector == "off":
        return NoProjector()
    process = ProjectorProcess(config)
    process.start()
    return process


async def load_demo(ingest: Ingest) -> tuple[int, int]:
    """Record the demo accounts; a second load finds every event a duplicate and stores nothing."""
    from service.demo import generate_demo_events  # only needed with --demo

    events = generate_demo_events(end=datetime.now(timezone.utc).date())
    accepted = duplicates = 0
    for start in range(0, len(events), DEMO_BATCH):
        result = await ingest.record(events[start : start + DEMO_BATCH])
        if result.rejected:
            raise RuntimeError(f"demo data rejected: {result.rejected[:3]}")
        accepted, duplicates = accepted + result.accepted, duplicates + result.duplicates
    log.info("demo data: %d events stored, %d already there", accepted, duplicates)
    return accepted, duplicates


def middleware(settings: Settings, metrics: Metrics, tracing: Any) -> list[Middleware]:
    """Outermost first: traces and the request's id, latency and log (so refusals are seen too); CORS,
    which answers preflights (they carry no key) and marks refusals too; then who the client is; the
    body's size before anything reads it; then the client's rate limit."""
    cors = [Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                       allow_headers=["authorization", "content-type"], expose_headers=["retry-after"], max_age=600)]
    return [
        *([tracing.middleware()] if tracing is not None else []),
        Middleware(RequestObservation, metrics=metrics, hook=tracing),
        *(cors if settings.cors_origins else []),
        Middleware(Authentication),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        Middleware(RateLimit),
    ]


def build_app(settings: Settings, *, demo: bool = False, tracer_provider: Any = None) -> Starlette:
    """The ASGI application: GraphQL (and GraphiQL in a browser) at /graphql; /healthz, /readyz, /metrics.

    Traces follow OpenTelemetry's variables (`settings.tracing`), or go to `tracer_provider` when given.
    """
    metrics = Metrics()
    live = LiveCollector()
    metrics.registry.register(live)
    tracing = start_tracing(settings, tracer_provider)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        try:
            async with open_context(settings, metrics=metrics) as context:
                live.feeds = {EVENT_LOG.name: context.event_feed, CHANGE_LOG.name: context.change_feed}
                live.listeners = {EVENT_LOG.name: context.event_feed.notifier,
                                  CHANGE_LOG.name: context.change_feed.notifier}
                if demo:
                    await load_demo(context.ingest)
                yield {"context": context, "operability": Operability(context.reads.pool, metrics, live, settings)}
        finally:
            if tracing is not None:
                tracing.shutdown()

    graphql = GraphQLEndpoint(build_schema(settings), keep_alive=True,
                              keep_alive_interval=settings.subscriber_ping_seconds,
                              allowed_origins=settings.cors_origins,  # pages of other origins may not open a WebSocket
                              graphql_ide="graphiql" if settings.query_limits.introspection else None)  # it needs introspection
    app = Starlette(
        routes=[
            Route("/graphql", AccountResponseCache(graphql), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *operability_routes(),
        ],
        middleware=middleware(settings, metrics, tracing),
        lifespan=lifespan,
    )
    app.state.close_subscribers = graphql.close_subscribers  # service.runtime.server.Server calls it on shutdown
    return app
