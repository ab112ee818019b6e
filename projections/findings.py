"""Findings: what the rules report, and the moment they are judged at."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from uuid import UUID, uuid5

from domain.catalogue import DEPARTMENTS
from projections.facts import ORDER, Fact

FINDING_NAMESPACE = UUID("6f1c2a57-3c1e-4e0f-9a52-5b0c6d7e8f90")

SEVERITIES = ("LOW", "MEDIUM", "HIGH")  # in rising order
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES, 1)}


@dataclass(frozen=True)
class Finding:
    """One contradiction between departments on one account (`rules.md`, Findings)."""

    id: str
    account_id: str
    rule: str
    key: str
    severity: str
    departments: tuple[str, ...]
    evidence: tuple[Fact, ...]
    detected_at: datetime
    resolved_at: datetime | None
    summary: str

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@lru_cache(maxsize=16_384)  # the findings of the accounts read lately; ~4 MB when full
def finding_id(account_id: str, rule: str, key: str) -> str:
    """Stable across rebuilds: the same account, rule and key always give the same id."""
    return str(uuid5(FINDING_NAMESPACE, f"{account_id}\x1f{rule}\x1f{key}"))


Inputs = tuple[str, tuple[str, ...], tuple[Fact, ...], datetime, datetime | None, str]  # all but account, rule, key
Reused = dict[str, tuple[Inputs, Finding]]  # a rule's findings of one read, by key, with what they were built from

_reusing: ContextVar[tuple[Reused, Reused] | None] = ContextVar("findings to reuse", default=None)


@contextmanager
def reusing(before: Reused) -> Iterator[Reused]:
    """While reading a rule again, `finding` gives back the finding of its read before (`before`) when built
    from equal inputs, instead of building it anew; the findings of this read go into the mapping yielded, for
    the next.

    A read builds every finding of the rule, and most are what they were: between two events of
    an account, one ticket or campaign changes, not all of them. Ordering and deduplicating
    the evidence was most of a read's cost. The inputs are compared by value (facts that are
    the same objects compare at once), so a finding given back is the one `finding` builds.
    """
    after: Reused = {}
    token = _reusing.set((before, after))
    try:
        yield after
    finally:
        _reusing.reset(token)


def finding(
    account_id: str,
    rule: str,
    key: str,
    *,
    severity: str,
    departments: Iterable[str],
    evidence: Iterable[Fact],
    detected_at: datetime,
    resolved_at: datetime | None,
    summary: str,
) -> Finding:
    """A finding with its id derived from (account, rule, key), departments and evidence in order."""
    inputs: Inputs = (severity, tuple(departments), tuple(evidence), detected_at, resolved_at, summary)
    memo = _reusing.get()
    if memo is not None:
        known = memo[0].get(key)
        if known is not None and known[0] == inputs and known[1].account_id == account_id and known[1].rule == rule:
            memo[1][key] = known
            return known[1]
    evidence = tuple(sorted({fact.position: fact for fact in inputs[2]}.values(), key=ORDER))
    built = Finding(
        id=finding_id(account_id, rule, key),
        account_id=account_id,
        rule=rule,
        key=key,
        severity=severity,
        departments=tuple(sorted(set(inputs[1]), key=DEPARTMENTS.index)),
        evidence=inputs[2] if evidence == inputs[2] else evidence,  # held once by the memo, when given in order
        detected_at=detected_at,
        resolved_at=resolved_at,
        summary=summary,
    )
    if memo is not None:
        memo[1][key] = (inputs, built)
    return built


def held(detected_at: datetime, closes_at: datetime | None) -> bool:
    """Whether a finding was ever true: not if its closing came at or before the moment it would become true.

    Such a finding never held (`rules.md`, rule 9): it is not reported at all, neither
    open nor already resolved, so it is absent as of every instant. A closing at the
    same instant counts as first: simultaneous events have no order, and reading them
    the other way would report a contradiction that may never have existed.
    """
    return closes_at is None or closes_at > detected_at


class Moment:
    """The time a rule judges at, which also notes the next deadline still to come.

    Rules ask `reached(deadline)` instead of comparing with the clock themselves; every
    deadline not yet reached is remembered, so the runner knows when the findings may
    change with no new event (a detractor left alone for 7 days, a plan running out).
    """

    def __init__(self, instant: datetime) -> None:
        self.instant = instant
        self.next_change: datetime | None = None

    def reached(self, deadline: datetime) -> bool:
        if deadline <= self.instant:
            return True
        self.expect(deadline)
        return False

    def expect(self, moment: datetime) -> None:
        """Note a moment after now at which the findings may change."""
        if moment > self.instant and (self.next_change is None or moment < self.next_change):
            self.next_change = moment

    def resolved_at(self, end: datetime | None) -> datetime | None:
        """`end` if it has come, else None (the finding is still open at this moment)."""
        return end if end is not None and self.reached(end) else None


@lru_cache(maxsize=8_192)
def article(word: str) -> str:
    """`a` or `an`, as the word is read: "an upsell outreach", "a renewal opportunity"."""
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(instant: datetime) -> str:
    """A date as a support agent reads it aloud: `2 Mar 2026` (UTC).

    Cached by the date: explanations name the same few days at every read of an account,
    while live events' instants are all different (cached by instant, nearly every call
    formatted its date again).
    """
    utc = instant.astimezone(timezone.utc)
    return day_words(utc.year, utc.month, utc.day)


@lru_cache(maxsize=4_096)
def day_words(year: int, month: int, date: int) -> str:
    return f"{date} {MONTHS[month - 1]} {year}"


def money(amount: object, currency: str) -> str:
    return f"{amount} {currency}"
