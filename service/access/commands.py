"""`cx360 keys create|list|revoke`, beside a running service, on its database."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime

import psycopg

from service.access.keys import KeyCommandError, KeyRecord, create_key, ensure_table, list_keys, revoke_key
from service.access.scopes import ScopeError
from service.runtime.database import database
from service.settings import Settings


def keys_command(settings: Settings, action: str, name: str | None, scopes: Sequence[str], key_id: str | None,
                 days: int | None = None, sources: Sequence[str] = ()) -> int:
    try:
        return run(settings, action, name, scopes, key_id, days, sources)
    except psycopg.OperationalError as error:
        print(f"cx360: cannot use the database: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 1


def run(settings: Settings, action: str, name: str | None, scopes: Sequence[str], key_id: str | None,
        days: int | None, sources: Sequence[str] = ()) -> int:
    with database(settings) as url, psycopg.connect(url, autocommit=True) as connection:
        ensure_table(connection)
        try:
            if action == "create":
                return create(connection, name or "", scopes, days, sources)
            if action == "revoke":
                return revoke(connection, key_id or "")
            return show(list_keys(connection))
        except (KeyCommandError, ScopeError) as error:
            print(f"cx360: {error}", file=sys.stderr)
            return 2 if action == "create" else 1


def create(connection: psycopg.Connection[object], name: str, scopes: Sequence[str], days: int | None,
           sources: Sequence[str] = ()) -> int:
    record, token = create_key(connection, name, scopes, days, sources)
    until = f", until {moment(record.expires_at)}" if record.expires_at is not None else ""
    only = f", recording events of the sources {', '.join(record.sources)} only" if record.sources else ""
    print(f"created key {record.id} for {record.holder} with the scopes {', '.join(record.scopes)}{until}{only}.")
    print("Its token follows, on the last line; it is shown this once (only a hash of it is kept):")
    print(token)
    return 0


def revoke(connection: psycopg.Connection[object], key_id: str) -> int:
    record, changed = revoke_key(connection, key_id)
    if changed:
        print(f"revoked key {record.id} of {record.holder}; every replica refuses it within a second")
    else:
        print(f"key {record.id} of {record.holder} was already revoked, at {moment(record.revoked_at)}")
    return 0


def show(records: list[KeyRecord]) -> int:
    rows = [("ID", "HOLDER", "SCOPES", "SOURCES", "CREATED", "EXPIRES", "REVOKED")] + [
        (each.id, each.holder, ",".join(each.scopes), ",".join(each.sources) if each.sources else "any",
         moment(each.created_at), moment(each.expires_at), moment(each.revoked_at)) for each in records]
    widths = [max(len(row[column]) for row in rows) for column in range(7)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def moment(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S%z") if instant is not None else "-"
