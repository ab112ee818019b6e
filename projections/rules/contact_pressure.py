"""`contact-pressure`: more than 6 outbound touches within 7 days from 2 or more departments (MEDIUM).

An outbound touch is `marketing.campaign.sent`, `sales.outreach.sent`,
`support.contact.made` or `billing.dunning.sent`. The rolling count at an instant t is
the number of touches with `occurredAt` in [t - 7 days, t], both ends included. A burst
is a maximal stretch during which that count exceeds 6; it is true from the first touch
within it at which the window holds more than 6 touches from at least 2 departments (a
burst that never does gives no finding). Key: the burst's first touch, the earliest
touch in the window when the count first exceeds 6. The count falls back to 6 or fewer
at the first instant after the 7th latest touch leaves the window, so the finding closes
at that touch's `occurredAt` + 7 days + 1 microsecond. Departments: every department with
a touch in it.

Evidence (this project's choice over the spec's "every touch in the burst",
`docs/rules.md`): the burst's first `evidence_first` touches and its latest
`evidence_latest` (20 and 80), which is every touch of a burst of up to 100; the summary
counts them all. An account sent more than 6 touches every week never leaves its burst:
with every touch as evidence its one finding would grow without end, and with it the
state and the cost of reading and writing the finding at each new touch.

As a fold (`Pressure`), the state keeps the touches of the last 7 days (the rolling
window at the latest touch) and the current burst's evidence, count, departments and
latest instant. A touch after the current burst's end starts afresh: that burst can no
longer change, so its finding is final (`take_final` gives it up) if it was detected,
and it is dropped if it never reached 2 departments. Nothing else is kept, so a step
costs at most one window's touches whatever the account's age.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.catalogue import DEPARTMENTS, OUTBOUND_TOUCHES
from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.capped_evidence import first_and_latest
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "contact-pressure"


AFTER = timedelta(microseconds=1)  # the first instant after a moment


@dataclass(frozen=True)
class Thresholds:
    max_touches: int = 6
    window_days: int = 7
    min_departments: int = 2
    evidence_first: int = 20  # the burst's first touches kept as evidence (its first one always)
    evidence_latest: int = 80  # and its latest


@dataclass
class Burst:
    first: int  # index of the burst's first touch
    end: datetime  # the last instant at which the count still exceeds the maximum
    detected_at: datetime | None = None


def bursts_of(touches: list[Fact], thresholds: Thresholds) -> list[Burst]:
    """Every burst, judged at each touch: the count only rises when a touch happens."""
    times = [touch.occurred_at for touch in touches]
    window = timedelta(days=thresholds.window_days)
    bursts: list[Burst] = []
    for now in times:
        low, high = bisect_left(times, now - window), bisect_right(times, now)
        if high - low <= thresholds.max_touches:
            continue
        end = times[high - 1 - thresholds.max_touches] + window
        if not bursts or now > bursts[-1].end:
            bursts.append(Burst(low, end))
        burst = bursts[-1]
        burst.end = max(burst.end, end)
        departments = {touch.department for touch in touches[low:high]}
        if burst.detected_at is None and len(departments) >= thresholds.min_departments:
            burst.detected_at = now
    return bursts


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    touches = timeline.of(*OUTBOUND_TOUCHES)
    times = [touch.occurred_at for touch in touches]
    for burst in bursts_of(touches, thresholds):
        if burst.detected_at is not None:
            inside = touches[burst.first:bisect_right(times, burst.end)]
            resolved_at = moment.resolved_at(burst.end + AFTER)
            evidence = first_and_latest(inside, thresholds.evidence_first, thresholds.evidence_latest)
            yield finding_of(timeline.account_id, evidence, len(inside), {touch.department for touch in inside},
                             inside[-1].occurred_at, burst.detected_at, resolved_at, thresholds)


@state(version=2)
@dataclass(slots=True)
class Pressed:
    """A burst as the fold keeps it: its evidence (first and latest touches), how many touches it has and
    from which departments, its end so far, and its detection."""

    end: datetime  # the last instant at which the count still exceeds the maximum
    first: list[Fact] = field(default_factory=list)
    latest: list[Fact] = field(default_factory=list)  # the latest touches after `first`
    count: int = 0
    departments: set[str] = field(default_factory=set)
    last_at: datetime | None = None
    detected_at: datetime | None = None

    def take(self, touch: Fact, thresholds: Thresholds) -> None:
        self.count += 1
        self.departments.add(touch.department)
        self.last_at = touch.occurred_at
        if len(self.first) < max(1, thresholds.evidence_first):
            self.first.append(touch)
            return
        self.latest.append(touch)
        if len(self.latest) > thresholds.evidence_latest:
            del self.latest[0]

    def finding(self, account_id: str, resolved_at: datetime | None, thresholds: Thresholds) -> Finding:
        assert self.detected_at is not None and self.last_at is not None
        return finding_of(account_id, self.first + self.latest, self.count, self.departments, self.last_at,
                          self.detected_at, resolved_at, thresholds)


@state(version=2)
@dataclass(slots=True)
class Pressure:
    """The touches still in the rolling window (and how many of each department: a touch's step then costs the
    same however many the window holds), the burst that may still grow, and the detected bursts just over."""

    account_id: str
    recent: list[Fact] = field(default_factory=list)  # touches in [latest - window, latest]
    departments: dict[str, int] = field(default_factory=dict)  # department -> its touches in `recent`, if any
    burst: Pressed | None = None  # the latest burst, while a touch may still join it
    over: list[Pressed] = field(default_factory=list)  # detected bursts that ended, until `take_final` takes them


def start(account_id: str, thresholds: Thresholds) -> Pressure:
    return Pressure(account_id)


def step(pressure: Pressure, touch: Fact, thresholds: Thresholds) -> Pressure:
    """The touch enters the window (older ones leave it), joins the burst, and may start, extend or detect one."""
    now, window = touch.occurred_at, timedelta(days=thresholds.window_days)
    left = bisect_left(pressure.recent, now - window, key=lambda each: each.occurred_at)
    for each in pressure.recent[:left]:
        department = each.department
        if pressure.departments[department] == 1:
            del pressure.departments[department]
        else:
            pressure.departments[department] -= 1
    del pressure.recent[:left]
    pressure.recent.append(touch)
    pressure.departments[touch.department] = pressure.departments.get(touch.department, 0) + 1
    burst = pressure.burst
    if burst is not None and now > burst.end:
        if burst.detected_at is not None:
            pressure.over.append(burst)
        burst = pressure.burst = None
    if burst is not None:
        burst.take(touch, thresholds)
    if len(pressure.recent) <= thresholds.max_touches:
        return pressure
    end = pressure.recent[-1 - thresholds.max_touches].occurred_at + window
    if burst is None:
        burst = pressure.burst = Pressed(end)
        for each in pressure.recent:
            burst.take(each, thresholds)
    burst.end = max(burst.end, end)
    if burst.detected_at is None and len(pressure.departments) >= thresholds.min_departments:
        burst.detected_at = now
    return pressure


def read(pressure: Pressure, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for burst in [*pressure.over, *([pressure.burst] if pressure.burst is not None else [])]:
        if burst.detected_at is not None:
            yield burst.finding(pressure.account_id, moment.resolved_at(burst.end + AFTER), thresholds)


def take_final(pressure: Pressure, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings of the bursts over: a touch after a burst's end can join no burst but a new one."""
    moment = Moment(now)
    final = [burst.finding(pressure.account_id, moment.resolved_at(burst.end + AFTER), thresholds)
             for burst in pressure.over if burst.detected_at is not None]
    pressure.over.clear()
    return final


def departments_words(departments: set[str]) -> str:
    """`Marketing, sales and billing`: the departments, in the usual order."""
    names = sorted(departments, key=DEPARTMENTS.index)
    words = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return words[0].upper() + words[1:]


def finding_of(account_id: str, evidence: list[Fact], count: int, departments: set[str], last_at: datetime,
               detected_at: datetime, resolved_at: datetime | None, thresholds: Thresholds) -> Finding:
    """`evidence`: the burst's first and latest touches; `count`, `departments`, `last_at`: of all its touches."""
    first = evidence[0]
    summary = (
        f"{departments_words(departments)} sent the account {count} outbound touches between "
        f"{day(first.occurred_at)} and {day(last_at)}, more than {thresholds.max_touches} "
        f"within {thresholds.window_days} days"
    )
    if count > len(evidence):
        summary += f" (the evidence shows {len(evidence)} of them: the first and the latest)"
    return finding(
        account_id,
        ID,
        f"{first.source}/{first.event_id}",
        severity="MEDIUM",
        departments=departments,
        evidence=evidence,
        detected_at=detected_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


FOLD = Fold(frozenset(OUTBOUND_TOUCHES), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
