"""The account view in GraphQL: department summaries, health, lifecycle, satisfaction, agent context.

Each type is built from the view's JSON form (`projections.view.model`, as stored by the
projector or computed for an `asOf`), so the live and the as-of paths serve the same shapes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Optional

import strawberry

from service.api.context import Info
from service.api.findings import Finding
from service.api.handling_types import FindingOnIt, HandlingState
from service.api.types import Department
from service.handling.commands import utc_now
from service.handling.lines import on_it
from service.handling.shown import FindingFacts, shown

Json = dict[str, Any]


def instant(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def maybe_instant(value: str | datetime | None) -> datetime | None:
    return None if value is None else instant(value)


@strawberry.enum(description="What kind of thing a department still has open.")
class OpenItemKind(Enum):
    TICKET = "ticket"
    OPPORTUNITY = "opportunity"
    INVOICE = "invoice"
    INCIDENT = "incident"
    OPT_OUT = "opt_out"


@strawberry.type(description="Something a department still has open with the account.")
class OpenItem:
    kind: OpenItemKind = strawberry.field(description="Ticket, opportunity, invoice, incident or opt-out.")
    id: str = strawberry.field(description="The ticket, opportunity, invoice or incident id; for an opt-out, the channel.")
    since: datetime = strawberry.field(description="When it opened (an invoice: when it was issued).")
    summary: str = strawberry.field(description="One plain sentence, e.g. 'urgent ticket T-4411, escalated, open since 2 Mar 2026'.")
    priority: Optional[str] = strawberry.field(description="Tickets: low to urgent; incidents: sev1 to sev3.")
    amount: Optional[Decimal] = strawberry.field(description="Opportunities: the amount; invoices: what is unpaid.")
    currency: Optional[str] = strawberry.field(description="ISO 4217, with an amount.")
    days_overdue: Optional[int] = strawberry.field(description="Invoices: days past the due date (0 if not yet due).")
    contact_id: Optional[strawberry.ID] = strawberry.field(description="Opt-outs of one contact; null for the whole account.")

    @staticmethod
    def from_json(item: Json) -> OpenItem:
        return OpenItem(
            kind=OpenItemKind(item["kind"]), id=item["id"], since=instant(item["since"]), summary=item["summary"],
            priority=item["priority"], amount=Decimal(item["amount"]) if item["amount"] is not None else None,
            currency=item["currency"], days_overdue=item["days_overdue"],
            contact_id=strawberry.ID(item["contact_id"]) if item["contact_id"] else None,
        )


@strawberry.type(description="Counts over the last 7, 30 and 90 days (up to the view's moment).")
class WindowCounts:
    last_7_days: int = strawberry.field(description="In the 7 days up to the view's moment.")
    last_30_days: int = strawberry.field(description="In the 30 days up to the view's moment.")
    last_90_days: int = strawberry.field(description="In the 90 days up to the view's moment.")

    @staticmethod
    def from_json(counts: Json) -> WindowCounts:
        return WindowCounts(last_7_days=counts["days_7"], last_30_days=counts["days_30"], last_90_days=counts["days_90"])


@strawberry.type(description="How one department has treated the account.")
class DepartmentView:
    department: Department = strawberry.field(description="The department.")
    last_touch_at: datetime = strawberry.field(description="The department's latest event.")
    last_touch_type: str = strawberry.field(description="The type of that latest event.")
    events: WindowCounts = strawberry.field(description="All of the department's events.")
    outbound_touches: WindowCounts = strawberry.field(
        description="Messages the department sent: campaigns, outreach, support contacts, dunning."
    )
    open_items: list[OpenItem] = strawberry.field(
        description="Open tickets (support), opportunities (sales), unpaid invoices (billing), "
        "incidents (product), consent opt-outs (marketing)."
    )

    @staticmethod
    def from_json(summary: Json) -> DepartmentView:
        return DepartmentView(
            department=Department(summary["department"]), last_touch_at=instant(summary["last_touch_at"]),
            last_touch_type=summary["last_touch_type"], events=WindowCounts.from_json(summary["events"]),
            outbound_touches=WindowCounts.from_json(summary["outbound_touches"]),
            open_items=[OpenItem.from_json(item) for item in summary["open_items"]],
        )


@strawberry.type(description="One part of the health score.")
class HealthComponent:
    name: str = strawberry.field(
        description="product_usage, support_load, satisfaction, billing_standing, engagement or open_findings."
    )
    value: Optional[int] = strawberry.field(description="0 to 100; null when nothing judges it (left out of the score).")
    weight: float = strawberry.field(description="Its weight in the score (an operator setting).")
    explanation: str = strawberry.field(description="Why it has this value, in one sentence.")


@strawberry.type(description="The health score at one moment.")
class HealthPoint:
    at: datetime = strawberry.field(description="The moment of this point.")
    score: Optional[int] = strawberry.field(description="The score then; null when nothing judged it.")


@strawberry.type(description="How well the account is doing, 0 to 100, and why.")
class Health:
    score: Optional[int] = strawberry.field(description="The weighted mean of the components that have a value.")
    components: list[HealthComponent] = strawberry.field(description="Each part with its value, weight and explanation.")
    trend: list[HealthPoint] = strawberry.field(
        description="Weekly points, oldest first: the score at each of the 11 week boundaries (Mondays 00:00 UTC) before "
        "the view's moment, then the score at that moment. Live, a boundary passed since the view was judged is read "
        "as a point with the view's score (it holds until the view changes): the trend then ends at that boundary.")

    @staticmethod
    def from_json(health: Json) -> Health:
        return Health(
            score=health["score"],
            components=[HealthComponent(**component) for component in health["components"]],
            trend=[HealthPoint(at=instant(point["at"]), score=point["score"]) for point in health["trend"]],
        )


@strawberry.enum(description="Where the account is in its life as a customer (the rules are in docs/api.md).")
class LifecycleStage(Enum):
    PROSPECT = "prospect"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    AT_RISK = "at_risk"
    CHURNED = "churned"


@strawberry.type(description="The account's lifecycle stage, since when, and why.")
class Lifecycle:
    stage: LifecycleStage = strawberry.field(description="The stage, by the rules in docs/api.md.")
    since: Optional[datetime] = strawberry.field(description="When the account entered it (null: a prospect with no event).")
    reason: str = strawberry.field(description="One sentence naming the facts that decided the stage.")

    @staticmethod
    def from_json(lifecycle: Json) -> Lifecycle:
        return Lifecycle(stage=LifecycleStage(lifecycle["stage"]), since=maybe_instant(lifecycle["since"]),
                         reason=lifecycle["reason"])


@strawberry.type(description="A contact's latest NPS response.")
class ContactScore:
    contact_id: Optional[strawberry.ID] = strawberry.field(description="Null for a response without a contact.")
    score: int = strawberry.field(description="0 to 10.")
    responded_at: datetime = strawberry.field(description="When the contact responded.")


@strawberry.type(description="NPS and CSAT over the last 365 days.")
class Satisfaction:
    latest_nps: list[ContactScore] = strawberry.field(description="Each contact's latest NPS response, newest first.")
    nps: Optional[int] = strawberry.field(description="% promoters − % detractors over those latest responses.")
    responses: int = strawberry.field(description="NPS responses in the last 365 days.")
    promoters: int = strawberry.field(description="Latest responses of 9 or 10.")
    passives: int = strawberry.field(description="Latest responses of 7 or 8.")
    detractors: int = strawberry.field(description="Latest responses of 0 to 6.")
    csat_average: Optional[float] = strawberry.field(description="Mean CSAT (1 to 5) over the last 365 days.")
    csat_responses: int = strawberry.field(description="CSAT responses in the last 365 days.")
    detractors_not_followed_up: int = strawberry.field(
        description="Detractor responses with no support contact or check-in since."
    )

    @staticmethod
    def from_json(satisfaction: Json) -> Satisfaction:
        scores = [ContactScore(contact_id=strawberry.ID(each["contact_id"]) if each["contact_id"] else None,
                               score=each["score"], responded_at=instant(each["responded_at"]))
                  for each in satisfaction["latest_nps"]]
        rest = {key: value for key, value in satisfaction.items() if key != "latest_nps"}
        return Satisfaction(latest_nps=scores, **rest)


@strawberry.type(description="Something not to do with this account right now, and why.")
class Warning:
    text: str = strawberry.field(description="e.g. \"Don't email c-17: opted out of email on 5 Mar 2026\".")
    reason: str = strawberry.field(description="ticket, opt_out, payment_plan, incident or detractor.")


@strawberry.type(description="A department's latest touch this week.")
class RecentTouch:
    department: Department = strawberry.field(description="The department.")
    type: str = strawberry.field(description="The type of its latest event.")
    occurred_at: datetime = strawberry.field(description="When it happened.")


@strawberry.type(description="What a support agent must know before speaking to the customer.")
class AgentContext:
    open_serious_tickets: list[OpenItem] = strawberry.field(description="Open tickets of high or urgent priority, or escalated.")
    billing_standing: str = strawberry.field(description="Billing standing in one line.")
    donts: list[Warning] = strawberry.field(description="What not to say or do, with the reason.")
    this_week: list[RecentTouch] = strawberry.field(description="Each department's latest touch in the last 7 days.")
    account_id: strawberry.Private[str]
    as_of: strawberry.Private[Optional[datetime]]

    @strawberry.field(description="The account's open findings, the most recently detected first.")
    async def open_findings(self, info: Info) -> list[Finding]:
        records = await info.context.account_findings(self.account_id, self.as_of, True)
        return [Finding.from_record(record) for record in records]

    @strawberry.field(description="Who is on each open finding and the latest note, one line each, the most recently "
                      "detected first. The handling is as it stands now, also with `asOf`.")
    async def on_it(self, info: Info) -> list[FindingOnIt]:
        records = await info.context.account_findings(self.account_id, self.as_of, True)
        rows = await info.context.handling_rows().load_many([record.id for record in records])
        policy, now = info.context.settings.handling, utc_now()
        handlings = [shown(row, FindingFacts.of(record), policy, now) for record, row in zip(records, rows)]
        return [FindingOnIt(finding_id=strawberry.ID(record.id), rule=record.rule, state=HandlingState(handling.state),
                            text=on_it(handling, policy)) for record, handling in zip(records, handlings)]

    @staticmethod
    def from_json(agent: Json, account_id: str, as_of: datetime | None) -> AgentContext:
        return AgentContext(
            account_id=account_id,
            as_of=as_of,
            open_serious_tickets=[OpenItem.from_json(item) for item in agent["open_serious_tickets"]],
            billing_standing=agent["billing_standing"],
            donts=[Warning(**warning) for warning in agent["donts"]],
            this_week=[RecentTouch(department=Department(touch["department"]), type=touch["type"],
                                   occurred_at=instant(touch["occurred_at"])) for touch in agent["this_week"]],
        )
