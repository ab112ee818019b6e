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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.history import Timeline
from projections.rules.rule import Rule

ID = "incident-denial"


@dataclass(frozen=True)
class Thresholds:
    lookback_hours: int = 24
    after_hours: int = 24
    min_tickets: int = 2


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


RULE = Rule(ID, Thresholds(), detect)
