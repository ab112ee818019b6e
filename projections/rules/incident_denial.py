"""`incident-denial`: product says an incident has no impact while the account files tickets (HIGH, product and support).

Each `product.status.published` with impact `none` for incident X at time s is judged
on its own: its window runs from the earliest `product.incident.started` for X (else
from s - 24 hours) to s + 24 hours, both ends included, and it is a denial when the
account opened 2 or more tickets (`support.ticket.opened`) in that window. The denial
became true at the later of s and the 2nd ticket's opening.

The finding closes at the first `product.incident.resolved` for X. A denial that would
become true at or after that resolution never held: it is neither a finding of its
own nor evidence of one. Key: the incident. The denials that held make one finding,
detected at the earliest of them; its evidence is their statements, each with the
tickets of its own window. With no denial that held there is no finding at all.

As a fold (`Denials`), per incident still active: its earliest start, its first
resolution, the statements whose window may still gain or lose tickets, and the
denials whose window is over (settled: fixed but for the one event that can still
change them, a first start of the incident, which empties their windows). Tickets are
kept only from the earliest instant a window can still reach: 24 hours
(`lookback_hours`) before the latest fact (a statement to come), the start of an
incident not yet resolved (its statements to come count from it), the start of each
window still open. Once an incident is resolved and none of its windows is open, its
id alone is kept (its later statements never hold): its finding, if it has one, is
final (`take_final` gives it up) once the incident has started, and is kept until a
first start if not, since that start empties its windows whenever it comes. So a step
costs the tickets in reach and the incidents still active; what grows with the
account's age is the ids of its resolved incidents, the findings of those resolved but
never started, and the tickets since the start of an incident never resolved (all of
them are evidence of a statement of no impact that may still come).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.fold import Fold
from projections.history import Timeline
from projections.rules.rule import Rule
from projections.state_codec import state

ID = "incident-denial"


@dataclass(frozen=True)
class Thresholds:
    lookback_hours: int = 24
    after_hours: int = 24
    min_tickets: int = 2


@state(version=1)
@dataclass
class Denial:
    statement: Fact
    detected_at: datetime
    tickets: list[Fact]


def incident_of(fact: Fact) -> str:
    return str(fact.data["incidentId"])


def judged(timeline: Timeline, statement: Fact, thresholds: Thresholds) -> Denial | None:
    """The statement as a denial, if enough tickets were opened in its window."""
    started = [fact for fact in timeline.of("product.incident.started") if incident_of(fact) == incident_of(statement)]
    start = started[0].occurred_at if started else statement.occurred_at - timedelta(hours=thresholds.lookback_hours)
    end = statement.occurred_at + timedelta(hours=thresholds.after_hours)
    tickets = [fact for fact in timeline.of("support.ticket.opened") if start <= fact.occurred_at <= end]
    if len(tickets) < thresholds.min_tickets:
        return None
    counted = tickets[: thresholds.min_tickets]
    return Denial(statement, max([statement.occurred_at, *(ticket.occurred_at for ticket in counted)]), tickets)


def statements_of(timeline: Timeline) -> dict[str, list[Fact]]:
    """The statements of no impact, by incident, in `occurredAt` order."""
    statements: dict[str, list[Fact]] = {}
    for fact in timeline.of("product.status.published"):
        if fact.data.get("impact") == "none":
            statements.setdefault(incident_of(fact), []).append(fact)
    return statements


def resolution_of(timeline: Timeline, incident: str) -> datetime | None:
    """When the incident was first resolved, if it has been."""
    resolutions = timeline.of("product.incident.resolved")
    return next((fact.occurred_at for fact in resolutions if incident_of(fact) == incident), None)


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for incident, said in statements_of(timeline).items():
        resolved = resolution_of(timeline, incident)
        denials = [denial for statement in said
                   if (denial := judged(timeline, statement, thresholds)) and held(denial.detected_at, resolved)]
        if denials:
            denials.sort(key=lambda denial: (denial.detected_at, denial.statement.order))
            yield finding_of(timeline.account_id, incident, denials, moment.resolved_at(resolved))


@state(version=1)
@dataclass(slots=True)
class Incident:
    """One incident as the fold keeps it."""

    started: datetime | None = None  # its earliest `product.incident.started`
    resolved: datetime | None = None  # its first `product.incident.resolved`
    statements: list[Fact] = field(default_factory=list)  # no-impact statements whose window is open
    denials: list[Denial] = field(default_factory=list)  # statements whose window is over, that held


@state(version=1)
@dataclass(slots=True)
class Denials:
    """The incidents that can still change, the final findings of those that cannot, and the tickets still in reach."""

    account_id: str
    tickets: list[Fact] = field(default_factory=list)  # opened at or after the earliest instant a window reaches
    active: dict[str, Incident] = field(default_factory=dict)  # unresolved, or with a window still open
    final: dict[str, Incident] = field(default_factory=dict)  # resolved, every window over, with a finding, not started
    over: set[str] = field(default_factory=set)  # resolved, every window over, no finding or given up as final


def start(account_id: str, thresholds: Thresholds) -> Denials:
    return Denials(account_id)


def window_of(statement: Fact, started: datetime | None, thresholds: Thresholds) -> tuple[datetime, datetime]:
    said = statement.occurred_at
    return (started if started is not None else said - timedelta(hours=thresholds.lookback_hours),
            said + timedelta(hours=thresholds.after_hours))


def denial_at(statement: Fact, incident: Incident, tickets: list[Fact], thresholds: Thresholds) -> Denial | None:
    """The statement as a denial that held, from the tickets kept (`judged` and `held`, from the state)."""
    first, last = window_of(statement, incident.started, thresholds)
    inside = [ticket for ticket in tickets if first <= ticket.occurred_at <= last]
    if len(inside) < thresholds.min_tickets:
        return None
    counted = inside[: thresholds.min_tickets]
    denial = Denial(statement, max([statement.occurred_at, *(ticket.occurred_at for ticket in counted)]), inside)
    return denial if held(denial.detected_at, incident.resolved) else None


def step(denials: Denials, fact: Fact, thresholds: Thresholds) -> Denials:
    """Settle the windows the fact's instant has passed, take the fact, and forget what no window reaches."""
    settle(denials, fact.occurred_at, thresholds)
    if fact.type == "support.ticket.opened":
        denials.tickets.append(fact)
    else:
        take(denials, fact, thresholds)
    forget(denials, fact.occurred_at, thresholds)
    return denials


