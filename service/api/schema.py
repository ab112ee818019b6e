"""The GraphQL schema: queries and the `recordEvents` mutation."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Annotated, Any, Optional

import strawberry
from graphql import ASTValidationRule, GraphQLError, GraphQLResolveInfo
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from projections.rules import RULES
from service.access.scopes import EVENTS_WRITE, STREAMS_READ, VIEWS_READ
from service.api import event_variables
from service.api.account import Account, AccountConnection, account_connection
from service.api.account_list import AccountFilterInput, AccountOrder, list_after
from service.api.argument_errors import NameArgumentsInErrors
from service.api.attribution import AttributionQuery
from service.api.context import Context, Info
from service.api.cursors import notification_id_of, position_of
from service.api.errors import BadInput, ClientErrors, ServiceUnavailable, should_mask, text_argument, unavailable
from service.api.executor import PlainDataExecutor
from service.api.findings import (
    DepartmentPairCount,
    DetectedFrom,
    DetectedTo,
    Finding,
    FindingConnection,
    FindingState,
    Severity,
    assignee_filter,
    change_filter,
    detection_range,
    finding_after,
    finding_change,
    finding_connection,
)
from service.api.handling import HandlingMutation
from service.api.handling_report import HandlingQuery
from service.api.handling_types import HandlingState
from service.api.impact import ImpactQuery
from service.api.limits import ParseWithinLimits, ShortQueryValidationCache, query_rules
from service.api.operation_labels import LabelOperation
from service.api.paging import page_size
from service.api.permissions import needs, require
from service.api.scalars import SCALAR_MAP
from service.api.stream_errors import stream_ended
from service.api.types import (
    Department,
    Event,
    EventConflict,
    EventInput,
    EventRejection,
    RecordEventsPayload,
)
from service.api.webhooks import WebhookMutation, WebhookQuery
from service.handling.reads import HandlingFilter
from service.read.account_list import AccountFilter, account_page
from service.settings import QueryLimits, Settings
from service.store.event_store import StoreUnavailable
from service.stream.feed import NotIssued, StreamEnded
from service.stream.logs import CHANGE_LOG, change_selection, event_selection

log = logging.getLogger(__name__)


CLOCK_SKEW = timedelta(minutes=5)  # a client's clock may run a little ahead of ours


@strawberry.type(description="Accounts, their timelines and views, and findings across accounts.")
class Query(HandlingQuery, ImpactQuery, AttributionQuery, WebhookQuery):
    @strawberry.field(description="The account, or null for an account no event has named.", extensions=needs(VIEWS_READ))
    async def account(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The account id, in the tenant's own id space.")],
        as_of: Annotated[Optional[datetime], strawberry.argument(description="Answer as the account was at this instant (its events up to then); now if omitted. Not in the future (5 minutes of clock skew are allowed). `viewedAt` gives it back in UTC.")] = None,
    ) -> Optional[Account]:
        if as_of is not None and as_of > datetime.now(timezone.utc) + CLOCK_SKEW:
            raise BadInput("asOf", f"{as_of.isoformat()} is in the future: an account is shown as it was, "
                                   "not as it would be if nothing happened until then")
        if as_of is not None:  # one instant, one answer: asked with two offsets, it is loaded once
            as_of = as_of.astimezone(timezone.utc)
        record = await info.context.reads.account(text_argument("id", str(id)), as_of)
        return Account.from_record(record, as_of) if record is not None else None

    @strawberry.field(description="The `changePosition` of the latest finding change (all zeros before the first). Read "
                      "it before reading findings, then subscribe to `findingChanged(after:)` with it: no change made "
                      "in between is missed (one made while the findings were read may come again, with its `id`).",
                      extensions=needs(STREAMS_READ))
    async def finding_change_position(self, info: Info) -> str:
        return position_of(int(await info.context.reads.pool.fetchval(CHANGE_LOG.head)))

    @strawberry.field(description="Accounts, filtered and ordered for a dashboard (by id unless `orderBy` says otherwise).",
                      extensions=needs(VIEWS_READ))
    async def accounts(
        self,
        info: Info,
        first: Annotated[Optional[int], strawberry.argument(description="How many items, at most the configured page size (100 by default).")] = None,
        after: Annotated[Optional[str], strawberry.argument(description="The `endCursor` of the previous page: continue after it. Cursors belong to one ordering.")] = None,
        filter: Annotated[Optional[AccountFilterInput], strawberry.argument(description="Only the accounts that match every given condition.")] = None,
        order_by: Annotated[AccountOrder, strawberry.argument(description="The order of the list; ties are broken by account id.")] = AccountOrder.ID,
    ) -> AccountConnection:
        limit = page_size(first, info.context.settings.max_page_size)
        chosen = filter.checked() if filter is not None else AccountFilter()
        rows = await account_page(
            info.context.reads.pool, limit + 1, order_by.value, chosen, list_after(after, order_by.value) if after else None
        )
        return account_connection(rows, limit, after, order_by.value)

    @strawberry.field(description="Findings across all accounts, the most recently detected first.", extensions=needs(VIEWS_READ))
    async def findings(
        self,
        info: Info,
        first: Annotated[Optional[int], strawberry.argument(description="How many items, at most the configured page size (100 by default).")] = None,
        after: Annotated[Optional[str], strawberry.argument(description="The `endCursor` of the previous page: continue after it.")] = None,
        rule: Annotated[Optional[str], strawberry.argument(description="A rule id, e.g. contact-pressure.")] = None,
        department: Annotated[Optional[Department], strawberry.argument(description="Only findings that involve this department.")] = None,
        state: Annotated[Optional[FindingState], strawberry.argument(description="Open findings (the default) or all of them.")] = FindingState.OPEN,
        handling_state: Annotated[Optional[HandlingState], strawberry.argument(description="Only findings whose handling is in this state now.")] = None,
        assignee: Annotated[Optional[str], strawberry.argument(description="Only findings this person is on (assigned, or owner of the first department of a finding nobody assigned).")] = None,
        overdue: Annotated[Optional[bool], strawberry.argument(description="Only overdue findings (true) or only the others (false).")] = None,
    ) -> FindingConnection:
        limit = page_size(first, info.context.settings.max_page_size)
        if rule is not None and rule not in RULES:
            raise BadInput("rule", f"unknown rule {rule!r:.80}; the rules are {', '.join(RULES)}")
        chosen = HandlingFilter(handling_state.value if handling_state is not None else None,
                                assignee_filter(assignee), overdue)
        reads = partial(info.context.handling_reads.page, chosen=chosen) if chosen.given else info.context.findings.page
        records = await reads(
            limit + 1,
            open_only=(state or FindingState.OPEN).open_only,
            rule=rule,
            department=department.value if department is not None else None,
            after=finding_after(after) if after else None,
        )
        return finding_connection(records, limit, after)

    @strawberry.field(
        description="For each pair of departments (and each single department, for rules that name one): "
        "findings detected between `from` and `to` (both included; open-ended when omitted), how many are "
        "still open, and how many accounts they concern; the most frequent first.",
        extensions=needs(VIEWS_READ),
    )
    async def department_matrix(
        self,
        info: Info,
        from_: DetectedFrom = None,
        to: DetectedTo = None,
    ) -> list[DepartmentPairCount]:
        return [DepartmentPairCount.from_count(count) for count in await info.context.findings.matrix(*detection_range(from_, to))]


@strawberry.type(description="Events in from producers, and people acting on findings.")
class Mutation(HandlingMutation, WebhookMutation):
    @strawberry.mutation(
        description="Store a batch of events. Each faulty event is rejected alone; the valid ones are "
        "stored together in one transaction, or, if the database fails, none is.",
        extensions=needs(EVENTS_WRITE),
    )
    async def record_events(
        self, info: Info, events: Annotated[list[EventInput], strawberry.argument(description="The batch, at most CX360_MAX_BATCH_EVENTS events; each is checked and stored on its own.")]
    ) -> RecordEventsPayload:
        """Never called: `build_schema` resolves the field with `record_events_from_coerced_input`."""
        raise AssertionError("recordEvents is resolved by record_events_from_coerced_input")


async def record_batch(context: Context, events: Sequence[Mapping[str, Any]]) -> RecordEventsPayload:
    maximum = context.settings.max_batch_events
    if len(events) > maximum:
        raise BadInput("events", f"a batch holds at most {maximum} events (got {len(events)}); nothing was stored")
    try:
        result = await context.ingest.record(events, context.principal.sources if context.principal else None)
    except StoreUnavailable as failure:
        raise ServiceUnavailable(str(failure)) from None
    return RecordEventsPayload(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=[
            EventRejection(index=r.index, event_id=strawberry.ID(r.event_id) if r.event_id else None, field=r.field, message=r.message)
            for r in result.rejected
        ],
        conflicts=len(result.conflicts),
        conflicted=[EventConflict(index=c.index, event_id=strawberry.ID(c.event_id), source=c.source,
                                  fields=list(c.fields), message=c.message) for c in result.conflicts],
    )


async def record_events_from_coerced_input(_root: None, info: GraphQLResolveInfo[Context], events: list[dict[str, Any]]) -> RecordEventsPayload:
    """`recordEvents` taking graphql-core's coerced input as it is.

    graphql-core has already checked every `EventInput` against the schema, and its
    coerced values are dicts keyed by the GraphQL names, which is the shape validation
    takes. Converting them into `EventInput` objects first would be the largest cost
    per event on the ingest path, for nothing validation needs, so this resolver skips it.
    Standing in for strawberry's resolver, it also skips the field's extensions: it checks
    the scope itself.
    """
    require(info.context.principal, EVENTS_WRITE)
    return await record_batch(info.context, events)


@strawberry.type(description="Streams for integrations, over graphql-transport-ws at /graphql.")
class Subscription:
    @strawberry.subscription(
        description="Every stored event, in log order. With `after` (a position), replays from there and then "
        "goes live, with no gap and no duplicate at the seam; without it, only events stored from now on. "
        "The filters apply to both parts.",
        extensions=needs(STREAMS_READ),
    )
    async def events(
        self,
        info: Info,
        after: Annotated[Optional[str], strawberry.argument(description="An event's `position`: replay every event after it, then go live. Without it, only new events.")] = None,
        departments: Annotated[Optional[list[Department]], strawberry.argument(description="Only events of these departments.")] = None,
        account_id: Annotated[Optional[strawberry.ID], strawberry.argument(description="Only events of this account.")] = None,
    ) -> AsyncGenerator[Event, None]:
        context = info.context
        start = notification_id_of(after, "after") if after else None
        chosen = [department.value for department in departments] if departments is not None else None
        selection = event_selection(chosen, text_argument("accountId", str(account_id)) if account_id is not None else None)
        records = context.event_feed.follow(start, selection, itself, context.settings.subscriber_buffer)
        async with aclosing(records):
            async for _, record in explained(records):
                yield Event.from_record(record)

    @strawberry.subscription(
        description="Findings as they open, gain evidence, close, or are withdrawn (a late event showed they never "
        "held), including those a passing deadline opens or closes. Each message says which (`change`) and carries "
        "`changePosition`; with `after` (such a position), replays the changes since then and goes live. People acting "
        "on a finding's handling come as HANDLED changes.",
        extensions=needs(STREAMS_READ),
    )
    async def finding_changed(
        self,
        info: Info,
        account_id: Annotated[Optional[strawberry.ID], strawberry.argument(description="Only changes of this account's findings.")] = None,
        after: Annotated[Optional[str], strawberry.argument(description="A `changePosition`: replay every change after it, then go live. Without it, only new changes.")] = None,
        rule: Annotated[Optional[str], strawberry.argument(description="Only changes of this rule's findings.")] = None,
        severity: Annotated[Optional[Severity], strawberry.argument(description="Only changes of findings of this severity.")] = None,
        department: Annotated[Optional[Department], strawberry.argument(description="Only changes of findings that involve this department.")] = None,
        assignee: Annotated[Optional[str], strawberry.argument(description="Only changes of findings this person is on (assigned, or owner of the first department of a finding nobody assigned), as it stands when the change is read.")] = None,
    ) -> AsyncGenerator[Finding, None]:
        context = info.context
        start = notification_id_of(after, "after") if after else None
        chosen = change_filter(rule, severity, department, assignee)
        selection = change_selection(text_argument("accountId", str(account_id)) if account_id is not None else None,
                                     chosen, context.settings.handling.owners)
        rows = context.change_feed.follow(start, selection, itself, context.settings.subscriber_buffer)
        async with aclosing(rows):
            async for _, row in explained(rows):
                yield finding_change(row)


async def explained(messages: AsyncIterator[tuple[int, Any]]) -> AsyncIterator[tuple[int, Any]]:
    """The messages, with the feed's endings as errors the client can act on."""
    try:
        async for message in messages:
            yield message
    except NotIssued as unknown:
        raise BadInput("after", f"{position_of(unknown.position)!r} is not a position issued by this service") from None
    except StreamEnded as ended:
        raise stream_ended(ended) from None


