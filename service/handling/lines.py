"""Who is on a finding, in one line a support agent can read before a call.

"Billing (rep-114) is on it since 3 Dec 2026: refund under way". The department is the
one the person owns (in the operator's settings), else the one whoever assigned it to
them owns (the billing lead gave it to rep-114); the note is the latest anyone left.
"""

from __future__ import annotations

from domain.handling import ACKNOWLEDGED, ASSIGNED, CLOSED, SNOOZED, TAKING_ON
from domain.handling_policy import HandlingPolicy
from projections.findings import day
from service.handling.shown import ShownHandling


def who(person: str, policy: HandlingPolicy, assigner: str | None = None) -> str:
    """A person with their department: "Billing (rep-114)", else the person alone."""
    owned = [department for department, owner in policy.owners.items() if owner in (person, assigner)]
    mine = [department for department in owned if policy.owners[department] == person]
    chosen = (mine or owned)[:1]
    return f"{chosen[0].title()} ({person})" if chosen else person


def on_it(handling: ShownHandling, policy: HandlingPolicy) -> str:
    """The line for an open finding, by its handling's state."""
    note = next((action.note for action in reversed(handling.actions) if action.note), None)
    tail = f": {note}" if note else ""
    taker = next((action.by for action in handling.actions if action.kind in TAKING_ON), None)
    assigner = next((action.by for action in reversed(handling.actions) if action.kind == "ASSIGN"), None)
    person = handling.assignee if handling.state == ASSIGNED or taker is None else taker
    if handling.state in (ACKNOWLEDGED, ASSIGNED) and handling.acknowledged_at is not None and person is not None:
        return f"{who(person, policy, assigner)} is on it since {day(handling.acknowledged_at)}{tail}"
    if handling.state == SNOOZED and handling.snoozed_until is not None and taker is not None:
        return f"{who(taker, policy)} put it aside until {day(handling.snoozed_until)}{tail}"
    if handling.state == CLOSED and handling.closed_at is not None:
        closer = next(action.by for action in reversed(handling.actions) if action.kind == "CLOSE")
        return f"{who(closer, policy)} closed it on {day(handling.closed_at)}, though the rules still hold it{tail}"
    owner = f"; {who(handling.assignee, policy)} owns it" if handling.assignee else ""
    late = "overdue since" if handling.overdue else "to acknowledge by"
    return f"Nobody is on it yet{owner}, {late} {day(handling.acknowledge_by)}{tail}"
