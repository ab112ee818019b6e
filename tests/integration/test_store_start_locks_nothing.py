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
