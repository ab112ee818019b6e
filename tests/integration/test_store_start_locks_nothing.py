"""Every replica creates the store's schema at its start: once it is there, that must wait for no append."""

from __future__ import annotations

import psycopg

from service.runtime.database import datastore_of
from service.settings import connection_params
from service.store.recorder import IndexingRecorder
from service.store.tables import EVENTS_TABLE


def test_the_stores_create_statements_wait_for_no_append_in_progress(database_url: str) -> None:
    datastore = datastore_of(connection_params(database_url))
    try:
        recorder = IndexingRecorder(datastore, events_table_name=EVENTS_TABLE)
        recorder.create_table()  # the schema is there, as at any start but the first
        with psycopg.connect(database_url) as appending, psycopg.connect(database_url) as starting:
            appending.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")  # what an append holds
            starting.execute("SET lock_timeout = '2s'")
            for statement in recorder.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    continue  # the library runs these alone, and they lock no table
                try:
                    starting.execute(statement)
                except psycopg.errors.LockNotAvailable:
                    raise AssertionError(
                        f"waits for the appends: {statement.as_string()[:160]} (if it is the store library's own "
                        "index on notification ids, `IndexingRecorder.lock_free` no longer recognises it)"
                    ) from None
            starting.rollback()
            appending.rollback()
    finally:
        datastore.close()


def test_the_views_create_statements_wait_for_no_projector_write_in_progress(database_url: str) -> None:
    """A replica opening the live view while the projector writes: its start must not queue behind the write
    (and every read behind it), nor deadlock with it (the write waits for no lock the start holds)."""
    from service.projection.view_store import FINDINGS_TABLE, SETTINGS_TABLE, WRITE_LOCK, open_view_store

    view = open_view_store(connection_params(database_url))  # the schema is there, as at any start but the first
    try:
        with psycopg.connect(database_url) as writing, psycopg.connect(database_url) as starting:
            writing.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))  # what a projector's write holds
            writing.execute(f"LOCK TABLE {FINDINGS_TABLE}, {SETTINGS_TABLE} IN ROW EXCLUSIVE MODE")
            starting.execute("SET lock_timeout = '2s'")
            for statement in view.sql_create_statements:
                text = statement.as_string()
                if "pg_advisory_xact_lock" in text:
                    continue  # serialises creators only; a projector's write takes another key
                try:
                    starting.execute(statement)
                except psycopg.errors.LockNotAvailable:
                    raise AssertionError(f"waits for the projector's write: {text[:160]}") from None
            starting.rollback()
            writing.rollback()
    finally:
        view.datastore.close()
