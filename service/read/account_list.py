"""The account list for dashboards: filters and orderings over the projected account rows.

Keyset pagination: each ordering is one sort key (a fixed SQL expression, never built
from input) and the account id as the tie-breaker; a cursor carries the ordering, the
key and the id of the last row, so a page never skips or repeats an account.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.projection.view_store import ACCOUNT_VIEWS_TABLE
from service.read.accounts import AccountRecord
from service.read.pool import ReadPool
from service.store.tables import ACCOUNTS_TABLE

# ordering -> (sort key expression, descending?, key type)
ORDERINGS: dict[str, tuple[str, bool, str]] = {
    "ID": ("a.account_id", False, "text"),
    "NAME": ("lower(coalesce(a.name, a.account_id))", False, "text"),
    "HEALTH_ASC": ("coalesce(v.health, 101)", False, "int"),  # accounts without a score last
    "HEALTH_DESC": ("coalesce(v.health, -1)", True, "int"),
    "OPEN_FINDINGS_DESC": ("coalesce(v.open_findings, 0)", True, "int"),
    "SEVERITY_DESC": ("coalesce(v.top_severity, 0) * 1000000 + least(coalesce(v.open_findings, 0), 999999)", True, "int"),
}


@dataclass(frozen=True)
class AccountFilter:
    stage: str | None = None
    min_health: int | None = None
    max_health: int | None = None
    has_open_findings: bool | None = None
    min_severity: int | None = None  # 1 LOW, 2 MEDIUM, 3 HIGH
    search: str | None = None  # in the name (any case) or the start of the id


@dataclass(frozen=True)
class After:
    key: str
    account_id: str


def query(ordering: str) -> str:
    key, descending, kind = ORDERINGS[ordering]
    direction, compare = ("DESC", "<") if descending else ("ASC", ">")
    return f"""
SELECT a.account_id, a.name, {key} AS sort_key
FROM {ACCOUNTS_TABLE} a LEFT JOIN {ACCOUNT_VIEWS_TABLE} v ON v.account_id = a.account_id
WHERE ($1::text IS NULL OR v.stage = $1)
  AND ($2::int IS NULL OR v.health >= $2)
  AND ($3::int IS NULL OR v.health <= $3)
  AND ($4::bool IS NULL OR (coalesce(v.open_findings, 0) > 0) = $4)
  AND ($5::int IS NULL OR coalesce(v.top_severity, 0) >= $5)
  AND ($6::text IS NULL OR a.name ILIKE '%' || $6 || '%' OR a.account_id LIKE $6 || '%')
  AND ($7::text IS NULL OR ({key}, a.account_id) {compare} ($7::text::{kind}, $8::text))
ORDER BY {key} {direction}, a.account_id {direction}
LIMIT $9
"""


QUERIES = {ordering: query(ordering) for ordering in ORDERINGS}


def escaped(text: str) -> str:
    """The text taken literally by LIKE (whose escape character is the backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def account_page(
    pool: ReadPool, limit: int, ordering: str, chosen: AccountFilter, after: After | None
) -> list[tuple[AccountRecord, str]]:
    """A page of accounts with each one's sort key (for its cursor)."""
    search = escaped(chosen.search) if chosen.search else None
    rows = await pool.fetch(
        QUERIES[ordering], chosen.stage, chosen.min_health, chosen.max_health, chosen.has_open_findings,
        chosen.min_severity, search, after.key if after else None, after.account_id if after else None, limit,
    )
    return [(AccountRecord(row["account_id"], row["name"]), str(row["sort_key"])) for row in rows]
