"""The composition root: settings in, a running application out.

Nothing connects at import time. The lifespan opens the database (the embedded server
when no `DATABASE_URL` is set), the event store (creating its tables, idempotently) and
the read pool, and closes them in reverse order on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
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
from service.console.routes import routes as console_routes
from service.handling.commands import Handlings
from service.handling.reads import HandlingReads
from service.observability.collector import LiveCollector
from service.observability.endpoints import Operability
from service.observability.endpoints import routes as operability_routes
from service.observability.metrics import Metrics
from service.observability.requests import RequestObservation
from service.observability.traces import start_tracing
from service.producers.endpoint import post_events
from service.projection import finding_changes
from service.projection.process import (
    ProjectorConfig,
    ProjectorProcess,
    ProjectorThread,
)
from service.projection.view_store import open_view_store
from service.read.account_view import ViewReads
from service.read.accounts import Reads
from service.read.attribution import AttributionReads
from service.read.findings import FindingReads
from service.read.impact import ImpactReads
from service.read.pool import ReadPool
from service.runtime.database import Database, open_database
from service.runtime.health import DatabaseHealth, Prober
from service.runtime.middleware import BodySizeLimit
from service.settings import Settings, connection_params
from service.store.event_store import EventStore, store_env
from service.store.handling_store import HandlingStore, handling_env
from service.store.ingest import Ingest
from service.stream.feed import Feed
from service.stream.logs import CHANGE_LOG, EVENT_LOG
from service.stream.notifier import LogNotifier
from service.webhooks import PATH_PREFIX as WEBHOOK_PATHS
from service.webhooks.intake import Webhooks
from service.webhooks.metrics import WebhookMetrics
from service.webhooks.routes import routes as webhook_routes

log = logging.getLogger(__name__)

DEMO_BATCH = 500


@asynccontextmanager
async def open_context(
    settings: Settings, on_query: Callable[[Any], None] | None = None, metrics: Metrics | None = None,
    database: Database | None = None,
) -> AsyncIterator[Context]:
    """Open every resource the service needs, and close them all on the way out.

    `database`: one the caller opened (and closes); otherwise it is opened here. `on_query`
    is called with every query the read side runs (asyncpg's query logger): tests count
    queries with it. `metrics` counts what the resources do (a registry of their own when
    not given). Every path reports to one `DatabaseHealth`; while the database is down, a
    prober tries it (starting an embedded server that died) and, once it answers, the
    store's connections are replaced.
    """
    metrics = metrics if metrics is not None else Metrics()
    async with AsyncExitStack() as stack:
        if database is None:
            database = await anyio.to_thread.run_sync(open_database, settings)
            stack.push_async_callback(anyio.to_thread.run_sync, database.close)
        url = database.url
        params = connection_params(url)
        health = DatabaseHealth()
        store = await anyio.to_thread.run_sync(lambda: EventStore(
            env=store_env(params), write_timeout=settings.write_timeout_seconds, health=health))
        stack.push_async_callback(anyio.to_thread.run_sync, store.close)
        handling_store = await anyio.to_thread.run_sync(lambda: HandlingStore(
            env=handling_env(params), write_timeout=settings.write_timeout_seconds))
        stack.push_async_callback(anyio.to_thread.run_sync, handling_store.close)
        projector = await anyio.to_thread.run_sync(lambda: start_projector(settings, url, store, metrics))
        stack.push_async_callback(anyio.to_thread.run_sync, projector.stop)
        pool = ReadPool(await asyncpg.create_pool(dsn=url, min_size=0, max_size=settings.db_pool_size,
                                                  init=query_logger(on_query), timeout=settings.read_timeout_seconds),
                        health, query_timeout=settings.query_timeout_seconds)
        stack.push_async_callback(pool.close)
        event_feed, change_feed = await open_feeds(stack, settings, url, store.indexing_recorder.channel_name,
                                                   pool, health, metrics)
        keys = KeyRing(pool.pool, LogNotifier(url, access_keys.CHANNEL, ring.POLL_SECONDS, health=health))
        await keys.start()
        stack.push_async_callback(keys.stop)
        health.on_back(store.replace_connections)
        prober = Prober(health, database.probe)
        prober.start()
        stack.push_async_callback(anyio.to_thread.run_sync, prober.stop)
        ingest = Ingest(store, settings.limits, metrics)
        webhooks = Webhooks(pool.pool, ingest, WebhookMetrics(metrics.registry))
        await webhooks.start()
        yield Context(
            settings=settings,
            reads=Reads(pool),
            ingest=ingest,
            findings=FindingReads(pool, settings.thresholds, settings.health_weights),
            views=ViewReads(pool, settings.health_weights),
            event_feed=event_feed,
            change_feed=change_feed,
            keys=keys,
            rates=RateLimits(reads=settings.rate_limit_reads, writes=settings.rate_limit_writes),
            handlings=Handlings(handling_store),
            handling_reads=HandlingReads(pool, settings.handling),
            webhooks=webhooks,
            impact_reads=ImpactReads(pool, settings.attribution),
            attribution=AttributionReads(pool),
        )


async def open_feeds(
    stack: AsyncExitStack, settings: Settings, url: str, channel: str, pool: ReadPool, health: DatabaseHealth,
    metrics: Metrics,
) -> tuple[Feed[Any], Feed[Any]]:
    """The process's readers of the event log and of the finding changes, each woken by its notifier."""
    burst = settings.subscriber_buffer // 2
    feeds = []
    for log_channel, source in ((channel, EVENT_LOG), (finding_changes.CHANNEL, CHANGE_LOG)):
        notifier = LogNotifier(url, log_channel, settings.projector_poll_seconds, name=source.name, metrics=metrics,
                               health=health)
        feed: Feed[Any] = Feed(pool.without_query_timeout(), notifier, source, burst=burst, metrics=metrics)
        await notifier.start()
        stack.push_async_callback(notifier.stop)
        await feed.start()
        stack.push_async_callback(feed.stop)
        feeds.append(feed)
    return feeds[0], feeds[1]


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
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, plain_prefixes=(WEBHOOK_PATHS,)),
        Middleware(RateLimit),
    ]