def take(denials: Denials, fact: Fact, thresholds: Thresholds) -> None:
    """An incident's start, resolution or statement of no impact (other statements change nothing)."""
    incident_id = incident_of(fact)
    if incident_id in denials.over or (fact.type == "product.status.published" and fact.data.get("impact") != "none"):
        return  # an incident resolved with no finding: its later statements never hold, nothing else changes
    incident = denials.final.get(incident_id) or denials.active.setdefault(incident_id, Incident())
    if fact.type == "product.incident.started" and incident.started is None:
        incident.started = fact.occurred_at
        # The settled windows now run from this start, after their end: they hold no ticket.
        incident.denials = [denial for each in incident.denials
                            if (denial := denial_at(each.statement, incident, [], thresholds))]
        if incident_id in denials.final and not incident.denials:
            del denials.final[incident_id]
            denials.over.add(incident_id)
    elif fact.type == "product.incident.resolved" and incident.resolved is None:
        incident.resolved = fact.occurred_at
    elif fact.type == "product.status.published" and incident.resolved is None:
        incident.statements.append(fact)


def settle(denials: Denials, now: datetime, thresholds: Thresholds) -> None:
    """Statements whose window ended before `now` become denials (or are dropped); resolved incidents close."""
    after = timedelta(hours=thresholds.after_hours)
    for incident_id, incident in list(denials.active.items()):
        ended = [each for each in incident.statements if each.occurred_at + after < now]
        if ended:
            incident.statements = [each for each in incident.statements if each.occurred_at + after >= now]
            incident.denials.extend(denial for each in ended
                                    if (denial := denial_at(each, incident, denials.tickets, thresholds)))
        if incident.resolved is not None and not incident.statements:
            del denials.active[incident_id]
            if incident.denials:
                denials.final[incident_id] = incident
            else:
                denials.over.add(incident_id)


def forget(denials: Denials, now: datetime, thresholds: Thresholds) -> None:
    """Drop the tickets before every window that is open or may still open."""
    reach = [now - timedelta(hours=thresholds.lookback_hours)]
    for incident in denials.active.values():
        if incident.resolved is None and incident.started is not None:
            reach.append(incident.started)
        reach.extend(window_of(each, incident.started, thresholds)[0] for each in incident.statements)
    del denials.tickets[:bisect_left(denials.tickets, min(reach), key=lambda each: each.occurred_at)]


def read(denials: Denials, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    for incident_id, incident in [*denials.final.items(), *denials.active.items()]:
        found = finding_at(denials, incident_id, incident, moment, thresholds)
        if found is not None:
            yield found


def finding_at(denials: Denials, incident_id: str, incident: Incident, moment: Moment,
               thresholds: Thresholds) -> Finding | None:
    held_ones = [denial for denial in incident.denials if held(denial.detected_at, incident.resolved)]
    held_ones.extend(denial for each in incident.statements
                     if (denial := denial_at(each, incident, denials.tickets, thresholds)))
    if not held_ones:
        return None
    held_ones.sort(key=lambda denial: (denial.detected_at, denial.statement.order))
    return finding_of(denials.account_id, incident_id, held_ones, moment.resolved_at(incident.resolved))


def take_final(denials: Denials, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The findings of the incidents resolved, every window over, and started: no later fact can change them."""
    moment = Moment(now)
    started = [incident_id for incident_id, incident in denials.final.items() if incident.started is not None]
    denials.over.update(started)
    found = (finding_at(denials, incident_id, denials.final.pop(incident_id), moment, thresholds)
             for incident_id in started)
    return [each for each in found if each is not None]


def finding_of(account_id: str, incident: str, denials: list[Denial], resolved_at: datetime | None) -> Finding:
    first = denials[0]
    statements = [denial.statement for denial in denials]
    opened = sorted({ticket.order: ticket for denial in denials for ticket in denial.tickets}.values(),
                    key=lambda ticket: ticket.order)
    again = len(statements) - 1
    repeated = f" (and said so {again} more time{'s' if again > 1 else ''})" if again else ""
    ids = f" ({', '.join(str(ticket.data['ticketId']) for ticket in opened)})" if opened else ""
    summary = (
        f"Product stated on {day(first.statement.occurred_at)} that incident {incident} had no impact{repeated}, "
        f"yet this account opened {len(opened)} support ticket{'s' if len(opened) != 1 else ''} during it{ids}."
    )
    return finding(
        account_id,
        ID,
        incident,
        severity="HIGH",
        departments=("product", "support"),
        evidence=[*statements, *opened],
        detected_at=first.detected_at,
        resolved_at=resolved_at,
        summary=summary,
    )


FOLD = Fold(frozenset({"product.status.published", "product.incident.started", "product.incident.resolved",
                       "support.ticket.opened"}), start, step, read, take_final)
RULE = Rule(ID, Thresholds(), detect, FOLD)
