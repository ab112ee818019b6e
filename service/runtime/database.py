"""The database the service runs on: `DATABASE_URL`, or the embedded server, and the store library's pool of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.postgres import PostgresDatastore

from service.runtime.embedded_postgres import EmbeddedPostgres
from service.settings import Settings


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
    """A small synchronous pool (psycopg, through the store library) for the projection's writes."""
    return PostgresDatastore(
        dbname=str(params["dbname"]),
        host=str(params["host"]),
        port=str(params["port"]),
        user=str(params["user"] or ""),
        password=str(params["password"] or ""),
        pool_size=pool_size,
    )
