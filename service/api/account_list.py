"""Arguments of `Query.accounts`: the filter input, the orderings, and their cursors."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import orjson
import strawberry

from projections.findings import SEVERITY_RANK
from service.api.account_view import LifecycleStage
from service.api.cursors import decode, encode
from service.api.errors import BadInput
from service.api.findings import Severity
from service.read.account_list import AccountFilter, After

MAX_SEARCH = 200


@strawberry.enum(description="How to order accounts; ties by id.")
class AccountOrder(Enum):
    ID = "ID"
    NAME = "NAME"
    HEALTH_ASC = "HEALTH_ASC"
    HEALTH_DESC = "HEALTH_DESC"
    OPEN_FINDINGS_DESC = "OPEN_FINDINGS_DESC"
    SEVERITY_DESC = "SEVERITY_DESC"


@strawberry.input(description="Which accounts to list; every given condition must hold.")
class AccountFilterInput:
    stage: Optional[LifecycleStage] = strawberry.field(default=None, description="In this lifecycle stage.")
    min_health: Optional[int] = strawberry.field(default=None, description="Health score at least this (0-100).")
    max_health: Optional[int] = strawberry.field(default=None, description="Health score at most this (0-100).")
    has_open_findings: Optional[bool] = strawberry.field(default=None, description="With (true) or without (false) an open finding.")
    min_severity: Optional[Severity] = strawberry.field(default=None, description="An open finding at least this severe.")
    search: Optional[str] = strawberry.field(default=None, description="In the name (any case), or the start of the id.")

    def checked(self) -> AccountFilter:
        for name, value in (("minHealth", self.min_health), ("maxHealth", self.max_health)):
            if value is not None and not 0 <= value <= 100:
                raise BadInput(f"filter.{name}", f"must be between 0 and 100 (got {value})")
        if self.min_health is not None and self.max_health is not None and self.min_health > self.max_health:
            raise BadInput("filter.minHealth", f"must not be above maxHealth ({self.min_health} > {self.max_health})")
        if self.search is not None and not 1 <= len(self.search) <= MAX_SEARCH:
            raise BadInput("filter.search", f"must be 1 to {MAX_SEARCH} characters (got {len(self.search)})")
        if self.search is not None and "\x00" in self.search:
            raise BadInput("filter.search", "must not contain the NUL character")
        return AccountFilter(
            stage=self.stage.value if self.stage is not None else None,
            min_health=self.min_health,
            max_health=self.max_health,
            has_open_findings=self.has_open_findings,
            min_severity=SEVERITY_RANK[self.min_severity.value] if self.min_severity is not None else None,
            search=self.search,
        )


def list_cursor(ordering: str, key: str, account_id: str) -> str:
    return encode("accounts", ordering, orjson.dumps([key, account_id]).decode())


def list_after(cursor: str, ordering: str) -> After:
    """The position a cursor of this ordering points after; a cursor of another ordering is refused."""
    cursor_ordering, position = decode("accounts", cursor, 2)
    if cursor_ordering != ordering:
        raise BadInput("after", f"is a cursor of the {cursor_ordering} ordering, not {ordering}")
    try:
        key, account_id = orjson.loads(position)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        key = account_id = None
    numeric = ordering not in ("ID", "NAME")
    if not (isinstance(key, str) and isinstance(account_id, str)) or "\x00" in key + account_id or (
        numeric and not (key.lstrip("-").isascii() and key.lstrip("-").isdigit() and abs(int(key)) < 2**31)
    ):
        raise BadInput("after", f"{cursor!r:.60} is not a cursor of this list")
    return After(key, account_id)
