"""The composition root: settings in, a running application out.

Nothing connects at import time. The lifespan opens the database (the embedded server
when no `DATABASE_URL` is set), the event store (creating its tables, idempotently) and
the read pool, and closes them in reverse order on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import anyio.to_thread
import asyncpg
from eventsourcing.postgres import PostgresDatastore
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from service import finding_changes
from service.api.context import Context
from service.api.http import GraphQLEndpoint
from service.api.response_cache import AccountResponseCache
from service.api.schema import build_schema
from service.embedded_postgres import EmbeddedPostgres
from service.event_store import EventStore, store_env
from service.finding_reads import FindingReads
from service.follower import Follower
from service.ingest import Ingest
from service.middleware import BodySizeLimit
from service.projector import Projector
from service.projector_process import ProjectorConfig, ProjectorProcess
from service.reads import Reads
from service.settings import Settings, connection_params
from service.streams import CHANGE_LOG, EVENT_LOG, Feed, LogNotifier
from service.view_reads import ViewReads
from service.views import ProjectedViews

log = logging.getLogger(__name__)

DEMO_BATCH = 500


@asynccontextmanager
async def open_context(
    settings: Settings, on_query: Callable[[Any], None] | None = None
) -> AsyncIterator[Context]:
    """Open every resource the service needs, and close them all on the way out.

    `on_query` is called with every query the read side runs (asyncpg's query logger):
    tests count queries with it.
    """
    embedded = EmbeddedPostgres(settings.data_dir) if settings.database_url is None else None
    url = await anyio.to_thread.run_sync(embedded.start) if embedded is not None else settings.database_url
    assert url is not None
    try:
        params = connection_params(url)
        store = await anyio.to_thread.run_sync(lambda: EventStore(env=store_env(params)))
        try:
            projector = await anyio.to_thread.run_sync(lambda: start_projector(settings, url, params, store))
            try:
                pool = await asyncpg.create_pool(
                    dsn=url, min_size=1, max_size=settings.db_pool_size, init=query_logger(on_query)
                )
                notifier = LogNotifier(url, store.indexing_recorder.channel_name, settings.projector_poll_seconds)
                change_notifier = LogNotifier(url, finding_changes.CHANNEL, settings.projector_poll_seconds)
                burst = settings.subscriber_buffer // 2
                event_feed = Feed(pool, notifier, EVENT_LOG, burst=burst)
                change_feed = Feed(pool, change_notifier, CHANGE_LOG, burst=burst)
                await notifier.start()
                await change_notifier.start()
                await event_feed.start()
                await change_feed.start()
                try:
                    findings = FindingReads(pool, settings.thresholds)
                    yield Context(
                        settings=settings,
                        reads=Reads(pool),
                        ingest=Ingest(store, settings.limits),
                        findings=findings,
                        views=ViewReads(pool, settings.health_weights),
                        event_feed=event_feed,
                        change_feed=change_feed,
                    )
                finally:
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


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database's URL: `DATABASE_URL`, or the embedded server (joined if already running)."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def datastore_of(params: dict[str, str | int | None], pool_size: int = 2) -> PostgresDatastore:
    return PostgresDatastore(
        dbname=str(params["dbname"]),
        host=str(params["host"]),
        port=str(params["port"]),
        user=str(params["user"] or ""),
        password=str(params["password"] or ""),
        pool_size=pool_size,
    )


def projected_views(params: dict[str, str | int | None]) -> ProjectedViews:
    """The findings view on its own small pool, its tables created if missing."""
    view = ProjectedViews(datastore_of(params))
    view.create_table()
    return view


class Stoppable(Protocol):
    def stop(self) -> None: ...


class NoProjector:
    """`CX360_PROJECTOR=off`: this replica only serves; another process keeps the views."""

    def stop(self) -> None:
        pass


class ProjectorThread:
    """`CX360_PROJECTOR=thread`: the projector in a thread of the API's process."""

    def __init__(self, settings: Settings, url: str, params: dict[str, str | int | None], channel: str) -> None:
        projector = Projector(projected_views(params), settings.thresholds, batch_size=settings.projector_batch_events,
                              weights=settings.health_weights, view_delay=timedelta(seconds=settings.view_delay_seconds))
        self.follower = Follower(projector, url, channel, poll_seconds=settings.projector_poll_seconds)
        self.follower.start()

    def stop(self) -> None:
        self.follower.stop()
        self.follower.projector.view.datastore.close()


def start_projector(settings: Settings, url: str, params: dict[str, str | int | None], store: EventStore) -> Stoppable:
    """The projector as configured: its own process (the default), a thread, or none."""
    channel = store.indexing_recorder.channel_name
    if settings.projector == "thread":
        return ProjectorThread(settings, url, params, channel)
    projected_views(params).datastore.close()  # the view's tables exist before the first read, even with no projector
    if settings.projector == "off":
        return NoProjector()
    process = ProjectorProcess(ProjectorConfig.of(settings, url, channel))
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


def build_app(settings: Settings, *, demo: bool = False) -> Starlette:
    """The ASGI application: GraphQL (and GraphiQL in a browser) at /graphql."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with open_context(settings) as context:
            if demo:
                await load_demo(context.ingest)
            yield {"context": context}

    graphql = GraphQLEndpoint(build_schema(), keep_alive=True,
                              keep_alive_interval=settings.subscriber_ping_seconds)
    app = Starlette(
        routes=[
            Route("/graphql", AccountResponseCache(graphql), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        middleware=[Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)],
        lifespan=lifespan,
    )
    app.state.close_subscribers = graphql.close_subscribers  # service.server.Server calls it on shutdown
    return app
