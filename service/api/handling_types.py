"""A finding's handling in GraphQL: its state, assignee, deadline and the actions people took."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Optional

import strawberry

from domain.handling import Action
from service.handling.shown import ShownHandling


@strawberry.enum(description="Where people are with a finding (the rules' own state is `resolvedAt`).")
class HandlingState(Enum):
    NEW = "NEW"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    ASSIGNED = "ASSIGNED"
    SNOOZED = "SNOOZED"
    CLOSED = "CLOSED"


@strawberry.enum(description="What a person did to a finding's handling.")
class HandlingActionKind(Enum):
    ACKNOWLEDGE = "ACKNOWLEDGE"
    ASSIGN = "ASSIGN"
    SNOOZE = "SNOOZE"
    COMMENT = "COMMENT"
    CLOSE = "CLOSE"
    REOPEN = "REOPEN"


@strawberry.type(description="One action on a finding's handling: who, when, and their note.")
class HandlingAction:
    kind: HandlingActionKind = strawberry.field(description="What was done.")
    by: str = strawberry.field(description="Who did it: the API key's holder (`local` for a client on this machine "
                                           "served without a key).")
    at: datetime = strawberry.field(description="When it was done.")
    note: Optional[str] = strawberry.field(description="Their note, if any.")
    to: Optional[str] = strawberry.field(description="ASSIGN: to whom.")
    until: Optional[datetime] = strawberry.field(description="SNOOZE: until when.")

    @staticmethod
    def from_action(action: Action) -> HandlingAction:
        return HandlingAction(kind=HandlingActionKind(action.kind), by=action.by, at=action.at, note=action.note,
                              to=action.to, until=action.until)


@strawberry.type(description="Who is handling a finding and how far they got; every action is an event of its own "
                             "stream (see docs/handling.md).")
class FindingHandling:
    state: HandlingState = strawberry.field(description="NEW until someone acts; a snooze ends by itself at its "
                                                        "`snoozedUntil`; a CLOSED finding reopens when new evidence arrives "
                                                        "while the rules still hold it.")
    assignee: Optional[str] = strawberry.field(description="Who is on it: the last assignee, else the owner of the "
                                                           "finding's first department (from the operator's settings).")
    snoozed_until: Optional[datetime] = strawberry.field(description="While SNOOZED: when it wakes.")
    version: int = strawberry.field(description="How many actions were taken; pass it as `expectedVersion` to act only "
                                                "if nobody acted meanwhile.")
    actions: list[HandlingAction] = strawberry.field(description="Every action, oldest first.")
    acknowledge_by: datetime = strawberry.field(description="The deadline to acknowledge it: detection plus the "
                                                            "time its severity allows.")
    acknowledged_at: Optional[datetime] = strawberry.field(description="When someone first took it on (acknowledged, "
                                                                       "assigned, snoozed or closed it).")
    closed_at: Optional[datetime] = strawberry.field(description="While CLOSED: when people closed it.")
    overdue: bool = strawberry.field(description="The rules hold it, nobody took it on, and its deadline passed.")
    reopened_by_evidence: bool = strawberry.field(description="People closed it, but evidence arrived since while "
                                                              "the rules still hold it: it is theirs again.")

    @staticmethod
    def from_shown(handling: ShownHandling) -> FindingHandling:
        return FindingHandling(
            state=HandlingState(handling.state), assignee=handling.assignee, snoozed_until=handling.snoozed_until,
            version=handling.version, actions=[HandlingAction.from_action(each) for each in handling.actions],
            acknowledge_by=handling.acknowledge_by, acknowledged_at=handling.acknowledged_at,
            closed_at=handling.closed_at, overdue=handling.overdue,
            reopened_by_evidence=handling.reopened_by_evidence,
        )


@strawberry.type(description="Who is on one open finding, for an agent before a call.")
class FindingOnIt:
    finding_id: strawberry.ID = strawberry.field(description="The finding.")
    rule: str = strawberry.field(description="Its rule.")
    state: HandlingState = strawberry.field(description="Its handling's state.")
    text: str = strawberry.field(description='e.g. "Billing (rep-114) is on it since 3 Dec 2026: refund under way".')
