"""Who is on a finding, in one line a support agent can read before a call.

"Billing (rep-114) is on it since 3 Dec 2026: refund under way". The department is the
one the person owns (in the operator's settings), else the one whoever assigned it to
them owns (the billing lead gave it to rep-114). The person is who holds it now (the
assignee, the one who snoozed it, the one who acknowledged or reopened it), since the
action that gave it to them; the note is the latest anyone left (after a close that new
evidence undid, the latest since that close).
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.handling import ACKNOWLEDGED, ASSIGNED, CLOSED, SNOOZED, Action
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
    """The line for an open finding, by its handling's state: the person who holds it now, since when."""
    actions = handling.actions
    note = next((action.note for action in reversed(actions) if action.note), None)
    if handling.reopened_by_evidence:  # the close note no longer holds: say what undid it
        closing = max((index for index, action in enumerate(actions) if action.kind == "CLOSE"), default=-1)
        closed = actions[closing] if closing >= 0 else None
        note = next((action.note for action in reversed(actions[closing + 1:]) if action.note), None)
        if note is None and closed is not None:
            note = f"new evidence came after {who(closed.by, policy)} closed it on {day(closed.at)}"
    tail = f": {note}" if note else ""
    if handling.state == ASSIGNED and handling.assignee is not None:
        assigned = last(actions, "ASSIGN", "REOPEN")
        assigner = last(actions, "ASSIGN")
        if assigned is not None:
            person = who(handling.assignee, policy, assigner.by if assigner is not None else None)
            return f"{person} is on it since {day(assigned.at)}{tail}"
    if handling.state == ACKNOWLEDGED:
        taken = last(actions, "ACKNOWLEDGE", "SNOOZE", "REOPEN") or last(actions, "CLOSE")
        if taken is not None:
            return f"{who(taken.by, policy)} is on it since {day(taken.at)}{tail}"
    snoozed = last(actions, "SNOOZE")
    if handling.state == SNOOZED and handling.snoozed_until is not None and snoozed is not None:
        return f"{who(snoozed.by, policy)} put it aside until {day(handling.snoozed_until)}{tail}"
    closed = last(actions, "CLOSE")
    if handling.state == CLOSED and handling.closed_at is not None and closed is not None:
        return f"{who(closed.by, policy)} closed it on {day(handling.closed_at)}, though the rules still hold it{tail}"
    owner = f"; {who(handling.assignee, policy)} owns it" if handling.assignee else ""
    late = "overdue since" if handling.overdue else "to acknowledge by"
    return f"Nobody is on it yet{owner}, {late} {day(handling.acknowledge_by)}{tail}"


def last(actions: Sequence[Action], *kinds: str) -> Action | None:
    """The latest action of one of `kinds`."""
    return next((action for action in reversed(actions) if action.kind in kinds), None)
