"""Acting on a finding's handling: load its aggregate, check the expected version, apply, save.

Synchronous (the store library's PostgreSQL module is): async callers use a worker thread.
A refused command (`domain.handling.Refused`) and a version conflict store nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from eventsourcing.persistence import IntegrityError

from domain.handling import Handling, handling_id
from service.store.handling_store import HandlingRow, HandlingStore

KINDS = ("acknowledge", "assign", "snooze", "comment", "close", "reopen")


class VersionConflict(Exception):
    """The handling is not at the version the caller expected: someone else acted first."""

    def __init__(self, current: int, expected: int) -> None:
        super().__init__(f"the finding's handling is at version {current}, not {expected}: someone acted on it "
                         f"meanwhile; read it again and retry with expectedVersion {current}")
        self.current = current


@dataclass(frozen=True)
class Command:
    kind: str  # one of KINDS
    note: str | None = None
    to: str | None = None  # assign
    until: datetime | None = None  # snooze


@dataclass(frozen=True)
class Target:
    """The finding acted on, as the findings view has it."""

    finding_id: str
    account_id: str
    evidence_seen: int | None  # its latest evidence position: a close remembers it, later evidence reopens


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Handlings:
    def __init__(self, store: HandlingStore, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock

    def act(self, target: Target, actor: str, command: Command, expected_version: int | None) -> HandlingRow:
        """Apply the command for `actor`; the handling's row after it."""
        handling = self.load(target)
        if expected_version is not None and expected_version != handling.version:
            raise VersionConflict(handling.version, expected_version)
        version = handling.version
        apply(handling, command, actor, self.clock(), target.evidence_seen)
        try:
            self.store.save_handling(handling)
        except IntegrityError:  # another actor appended this version first
            stored = self.store.handling(handling.id)
            raise VersionConflict(stored.version if stored is not None else 0, version) from None
        return HandlingRow.of(handling)

    def load(self, target: Target) -> Handling:
        """The finding's handling, or a new one (version 0) if nobody acted on it yet."""
        stored = self.store.handling(handling_id(target.finding_id))
        return stored if stored is not None else Handling(finding_id=target.finding_id, account_id=target.account_id)


def apply(handling: Handling, command: Command, actor: str, at: datetime, evidence_seen: int | None) -> None:
    kind, note = command.kind, command.note
    if kind == "acknowledge":
        handling.acknowledge(actor, at, note)
    elif kind == "assign":
        assert command.to is not None, "an assign command names its assignee"
        handling.assign(command.to, actor, at, note)
    elif kind == "snooze":
        assert command.until is not None, "a snooze command says until when"
        handling.snooze(command.until, actor, at, note)
    elif kind == "comment":
        handling.comment(note or "", actor, at)
    elif kind == "close":
        handling.close(note or "", actor, at, evidence_seen)
    elif kind == "reopen":
        handling.reopen(note or "", actor, at)
    else:
        raise ValueError(f"unknown handling command {kind!r}")
