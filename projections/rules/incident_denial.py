"""`incident-denial`: product says an incident has no impact while the account files tickets (HIGH, product and support).

Each `product.status.published` with impact `none` for incident X at time s is judged
on its own: its window runs from the earliest `product.incident.started` for X (else
from s - 24 hours) to s + 24 hours, both ends included, and it fires when the account
opened 2 or more tickets (`support.ticket.opened`) in that window. It became true at
the later of s and the 2nd ticket's opening.

Key: the incident. Several `none` statements for X make one finding: every one of them
is evidence, with the tickets in the windows of those that fire, and it is detected at
the earliest detection among them. It closes at the first `product.incident.resolved`
for X at or after its detection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding
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


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    statements: dict[str, list[Fact]] = {}
    for fact in timeline.of("product.status.published"):
        if fact.data.get("impact") == "none":
            statements.setdefault(incident_of(fact), []).append(fact)
    for incident, said in statements.items():
        denials = [denial for statement in said if (denial := judged(timeline, statement, thresholds))]
        if not denials:
            continue
        first = min(denials, key=lambda denial: (denial.detected_at, denial.statement.order))
        resolved = [
            fact.occurred_at
            for fact in timeline.of("product.incident.resolved")
            if incident_of(fact) == incident and fact.occurred_at >= first.detected_at
        ]
        tickets = [ticket for denial in denials for ticket in denial.tickets]
        resolved_at = moment.resolved_at(min(resolved, default=None))
        yield finding_of(timeline.account_id, incident, first, said, tickets, resolved_at)


def finding_of(
    account_id: str, incident: str, first: Denial, said: list[Fact], tickets: list[Fact], resolved_at: datetime | None
) -> Finding:
    opened = sorted({ticket.order: ticket for ticket in tickets}.values(), key=lambda ticket: ticket.order)
    again = len(said) - 1
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
        evidence=[*said, *opened],
        detected_at=first.detected_at,
        resolved_at=resolved_at,
        summary=summary,
    )


RULE = Rule(ID, Thresholds(), detect)