async def itself(item: Any) -> Any:
    """The render of a subscription served by strawberry itself: the item, as graphql-core maps it."""
    return item


class Schema(strawberry.Schema):
    """Logs a client's mistakes in one line, and only unexpected errors with their traceback.

    It carries its request limits and the validation rules that enforce them, which the
    subscription planner (service/api/fanout.py) uses too.
    """

    query_rules: tuple[type[ASTValidationRule], ...] = ()
    query_limits: QueryLimits = QueryLimits()

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        unexpected = [error for error in errors if should_mask(error)]
        for error in errors:
            if not should_mask(error) and not unavailable(error):  # an outage is logged once, by the database's health
                log.info("request refused: %s", error.message)
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema, with the request limits of the settings (the defaults without)."""
    settings = settings or Settings()
    limits = settings.query_limits
    event_variables.install()  # recordEvents' batch coerced on a short path (service/api/event_variables.py)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=PlainDataExecutor,
        extensions=[  # factories: strawberry builds a fresh extension per request (its caches are shared)
            LabelOperation,
            NameArgumentsInErrors,
            ClientErrors,
            lambda: AddValidationRules(list(schema.query_rules)),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: ParseWithinLimits(max_length=limits.max_length),
            ShortQueryValidationCache,
        ],
    )
    # Built once: ValidationCache's key holds the rules, so the same classes must come every time.
    schema.query_rules = query_rules(schema._schema, limits, settings.max_page_size, settings.max_batch_events)
    schema.query_limits = limits
    mutation = schema._schema.mutation_type
    assert mutation is not None
    mutation.fields["recordEvents"].resolve = record_events_from_coerced_input
    return schema
