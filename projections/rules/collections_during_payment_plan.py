"""`collections-during-payment-plan`: billing collects while a payment plan is in force (HIGH, billing).

A `billing.payment_plan.granted` is in force from its `occurredAt` until its `until`,
both ends included; a plain date `until` means the end of that day (UTC). A collections
action (`billing.dunning.sent`, `billing.service.suspended`) in that stretch makes the
contradiction true from the first such action. Key: the plan; a later action while it
is in force joins the finding as evidence. Closes at the plan's `until`: an action at
the `until` itself joins a finding already open, but alone it never held (the plan
ended as it came), and there is no finding. Overlapping plans are judged each on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from projections.facts import Fact
from projections.findings import Finding, Moment, day, finding, held
from projections.history import Timeline
from projections.rules.rule import Rule

ID = "collections-during-payment-plan"

COLLECTIONS = ("billing.dunning.sent", "billing.service.suspended")


@dataclass(frozen=True)
class Thresholds:
    pass


def detect(timeline: Timeline, moment: Moment, thresholds: Thresholds) -> Iterator[Finding]:
    actions = timeline.of(*COLLECTIONS)
    for plan in timeline.of("billing.payment_plan.granted"):
        until = plan.instant("until")
        inside = [action for action in actions if plan.occurred_at <= action.occurred_at <= until]
        if inside and held(inside[0].occurred_at, until):
            yield finding_of(timeline.account_id, plan, inside, moment.resolved_at(until))


def action_words(action: Fact) -> str:
    if action.type == "billing.dunning.sent":
        return f"sent a level {action.data['level']} dunning notice for invoice {action.data['invoiceId']}"
    return "suspended the service"


def until_words(plan: Fact) -> str:
    """The plan's last day: a plain date `until` is that day, not the midnight after it."""
    until = str(plan.data["until"])
    return day(plan.instant("until") - timedelta(days=1) if len(until) == 10 else plan.instant("until"))


def finding_of(account_id: str, plan: Fact, actions: list[Fact], resolved_at: datetime | None) -> Finding:
    first = actions[0]
    summary = (
        f"Billing {action_words(first)} on {day(first.occurred_at)} although it had granted a payment plan "
        f"on {day(plan.occurred_at)} running until {until_words(plan)}"
    )
    if len(actions) > 1:
        more = len(actions) - 1
        summary += f"; {more} more collections action{'s' if more > 1 else ''} followed during the plan"
    return finding(
        account_id,
        ID,
        f"{plan.source}/{plan.event_id}",
        severity="HIGH",
        departments=("billing",),
        evidence=[plan, *actions],
        detected_at=first.occurred_at,
        resolved_at=resolved_at,
        summary=summary + ".",
    )


RULE = Rule(ID, Thresholds(), detect)
