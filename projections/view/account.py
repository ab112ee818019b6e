"""The whole account view at a moment, composed from its parts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from projections.customers import WON_DAYS
from projections.findings import SEVERITIES, Finding
from projections.history import History, Timeline
from projections.view.agent import agent_context
from projections.view.departments import department_summaries
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights, health
from projections.view.lifecycle import lifecycle
from projections.view.model import AccountView
from projections.view.satisfaction import satisfaction


def account_view(
    history: History,
    as_of: datetime,
    findings: Sequence[Finding],
    weights: HealthWeights = DEFAULT_WEIGHTS,
    *,
    trend_weeks: int = 12,
    known_trend: Mapping[datetime, int | None] | None = None,
    customer_won_days: int = WON_DAYS,
    findings_then: Callable[[datetime], Sequence[Finding]] | None = None,
) -> AccountView:
    """The account as every department has treated it, from its events up to `as_of`.

    `findings` are the account's findings as of the same moment (open and resolved).
    `customer_won_days` is how long a won deal keeps the account a customer (the
    threshold of `prospecting-a-customer`, `projections.customers`). `findings_then`
    gives the findings judged at each trend point (`projections.view.health.health`).
    """
    timeline = Timeline(history.account_id, history.until(as_of).facts)
    open_findings = [each for each in findings if each.resolved_at is None]
    return AccountView(
        account_id=history.account_id,
        as_of=as_of,
        name=name_of(timeline),
        open_findings=len(open_findings),
        top_severity=max((each.severity for each in open_findings), key=SEVERITIES.index, default=None),
        departments=department_summaries(timeline, as_of),
        satisfaction=satisfaction(timeline, as_of),
        lifecycle=lifecycle(timeline, as_of, customer_won_days),
        health=health(timeline, as_of, findings, weights, trend_weeks=trend_weeks, known=known_trend,
                      won_days=customer_won_days, findings_then=findings_then),
        agent=agent_context(timeline, as_of, open_findings),
    )


def name_of(timeline: Timeline) -> str | None:
    """The latest name given by `sales.account.updated`."""
    names = [fact.text("name") for fact in timeline.of("sales.account.updated") if fact.data.get("name")]
    return names[-1] if names else None