def build_app(settings: Settings, *, demo: bool = False, tracer_provider: Any = None,
              database: Database | None = None) -> Starlette:
    """The ASGI application: GraphQL (and GraphiQL in a browser) at /graphql; the web console at /; /healthz,
    /readyz, /metrics.

    Traces follow OpenTelemetry's variables (`settings.tracing`), or go to `tracer_provider` when given.
    `database`: opened by the caller (`cx360 serve` opens it before serving, so that a
    database it cannot reach stops it with one line); otherwise the lifespan opens it.
    """
    metrics = Metrics()
    live = LiveCollector()
    metrics.registry.register(live)
    tracing = start_tracing(settings, tracer_provider)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        try:
            async with open_context(settings, metrics=metrics, database=database) as context:
                live.feeds = {EVENT_LOG.name: context.event_feed, CHANGE_LOG.name: context.change_feed}
                live.listeners = {EVENT_LOG.name: context.event_feed.notifier,
                                  CHANGE_LOG.name: context.change_feed.notifier}
                if demo:
                    await load_demo(context.ingest)
                yield {"context": context, "operability": Operability(context.reads.pool.pool, metrics, live, settings)}
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
            Route("/events", post_events, methods=["POST"]),  # CloudEvents and NDJSON producers
            *operability_routes(),
            *console_routes(),  # the web console at / and /accounts/<id>
            *webhook_routes(),  # POST /webhooks/<provider>, authenticated by the provider's signature
        ],
        middleware=middleware(settings, metrics, tracing),
        lifespan=lifespan,
    )
    app.state.close_subscribers = graphql.close_subscribers  # service.runtime.server.Server calls it on shutdown
    return app
