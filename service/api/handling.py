"""The mutations that act on a finding's handling; each returns the finding, its handling as it now stands.

The resolvers are thin: check the arguments that need the database (the finding exists,
the assignee is known), then hand the command to `service.handling.commands` in a worker
thread. A refusal names the argument and stores nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional
from uuid import UUID

import anyio.to_thread
import strawberry
from eventsourcing.persistence import InterfaceError, OperationalError
from graphql import GraphQLError

from domain.handling import Refused
from service.access.scopes import FINDINGS_ACT
from service.api.context import Context, Info
from service.api.errors import BadInput, ServiceUnavailable, text_argument
from service.api.findings import Finding
from service.api.permissions import needs
from service.handling.commands import Command, Target, VersionConflict
from service.read.findings import FindingRecord

FindingId = Annotated[strawberry.ID, strawberry.argument(description="The finding's id.")]
ExpectedVersion = Annotated[Optional[int], strawberry.argument(
    description="Act only if the handling is still at this version (its `handling.version`); a stale one is an "
    "error naming the current version, and nothing is recorded.")]
OptionalNote = Annotated[Optional[str], strawberry.argument(description="A note for the others (not blank if given).")]
RequiredNote = Annotated[str, strawberry.argument(description="A note for the others; required, not blank.")]


class VersionConflictError(GraphQLError):
    """Someone acted on the finding since the version the client expected."""

    def __init__(self, conflict: VersionConflict) -> None:
        super().__init__(f"expectedVersion: {conflict}",
                         extensions={"code": "VERSION_CONFLICT", "currentVersion": conflict.current})


async def act(context: Context, finding_id: strawberry.ID, command: Command, expected_version: int | None) -> Finding:
    if expected_version is not None and expected_version < 0:
        raise BadInput("expectedVersion", f"must be 0 or more (got {expected_version})")
    record = await finding_of(context, str(finding_id))
    if command.to is not None and command.to not in known_assignees(context):
        raise BadInput("to", f"{command.to!r:.80} is not a known key holder nor a department owner")
    target = Target(record.id, record.account_id, max(record.evidence, default=None))
    actor = context.principal.actor if context.principal is not None else "unknown"
    try:
        await anyio.to_thread.run_sync(context.handlings.act, target, actor, command, expected_version)
    except Refused as refusal:
        raise BadInput(refusal.argument, refusal.reason) from None
    except VersionConflict as conflict:
        raise VersionConflictError(conflict) from None
    except (OperationalError, InterfaceError):  # the store library's, after its own retries
        raise ServiceUnavailable("the handling store is unavailable; nothing was recorded; retry later") from None
    return Finding.from_record(record)


async def finding_of(context: Context, finding_id: str) -> FindingRecord:
    try:
        key = UUID(text_argument("id", finding_id))
    except ValueError:
        raise BadInput("id", f"{finding_id!r:.80} is not a finding id") from None
    record = await context.handling_reads.finding(key)
    if record is None:
        raise BadInput("id", f"no finding has the id {finding_id!r:.80}")
    return record


def known_assignees(context: Context) -> set[str]:
    """The holders of the active keys and the departments' owners."""
    return context.keys.holders() | set(context.settings.handling.owners.values())


def assignee(to: str) -> str:
    chosen = text_argument("to", to).strip()
    if not chosen:
        raise BadInput("to", "must name who takes the finding on")
    return chosen


@strawberry.type(description="Acting on findings: who is on which, with their notes.")
class HandlingMutation:
    @strawberry.mutation(description="Say someone is looking at the finding (from NEW).", extensions=needs(FINDINGS_ACT))
    async def acknowledge_finding(self, info: Info, id: FindingId, note: OptionalNote = None,
                                  expected_version: ExpectedVersion = None) -> Finding:
        return await act(info.context, id, Command("acknowledge", note), expected_version)

    @strawberry.mutation(description="Give the finding to a key holder or a department owner.",
                         extensions=needs(FINDINGS_ACT))
    async def assign_finding(
        self, info: Info, id: FindingId,
        to: Annotated[str, strawberry.argument(description="A key holder or a department owner.")],
        note: OptionalNote = None, expected_version: ExpectedVersion = None,
    ) -> Finding:
        return await act(info.context, id, Command("assign", note, to=assignee(to)), expected_version)

    @strawberry.mutation(description="Put the finding aside until an instant (at most a year ahead); it then comes "
                         "back by itself.", extensions=needs(FINDINGS_ACT))
    async def snooze_finding(
        self, info: Info, id: FindingId,
        until: Annotated[datetime, strawberry.argument(description="When it comes back: in the future, within a year.")],
        note: OptionalNote = None, expected_version: ExpectedVersion = None,
    ) -> Finding:
        return await act(info.context, id, Command("snooze", note, until=until), expected_version)

    @strawberry.mutation(description="Add a note, in any state.", extensions=needs(FINDINGS_ACT))
    async def comment_on_finding(self, info: Info, id: FindingId, note: RequiredNote,
                                 expected_version: ExpectedVersion = None) -> Finding:
        return await act(info.context, id, Command("comment", note), expected_version)

    @strawberry.mutation(description="Say the finding is handled, with a note. The rules' own state is unchanged: "
                         "new evidence while they hold it reopens it.", extensions=needs(FINDINGS_ACT))
    async def close_finding(self, info: Info, id: FindingId, note: RequiredNote,
                            expected_version: ExpectedVersion = None) -> Finding:
        return await act(info.context, id, Command("close", note), expected_version)

    @strawberry.mutation(description="Take a closed finding up again, with a note.", extensions=needs(FINDINGS_ACT))
    async def reopen_finding(self, info: Info, id: FindingId, note: RequiredNote,
                             expected_version: ExpectedVersion = None) -> Finding:
        return await act(info.context, id, Command("reopen", note), expected_version)
