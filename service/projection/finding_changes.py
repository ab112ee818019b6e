"""The log of finding changes, for `findingChanged` subscribers: opened, evidence added, resolved, withdrawn.

The projector writes it in the same transaction as the finding rows, by comparing each
account's rows before and after; a rebuild's swap compares the old and the new tables
whole. Positions are a sequence taken under the views' write lock, so they are given in
commit order and a reader of "everything after my position" skips nothing. Each change
carries the finding as it became (as it was, for a withdrawn one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from service.store.ddl import index_on

CHANGES_TABLE = "cx360_finding_changes"
CHANNEL = CHANGES_TABLE  # the NOTIFY channel that announces new changes
OLD_ROWS = "cx360_old_findings"  # a temporary table: an account's rows before they are replaced

CREATE = [
    SQL(
        "CREATE TABLE IF NOT EXISTS {0} (position bigserial PRIMARY KEY, finding_id uuid NOT NULL,"
        " account_id text NOT NULL, change text NOT NULL, finding jsonb NOT NULL,"
        " changed_at timestamptz NOT NULL DEFAULT now())"
    ).format(Identifier(CHANGES_TABLE)),
    index_on(f"{CHANGES_TABLE}_account", Identifier(CHANGES_TABLE), "account_id, position"),
]

DIFF = """
WITH old AS (SELECT * FROM {old} WHERE {scope_old}), new AS (SELECT * FROM {new} WHERE {scope_new}),
changes AS (
  SELECT n.id, n.account_id,
         CASE WHEN o.id IS NULL OR (o.resolved_at IS NOT NULL AND n.resolved_at IS NULL) THEN 'OPENED'
              WHEN o.resolved_at IS NULL AND n.resolved_at IS NOT NULL THEN 'RESOLVED'
              ELSE 'EVIDENCE_ADDED' END,
         to_jsonb(n)
  FROM new n LEFT JOIN old o ON o.id = n.id
  WHERE o.id IS NULL OR (o.resolved_at IS NULL) <> (n.resolved_at IS NULL)
     OR cardinality(n.evidence) > cardinality(o.evidence)
  UNION ALL
  SELECT o.id, o.account_id, 'WITHDRAWN', to_jsonb(o) FROM old o LEFT JOIN new n ON n.id = o.id WHERE n.id IS NULL
)
INSERT INTO {changes} (finding_id, account_id, change, finding) SELECT * FROM changes ORDER BY 2, 1
"""


# The rows a write replaces: the live ones of accounts written whole, and the given ones (new final rows, and the
# findings that changed in accounts written by difference).
REPLACED = ("(account_id = ANY(%(accounts)s::text[]) AND final_at IS NULL) OR id = ANY(%(final)s::uuid[])"
            " OR id = ANY(%(changed)s::uuid[])")


def keep_old_rows(curs: Cursor[DictRow], findings_table: str, accounts: Sequence[str],
                  final_ids: Sequence[UUID] = (), changed_ids: Sequence[UUID] = ()) -> None:
    """Delete the rows about to be replaced, and keep them aside: the accounts' live ones, and any with the ids of
    new final ones or of findings changed (`REPLACED`). One statement deletes and keeps.

    Final rows are written once and stay: they are not compared again.
    """
    curs.execute(SQL("CREATE TEMP TABLE IF NOT EXISTS {0} (LIKE {1}) ON COMMIT DELETE ROWS").format(
        Identifier(OLD_ROWS), Identifier(findings_table)))
    curs.execute(SQL("WITH gone AS (DELETE FROM {1} WHERE " + REPLACED + " RETURNING *)"
                     " INSERT INTO {0} SELECT * FROM gone").format(
        Identifier(OLD_ROWS), Identifier(findings_table)), scope_of(accounts, final_ids, changed_ids), prepare=True)


def scope_of(accounts: Sequence[str], final_ids: Sequence[UUID], changed_ids: Sequence[UUID]) -> dict[str, list[Any]]:
    """`REPLACED`'s parameters."""
    return {"accounts": list(accounts), "final": list(final_ids), "changed": list(changed_ids)}


def record_changes(curs: Cursor[DictRow], old_table: str, new_table: str, accounts: Sequence[str] | None,
                   final_ids: Sequence[UUID] = (), changed_ids: Sequence[UUID] = ()) -> None:
    """Log how the accounts' findings changed from `old_table` to `new_table` (all accounts: None).

    For some accounts, the new side is the rows that replaced those `keep_old_rows` kept.
    """
    scope = REPLACED if accounts is not None else "true"
    if old_table != OLD_ROWS:  # (the temporary table is there: `keep_old_rows` made it in this transaction)
        exists = curs.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (old_table,)).fetchone()
        if exists is None or not exists["found"]:
            return  # nothing to compare with (a first rebuild of a new database)
    statement: Composed = SQL(DIFF).format(
        old=Identifier(old_table), new=Identifier(new_table), changes=Identifier(CHANGES_TABLE),
        scope_old=SQL(scope), scope_new=SQL(scope),
    )
    curs.execute(statement, scope_of(accounts, final_ids, changed_ids) if accounts is not None else None)
    if curs.rowcount:
        curs.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
    if old_table == OLD_ROWS:
        curs.execute(SQL("DELETE FROM {0}").format(Identifier(OLD_ROWS)))
