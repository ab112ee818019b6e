"""Schema statements every process runs at its start, written so that they lock nothing once done.

`CREATE INDEX IF NOT EXISTS` takes its table's share lock even when the index is there,
`ALTER TABLE ... ADD COLUMN IF NOT EXISTS` its exclusive lock, and `CREATE OR REPLACE TRIGGER`
its share-row-exclusive lock: each replica's start would
queue behind the writes in progress, and every write and read would queue behind it. Checked
in the catalogue first, an index or a column that exists costs a lookup and no lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.sql import SQL, Composed, Identifier, Literal


def index_if_missing(index: str, create: Composed) -> Composed:
    """`create` (a CREATE INDEX) only if no relation is named `index` in the search path."""
    return SQL("DO $ddl$ BEGIN IF to_regclass({0}) IS NULL THEN {1}; END IF; END $ddl$").format(
        Literal(index), create)


def trigger_if_missing(trigger: str, table: str, create: Composed) -> Composed:
    """`create` (a CREATE TRIGGER) only if `table` has no trigger named `trigger`."""
    return SQL("DO $ddl$ BEGIN IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass({0})"
               " AND tgname = {1}) THEN {2}; END IF; END $ddl$").format(Literal(table), Literal(trigger), create)


def columns_if_missing(table: str, columns: Sequence[str], alter: Composed) -> Composed:
    """`alter` (an ALTER TABLE adding `columns`) only if `table` lacks one of them."""
    return SQL("DO $ddl$ BEGIN IF (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass({0})"
               " AND attname = ANY({1}) AND NOT attisdropped) < {2} THEN {3}; END IF; END $ddl$").format(
        Literal(table), Literal(list(columns)), Literal(len(columns)), alter)


def index_on(index: str, table: Identifier, columns: str, *, unique: bool = False, options: str = "") -> Composed:
    """CREATE [UNIQUE] INDEX `index` ON `table` (`columns`) `options`, if missing (`index_if_missing`)."""
    create = SQL(f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {{0}} ON {{1}} ({columns}){options}")
    return index_if_missing(index, create.format(Identifier(index), table))
