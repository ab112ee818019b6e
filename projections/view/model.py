"""The shapes of the account view. Plain frozen dataclasses of plain values, so a view can be
stored as JSON (`to_json`) and served as is."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class OpenItem:
    """Something a department still has open with the account."""

    kind: str  # ticket | opportunity | invoice | incident | opt_out
    id: str  # ticketId, opportunityId, invoiceId, incidentId, or the consent channel for an opt-out
    since: datetime
    summary: str  # one plain sentence: "urgent ticket T-4411, escalated, open since 2 Mar 2026"
    priority: str | None = None  # tickets: low | normal | high | urgent; incidents: sev1..sev3
    amount: str | None = None  # decimal string: opportunities, invoices
    currency: str | None = None
    days_overdue: int | None = None  # invoices past their dueAt
    contact_id: str | None = None  # opt-outs of one contact (None: the whole account)


@dataclass(frozen=True)
class WindowCounts:
    days_7: int
    days_30: int
    days_90: int


@dataclass(frozen=True)
class DepartmentSummary:
    department: str
    last_touch_at: datetime  # the department's latest event
    last_touch_type: str
    events: WindowCounts
    outbound_touches: WindowCounts
    open_items: tuple[OpenItem, ...]


@dataclass(frozen=True)
class ContactScore:
    contact_id: str | None  # None: a response without a contact
    score: int
    responded_at: datetime


@dataclass(frozen=True)
class Satisfaction:
    latest_nps: tuple[ContactScore, ...]  # the latest response of each contact, newest first
    nps: int | None  # % promoters - % detractors over those latest responses; None without responses
    responses: int  # NPS responses in the last 365 days
    promoters: int
    passives: int
    detractors: int
    csat_average: float | None  # over the last 365 days, 1 to 5
    csat_responses: int
    detractors_not_followed_up: int


@dataclass(frozen=True)
class Lifecycle:
    stage: str  # prospect | onboarding | active | at_risk | churned
    since: datetime | None  # when the account entered the stage (None: prospect with no event)
    reason: str  # one sentence: why this stage


@dataclass(frozen=True)
class HealthComponent:
    name: str  # product_usage | support_load | satisfaction | billing_standing | engagement | open_findings
    value: int | None  # 0-100; None when there is nothing to judge it by (left out of the score)
    weight: float
    explanation: str


@dataclass(frozen=True)
class HealthPoint:
    at: datetime
    score: int | None


@dataclass(frozen=True)
class Health:
    score: int | None  # weighted mean of the components that have a value, 0-100
    components: tuple[HealthComponent, ...]
    trend: tuple[HealthPoint, ...] = ()  # weekly, oldest first, ending at the view's moment


@dataclass(frozen=True)
class Warning:
    text: str  # "Don't pitch an upgrade: urgent ticket T-4411 open since 2 Mar 2026"
    reason: str  # ticket | opt_out | payment_plan | incident | detractor


@dataclass(frozen=True)
class RecentTouch:
    department: str
    type: str
    occurred_at: datetime


@dataclass(frozen=True)
class AgentContext:
    open_serious_tickets: tuple[OpenItem, ...]
    billing_standing: str  # one line
    donts: tuple[Warning, ...]
    this_week: tuple[RecentTouch, ...]  # each department's last touch in the last 7 days


@dataclass(frozen=True)
class AccountView:
    account_id: str
    as_of: datetime
    name: str | None
    open_findings: int = 0
    top_severity: str | None = None  # the highest severity among the open findings
    departments: tuple[DepartmentSummary, ...] = field(default=())
    satisfaction: Satisfaction | None = None
    lifecycle: Lifecycle | None = None
    health: Health | None = None
    agent: AgentContext | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
