"""The `Account` type and its connection."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry

from service.api.context import Info
from service.api.findings import Finding, FindingState
from service.api.cursors import account_cursor, timeline_after, timeline_cursor
from service.api.paging import page_size
from service.api.types import Department, Event, EventConnection, EventEdge, PageInfo, page_info
from service.reads import AccountRecord


@strawberry.type(description="A customer account as every department has treated it.")
class Account:
    id: strawberry.ID
    name: Optional[str] = strawberry.field(description="The latest name from sales.account.updated.")
    as_of: strawberry.Private[Optional[datetime]]

    @staticmethod
    def from_record(record: AccountRecord, as_of: datetime | None = None) -> Account:
        return Account(id=strawberry.ID(record.id), name=record.name, as_of=as_of)

    @strawberry.field(description="The account's events ordered by occurredAt, ties by arrival.")
    async def timeline(
        self,
        info: Info,
        first: Optional[int] = None,
        after: Optional[str] = None,
        departments: Optional[list[Department]] = None,
    ) -> EventConnection:
        limit = page_size(first, info.context.settings.max_page_size)
        records = await info.context.reads.timeline(
            str(self.id),
            limit + 1,
            departments=[department.value for department in departments] if departments is not None else None,
            as_of=self.as_of,
            after=timeline_after(after) if after else None,
        )
        edges = [
            EventEdge(cursor=timeline_cursor(record.occurred_at, record.version), node=Event.from_record(record))
            for record in records[:limit]
        ]
        return EventConnection(
            edges=edges,
            page_info=page_info([edge.cursor for edge in edges], len(records) > limit, after is not None),
        )

    @strawberry.field(
        description="The account's findings, the most recently detected first; with the account's `asOf`, "
        "those that were true then, judged from the events that had happened by then."
    )
    async def findings(self, info: Info, state: Optional[FindingState] = FindingState.OPEN) -> list[Finding]:
        reads = info.context.findings
        if self.as_of is None:
            records = await reads.of_account(str(self.id), (state or FindingState.OPEN).open_only)
        else:
            records = await reads.of_account_as_of(str(self.id), self.as_of, (state or FindingState.OPEN).open_only)
        return [Finding.from_record(record) for record in records]


@strawberry.type
class AccountEdge:
    cursor: str
    node: Account


@strawberry.type(description="A page of accounts, ordered by id.")
class AccountConnection:
    edges: list[AccountEdge]
    page_info: PageInfo


def account_connection(records: list[AccountRecord], limit: int, after: str | None) -> AccountConnection:
    edges = [AccountEdge(cursor=account_cursor(record.id), node=Account.from_record(record)) for record in records[:limit]]
    return AccountConnection(
        edges=edges, page_info=page_info([edge.cursor for edge in edges], len(records) > limit, after is not None)
    )
