"""`Query.contradictionsCost` and `Query.cxImpact`: what inconsistent treatment stands beside, in revenue and retention."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Optional

import strawberry

from domain.catalogue import DEPARTMENTS
from projections.attribution.contradictions import LOST_DAYS, ContradictionsCost, Cost, Tally
from projections.attribution.impact import MIN_GROUP, Comparison, Impact, reading
from service.access.scopes import VIEWS_READ
from service.api.attribution import checked_range
from service.api.context import Info
from service.api.permissions import needs
from service.api.types import Department

RangeFrom = Annotated[datetime, strawberry.argument(name="from", description="The range's start (included).")]
RangeTo = Annotated[datetime, strawberry.argument(description="The range's end (excluded: months tile). At most ten "
                                                               "years after `from`.")]


@strawberry.type(description="An amount in one currency; amounts in different currencies are never added.")
class Money:
    amount: Decimal = strawberry.field(description="Exact, in the currency's units.")
    currency: str = strawberry.field(description="ISO 4217.")


@strawberry.type(description="Revenue events counted, with the sums they make per currency.")
class RevenueTally:
    amounts: list[Money] = strawberry.field(description="Per currency, by currency code.")
    events: int = strawberry.field(description="Conversions, renewals or losses counted.")
    accounts: int = strawberry.field(description="The accounts they are of.")
    unknown_amounts: int = strawberry.field(description="Of the events, those with no known amount (a lost opportunity "
                                                        "never opened with one, a cancel with no MRR before it): "
                                                        "counted, not summed.")

    @staticmethod
    def of(tally: Tally) -> RevenueTally:
        return RevenueTally(amounts=[Money(amount=tally.amounts[currency], currency=currency)
                                     for currency in sorted(tally.amounts)],
                            events=tally.events, accounts=len(tally.accounts), unknown_amounts=tally.unknown_amounts)


@strawberry.type(description="What the findings of one rule, or of one department pair, stand beside.")
class ContradictionCost:
    rule: Optional[str] = strawberry.field(description="The rule (rows by rule); null in rows by department pair.")
    departments: Optional[list[Department]] = strawberry.field(
        description="The pair of departments (or the one a finding names alone); null in rows by rule.")
    converted_while_open: RevenueTally = strawberry.field(
        description="Conversions (won opportunities; upgrades where attribution counts them) and renewals (a year of "
                    "the renewed MRR) at whose instant such a finding was open on the account; each once per row.")
    lost_after_high: RevenueTally = strawberry.field(
        description=f"Opportunities lost (at the amount last opened with) and subscriptions cancelled (a year of the "
                    f"MRR before) in the {LOST_DAYS} days after such a HIGH finding was detected; each once per row.")

    @staticmethod
    def of(cost: Cost, rule: str | None = None, departments: tuple[str, ...] | None = None) -> ContradictionCost:
        return ContradictionCost(rule=rule, departments=None if departments is None else [Department(name) for name in departments],
                                 converted_while_open=RevenueTally.of(cost.converted_while_open),
                                 lost_after_high=RevenueTally.of(cost.lost_after_high))


@strawberry.type(description="The revenue beside contradictions in a range, per rule and per department pair.")
class ContradictionsCostReport:
    by_rule: list[ContradictionCost] = strawberry.field(description="By rule id.")
    by_department_pair: list[ContradictionCost] = strawberry.field(description="In the catalogue's department order.")

    @staticmethod
    def of(cost: ContradictionsCost) -> ContradictionsCostReport:
        def order(pair: tuple[str, ...]) -> list[int]:
            return [DEPARTMENTS.index(name) for name in pair]

        return ContradictionsCostReport(
            by_rule=[ContradictionCost.of(cost.by_rule[rule], rule=rule) for rule in sorted(cost.by_rule)],
            by_department_pair=[ContradictionCost.of(cost.by_pair[pair], departments=pair)
                                for pair in sorted(cost.by_pair, key=order)])


@strawberry.enum(description="What CX impact compares.")
class ImpactMetric(Enum):
    WON_REVENUE = "won_revenue"
    CHURN_RATE = "churn_rate"
    NET_REVENUE_RETENTION = "net_revenue_retention"
    AVERAGE_HEALTH = "average_health"


@strawberry.type(description="One outcome compared between the accounts with the contradiction and those without.")
class ImpactComparison:
    metric: ImpactMetric = strawberry.field(description="The outcome compared.")
    currency: Optional[str] = strawberry.field(description="For won revenue and net revenue retention: each currency "
                                                           "has its own row.")
    with_value: Optional[float] = strawberry.field(description="Accounts with: the mean per account (won revenue, "
                                                               "average health), the share (churn, 0 to 1), or the "
                                                               "MRR they ended with over the MRR they started with "
                                                               "(net revenue retention). Null for no account.")
    without_value: Optional[float] = strawberry.field(description="The same for the accounts without.")
    difference: Optional[float] = strawberry.field(description="With minus without.")
    low: Optional[float] = strawberry.field(description="The 95% bootstrap confidence interval of the difference, "
                                                        f"low end; null when a group has under {MIN_GROUP} accounts.")
    high: Optional[float] = strawberry.field(description="Its high end.")
    with_accounts: int = strawberry.field(description="The accounts `withValue` is made of (churn and net revenue "
                                                      "retention: those paying when the range starts; average "
                                                      "health: those with a score).")
    without_accounts: int = strawberry.field(description="The accounts `withoutValue` is made of.")
    with_total: Optional[Decimal] = strawberry.field(description="Won revenue: the group's total.")
    without_total: Optional[Decimal] = strawberry.field(description="Won revenue: the group's total.")
    too_small: bool = strawberry.field(description=f"A group has under {MIN_GROUP} accounts: too small to read.")
    reading: str = strawberry.field(description="The comparison in words: an association, never a cause.")

    @staticmethod
    def of(compared: Comparison) -> ImpactComparison:
        return ImpactComparison(
            metric=ImpactMetric(compared.metric), currency=compared.currency, with_value=compared.with_value,
            without_value=compared.without_value, difference=compared.difference, low=compared.low,
            high=compared.high, with_accounts=compared.with_accounts, without_accounts=compared.without_accounts,
            with_total=compared.with_total, without_total=compared.without_total, too_small=compared.too_small,
            reading=reading(compared))


@strawberry.type(description="Accounts with a contradiction compared with accounts without, over a range.")
class CxImpact:
    scope: str = strawberry.field(description="`HIGH`: accounts with any HIGH finding open in the range against "
                                              "those with none; a rule's id: accounts with a finding of that rule "
                                              "open in the range against those with neither a HIGH finding nor one "
                                              "of the rule.")
    with_accounts: int = strawberry.field(description="The accounts with the contradiction.")
    without_accounts: int = strawberry.field(description="The accounts without.")
    too_small: bool = strawberry.field(description=f"A group has under {MIN_GROUP} accounts: too small to read.")
    comparisons: list[ImpactComparison] = strawberry.field(description="Won revenue (per currency), churn, net "
                                                                       "revenue retention (per currency), average "
                                                                       "health.")

    @staticmethod
    def of(impact: Impact) -> CxImpact:
        return CxImpact(scope=impact.scope, with_accounts=impact.with_accounts, without_accounts=impact.without_accounts,
                        too_small=impact.too_small, comparisons=[ImpactComparison.of(each) for each in impact.comparisons])


RESAMPLES = 2_000


@strawberry.type
class ImpactQuery:
    @strawberry.field(
        description="Per rule and per department pair: the revenue that came in while their findings were open, and "
        "the revenue lost after their HIGH findings, in [from, to).",
        extensions=needs(VIEWS_READ),
    )
    async def contradictions_cost(self, info: Info, from_: RangeFrom, to: RangeTo) -> ContradictionsCostReport:
        checked_range(from_, to)
        return ContradictionsCostReport.of(await info.context.impact_reads.cost(from_, to))

    @strawberry.field(
        description="Accounts with an open HIGH finding in [from, to) against accounts without (then per rule): won "
        "revenue, churn, net revenue retention and average health (the health score now), with the difference and "
        "its 95% bootstrap confidence interval. An association, not proof of cause.",
        extensions=needs(VIEWS_READ),
    )
    async def cx_impact(self, info: Info, from_: RangeFrom, to: RangeTo) -> list[CxImpact]:
        checked_range(from_, to)
        return [CxImpact.of(each) for each in await info.context.impact_reads.impact(from_, to, RESAMPLES)]
