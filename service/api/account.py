"""The `Account` type and its connection."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Optional

import strawberry

from service.api.account_list import list_cursor
from service.api.account_view import (
    AgentContext,
    DepartmentView,
    Health,
    Lifecycle,
    Satisfaction,
    instant,
)
from service.api.attribution import AttributedConversion, AttributionModel
from service.api.context import Info
from service.api.cursors import timeline_after, timeline_cursor
from service.api.findings import Finding, FindingState
from service.api.paging import page_size
from service.api.types import (
    Department,
    Event,
    EventConnection,
    EventEdge,
    PageInfo,
    page_info,
)
from service.read.accounts import AccountRecord


@strawberry.type(description="A customer account as every department has treated it.")
class Account:
    id: strawberry.ID = strawberry.field(description="The account id, in the tenant's own id space.")
    name: Optional[str] = strawberry.field(description="The latest name from sales.account.updated.")
    as_of: strawberry.Private[Optional[datetime]]

    @staticmethod
    def from_record(record: AccountRecord, as_of: datetime | None = None) -> Account:
        return Account(id=strawberry.ID(record.id), name=record.name, as_of=as_of)

    @strawberry.field(description="The account's events ordered by occurredAt, ties by arrival.")
    async def timeline(
        self,
        info: Info,
        first: Annotated[Optional[int], strawberry.argument(description="How many items, at most the configured page size (100 by default).")] = None,
        after: Annotated[Optional[str], strawberry.argument(description="The `endCursor` of the previous page: continue after it.")] = None,
        departments: Annotated[Optional[list[Department]], strawberry.argument(description="Only events of these departments.")] = None,
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
    async def findings(
        self, info: Info, state: Annotated[Optional[FindingState], strawberry.argument(description="Open findings (the default) or all of them.")] = FindingState.OPEN
    ) -> list[Finding]:
        records = await info.context.account_findings(str(self.id), self.as_of, (state or FindingState.OPEN).open_only)
        return [Finding.from_record(record) for record in records]

    @strawberry.field(
        description="The account's conversions, each with its touches' credits by the model, oldest first; with the "
        "account's `asOf`, the conversions that had happened by then. DATA_DRIVEN credits each conversion by the "
        "weights learnt from the journeys of its own calendar month (UTC), as `Query.attribution` sums them; a "
        "conversion of the month still running moves as that month's journeys grow (learnt again every minute)."
    )
    async def attribution(
        self, info: Info, model: Annotated[AttributionModel, strawberry.argument(description="The attribution model.")]
    ) -> list[AttributedConversion]:
        found = await info.context.attribution.of_account(model.name.lower(), str(self.id), self.as_of)
        return [AttributedConversion.from_conversion(each) for each in found]

    async def view(self, info: Info) -> dict[str, Any] | None:
        """The account's view (live, or as of `asOf`), loaded once per request for all fields."""
        return await info.context.account_views().load((str(self.id), self.as_of))

    @strawberry.field(description="One summary per department that has touched the account.")
    async def departments(self, info: Info) -> list[DepartmentView]:
        view = await self.view(info)
        return [DepartmentView.from_json(summary) for summary in view["departments"]] if view else []

    @strawberry.field(description="The health score with its components and its weekly trend; null before any event.")
    async def health(self, info: Info) -> Optional[Health]:
        view = await self.view(info)
        return Health.from_json(view["health"]) if view and view["health"] else None

    @strawberry.field(description="The lifecycle stage (prospect, onboarding, active, at risk, churned), since when and why.")
    async def lifecycle(self, info: Info) -> Optional[Lifecycle]:
        view = await self.view(info)
        return Lifecycle.from_json(view["lifecycle"]) if view and view["lifecycle"] else None

    @strawberry.field(description="NPS and CSAT: each contact's latest NPS, account NPS, CSAT average, detractors left alone.")
    async def satisfaction(self, info: Info) -> Optional[Satisfaction]:
        view = await self.view(info)
        return Satisfaction.from_json(view["satisfaction"]) if view and view["satisfaction"] else None

    @strawberry.field(description="What a support agent must know before a call: serious tickets, billing, don'ts, this week.")
    async def agent_context(self, info: Info) -> Optional[AgentContext]:
        view = await self.view(info)
        return AgentContext.from_json(view["agent"], str(self.id), self.as_of) if view and view["agent"] else None

    @strawberry.field(description="When the view was judged: the last time the projector judged the account, or `asOf`.")
    async def viewed_at(self, info: Info) -> Optional[datetime]:
        view = await self.view(info)
        return instant(view["as_of"]) if view else None


@strawberry.type(description="An account in a list, with its cursor.")
class AccountEdge:
    cursor: str = strawberry.field(description="Pass as `after` (with the same `orderBy`) to continue after this account.")
    node: Account = strawberry.field(description="The account.")


@strawberry.type(description="A page of accounts.")
class AccountConnection:
    edges: list[AccountEdge] = strawberry.field(description="The accounts of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the list.")


def account_connection(
    rows: list[tuple[AccountRecord, str]], limit: int, after: str | None, ordering: str
) -> AccountConnection:
    edges = [
        AccountEdge(cursor=list_cursor(ordering, key, record.id), node=Account.from_record(record))
        for record, key in rows[:limit]
    ]
    return AccountConnection(
        edges=edges, page_info=page_info([edge.cursor for edge in edges], len(rows) > limit, after is not None)
    )
