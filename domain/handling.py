"""The handling of one finding by people: acknowledged, assigned, snoozed, commented on, closed, reopened.

One event-sourced aggregate per finding, its id derived from the finding's id (uuid5), so
no lookup finds it. Each public method checks its command and takes the clock, then calls
a private `@event` method whose body only applies the recorded facts, so a replay of the
stream gives the same state. The aggregate's version counts the actions (its creation is
version 0, recorded with the first action): clients send it back as `expectedVersion`.

The rules' own state (open or resolved) is not the handling's: a finding the rules
resolve is done whatever its handling says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.fields import NUL_REFUSED, SURROGATE_REFUSED, has_lone_surrogate

HANDLING_NAMESPACE = UUID("3f0c5b52-8d4e-5c41-9a1f-6e2d0b7c1900")
MAX_NOTE = 2000
MAX_SNOOZE = timedelta(days=365)

NEW, ACKNOWLEDGED, ASSIGNED, SNOOZED, CLOSED = "NEW", "ACKNOWLEDGED", "ASSIGNED", "SNOOZED", "CLOSED"
STATES = (NEW, ACKNOWLEDGED, ASSIGNED, SNOOZED, CLOSED)
TAKING_ON = ("ACKNOWLEDGE", "ASSIGN", "SNOOZE", "CLOSE")  # the kinds that acknowledge a finding (not a comment)


class Refused(ValueError):
    """A command the handling cannot take; `argument` names the faulty one (or `id` for the finding's state)."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}")
        self.argument = argument
        self.reason = reason


def handling_id(finding_id: str) -> UUID:
    """The aggregate id of a finding's handling: stable, derived, never looked up."""
    return uuid5(HANDLING_NAMESPACE, finding_id)


@dataclass(frozen=True)
class Action:
    """One thing a person did to a finding's handling, as the API shows it."""

    kind: str  # ACKNOWLEDGE, ASSIGN, SNOOZE, COMMENT, CLOSE, REOPEN
    by: str
    at: datetime
    note: str | None = None
    to: str | None = None  # ASSIGN: the new assignee
    until: datetime | None = None  # SNOOZE: when it wakes

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "by": self.by, "at": self.at.isoformat(), "note": self.note, "to": self.to,
                "until": self.until.isoformat() if self.until is not None else None}

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Action:
        until = stored.get("until")
        return cls(stored["kind"], stored["by"], datetime.fromisoformat(stored["at"]), stored.get("note"),
                   stored.get("to"), datetime.fromisoformat(until) if until else None)


def required_note(note: str | None) -> str:
    """The note as stored: stripped; refused when missing, blank or too long."""
    text = (note or "").strip()
    if not text:
        raise Refused("note", "is required and must not be blank")
    if len(text) > MAX_NOTE:
        raise Refused("note", f"must be at most {MAX_NOTE} characters (got {len(text)})")
    if "\x00" in text:
        raise Refused("note", NUL_REFUSED)
    if has_lone_surrogate(text):
        raise Refused("note", SURROGATE_REFUSED)
    return text


def optional_note(note: str | None) -> str | None:
    """An optional note: None when omitted; a given one must not be blank (omit it instead)."""
    if note is None:
        return None
    if not note.strip():
        raise Refused("note", "must not be blank (omit it instead)")
    return required_note(note)


class Handling(Aggregate):
    """A finding's handling. `state` is as recorded; `effective_state` says what it is at a given instant."""

    INITIAL_VERSION = 0
    TOPIC = "cx360/handling/v1"

    class Created(Aggregate.Created):
        TOPIC = "cx360/handling/created/v1"
        finding_id: str
        account_id: str

    def __init__(self, finding_id: str, account_id: str) -> None:
        self.finding_id = finding_id
        self.account_id = account_id
        self.state = NEW
        self.assignee: str | None = None
        self.snoozed_until: datetime | None = None
        self.actions: list[Action] = []
        self.acknowledged_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.evidence_seen: int | None = None  # at the last close: the finding's latest evidence position

    @staticmethod
    def create_id(finding_id: str, account_id: str) -> UUID:
        return handling_id(finding_id)

    # --- commands: check, take the clock, record ------------------------------------------------

    def acknowledge(self, by: str, at: datetime, note: str | None = None) -> None:
        self.refuse_when_closed("acknowledge")
        if self.effective_state(at) != NEW:
            raise Refused("id", f"this finding was already acknowledged ({self.effective_state(at)})")
        self._acknowledged(by=by, at=at, note=optional_note(note))

    def assign(self, to: str, by: str, at: datetime, note: str | None = None) -> None:
        self.refuse_when_closed("assign")
        if self.assignee == to and self.effective_state(at) == ASSIGNED:
            raise Refused("to", f"the finding is already assigned to {to}")
        self._assigned(to=to, by=by, at=at, note=optional_note(note))

    def snooze(self, until: datetime, by: str, at: datetime, note: str | None = None) -> None:
        self.refuse_when_closed("snooze")
        if until <= at:
            raise Refused("until", f"{until.isoformat()} is not in the future")
        if until > at + MAX_SNOOZE:
            raise Refused("until", f"a finding is snoozed for at most a year (until {(at + MAX_SNOOZE).date()} now)")
        self._snoozed(until=until, by=by, at=at, note=optional_note(note))

    def comment(self, note: str, by: str, at: datetime) -> None:
        self._commented(by=by, at=at, note=required_note(note))

    def close(self, note: str, by: str, at: datetime, evidence_seen: int | None = None) -> None:
        checked = required_note(note)
        self.refuse_when_closed("close")
        self._closed(by=by, at=at, note=checked, evidence_seen=evidence_seen)

    def reopen(self, note: str, by: str, at: datetime) -> None:
        checked = required_note(note)
        if self.state != CLOSED:
            raise Refused("id", f"only a closed finding can be reopened (this one is {self.state})")
        self._reopened(by=by, at=at, note=checked)

    def refuse_when_closed(self, verb: str) -> None:
        if self.state == CLOSED:
            closed = self.closed_at.isoformat() if self.closed_at is not None else "before"
            raise Refused("id", f"the finding was closed at {closed}: reopen it to {verb} it")

    # --- events: apply what was recorded ---------------------------------------------------------

    @event("Acknowledged", topic="cx360/handling/acknowledged/v1")
    def _acknowledged(self, by: str, at: datetime, note: str | None) -> None:
        self.state = ACKNOWLEDGED
        self.took_action(Action("ACKNOWLEDGE", by, at, note))

    @event("Assigned", topic="cx360/handling/assigned/v1")
    def _assigned(self, to: str, by: str, at: datetime, note: str | None) -> None:
        self.state, self.assignee, self.snoozed_until = ASSIGNED, to, None
        self.took_action(Action("ASSIGN", by, at, note, to=to))

    @event("Snoozed", topic="cx360/handling/snoozed/v1")
    def _snoozed(self, until: datetime, by: str, at: datetime, note: str | None) -> None:
        self.state, self.snoozed_until = SNOOZED, until
        self.took_action(Action("SNOOZE", by, at, note, until=until))

    @event("Commented", topic="cx360/handling/commented/v1")
    def _commented(self, by: str, at: datetime, note: str) -> None:
        self.took_action(Action("COMMENT", by, at, note))

    @event("Closed", topic="cx360/handling/closed/v1")
    def _closed(self, by: str, at: datetime, note: str, evidence_seen: int | None) -> None:
        self.state, self.snoozed_until, self.closed_at, self.evidence_seen = CLOSED, None, at, evidence_seen
        self.took_action(Action("CLOSE", by, at, note))

    @event("Reopened", topic="cx360/handling/reopened/v1")
    def _reopened(self, by: str, at: datetime, note: str) -> None:
        self.state, self.closed_at, self.evidence_seen = self.taken_on_state(), None, None
        self.took_action(Action("REOPEN", by, at, note))

    def took_action(self, action: Action) -> None:
        self.actions.append(action)
        if self.acknowledged_at is None and action.kind in TAKING_ON:
            self.acknowledged_at = action.at

    # --- reading -----------------------------------------------------------------------------------

    def taken_on_state(self) -> str:
        """The state of a finding someone took on and that is not snoozed nor closed."""
        return ASSIGNED if self.assignee is not None else ACKNOWLEDGED

    def effective_state(self, at: datetime) -> str:
        """The state at `at`: a snooze that has run out is back to the state it interrupted."""
        return effective_state(self.state, self.assignee, self.snoozed_until, at)


def effective_state(state: str, assignee: str | None, snoozed_until: datetime | None, at: datetime) -> str:
    """A recorded state as it stands at `at` (a snooze ends by itself at its `until`)."""
    if state == SNOOZED and snoozed_until is not None and snoozed_until <= at:
        return ASSIGNED if assignee is not None else ACKNOWLEDGED
    return state
