"""What HubSpot's later deal events need, kept in the store: each deal's amount and currency changes, its companies.

HubSpot's stage change to won carries no amount: `sales.opportunity.won` takes the deal's
amount and currency as of the moment it was won (the latest change at or before it, else the
first after it: HubSpot does not deliver in order). A won event whose amount or currency is
not known yet is parked `incomplete`, and completed when a delivery brings them. A deal's
account is its own mapping (`deal:<id>`), else its company's: the primary company, else the
latest associated one. A delivery's facts, its won events and the completion of those parked
before are written in one transaction, under a lock per deal, so a won event and its amount
arriving at once cannot miss each other; each write is idempotent on the event's key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from service.store.tables import HUBSPOT_DEAL_COMPANIES_TABLE as COMPANIES
from service.store.tables import HUBSPOT_DEAL_VALUES_TABLE as VALUES
from service.webhooks.drafts import Draft, Fact, Outcome
from service.webhooks.hubspot_events import DealCompany, DealValue, WonDeal
from service.webhooks.parked import INCOMPLETE, ToPark, completed, incomplete, park, still_incomplete, unmapped_reason

if TYPE_CHECKING:
    from service.webhooks.parked import Connection

PROVIDER = "hubspot"
LOCK_SPACE = 0x6873  # the advisory locks' namespace: one lock per deal
SUBSCRIBE = {"amount": "amount", "currency": "deal_currency_code"}  # what is missing -> HubSpot property to subscribe to


@dataclass(frozen=True)
class Settled:
    outcomes: list[Outcome]  # the delivery's other outcomes, and the won events whose amount is known
    noted: int
    duplicates: int
    parked: int
    deals: set[str]  # "deal:<id>" whose parked events may be stored now (their amount or company came)


async def settle(pool: asyncpg.Pool, outcomes: Sequence[Outcome]) -> Settled:
    """Keep the delivery's facts, turn its won events into drafts (or park them), complete the won events they allow."""
    facts = [each for each in outcomes if isinstance(each, Fact)]
    rest: list[Outcome] = [each for each in outcomes if not isinstance(each, Fact)]
    values = [each for each in facts if isinstance(each, DealValue)]
    companies = [each for each in facts if isinstance(each, DealCompany)]
    wins = [each for each in facts if isinstance(each, WonDeal)]
    if not facts:
        return Settled(rest, 0, 0, 0, set())
    async with pool.acquire() as connection, connection.transaction():
        deals = {each.deal for each in values} | {each.deal for each in companies} | {each.deal for each in wins}
        for deal in sorted(deals):  # one order: no deadlock
            await connection.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", LOCK_SPACE, deal)
        new_values = [each for each in values if await noted_value(connection, each)]
        new_companies = [each for each in companies if await noted_company(connection, each)]
        drafts, to_park = await won_events(connection, wins)
        parked = await park(connection, PROVIDER, to_park)
        await complete(connection, {f"deal:{each.deal}" for each in new_values})
    noted = len(new_values) + len(new_companies)
    duplicates = len(values) + len(companies) - noted + len(to_park) - parked
    changed = {f"deal:{each.deal}" for each in new_values} | {f"deal:{each.deal}" for each in new_companies}
    return Settled([*rest, *drafts], noted, duplicates, parked, changed)


async def noted_value(connection: Connection, fact: DealValue) -> bool:
    """Keep the change; False for a retry (the same event's key)."""
    return await connection.fetchval(
        f"INSERT INTO {VALUES} (deal_id, name, value, occurred_at, event_id) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING RETURNING true", fact.deal, fact.name, fact.value, fact.at, fact.key) is not None


async def noted_company(connection: Connection, fact: DealCompany) -> bool:
    """Keep the association if it is the latest change of this deal and company; False for a retry."""
    seen = await connection.fetchval(f"SELECT event_id FROM {COMPANIES} WHERE deal_id = $1 AND company_id = $2",
                                     fact.deal, fact.company)
    if seen == fact.key:
        return False
    await connection.execute(
        f"INSERT INTO {COMPANIES} AS kept (deal_id, company_id, is_primary, removed, occurred_at, event_id)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (deal_id, company_id) DO UPDATE SET is_primary ="
        " excluded.is_primary, removed = excluded.removed, occurred_at = excluded.occurred_at, event_id ="
        " excluded.event_id WHERE excluded.occurred_at > kept.occurred_at",
        fact.deal, fact.company, fact.primary, fact.removed, fact.at, fact.key)
    return True


async def won_events(connection: Connection, wins: Iterable[WonDeal]) -> tuple[list[Draft], list[ToPark]]:
    drafts: list[Draft] = []
    to_park: list[ToPark] = []
    for win in wins:
        envelope = win.envelope()
        known = await as_of(connection, win.deal, win.at)
        if lacking(known):
            to_park.append(ToPark(win.key, f"deal:{win.deal}", INCOMPLETE, lacking(known), envelope, win.payload))
        else:
            drafts.append(Draft(f"deal:{win.deal}", whole(envelope, known), win.payload))
    return drafts, to_park


async def complete(connection: Connection, deals: set[str]) -> None:
    """Complete the parked won events of these deals whose amount and currency are now known."""
    for row_id, external_id, envelope in await incomplete(connection, PROVIDER, sorted(deals)):
        at = datetime.fromisoformat(envelope["occurredAt"])
        known = await as_of(connection, external_id.removeprefix("deal:"), at)
        if lacking(known):
            await still_incomplete(connection, row_id, lacking(known))
        else:
            await completed(connection, row_id, whole(envelope, known), unmapped_reason(PROVIDER, external_id))


async def as_of(connection: Connection, deal: str, at: datetime) -> dict[str, str | None]:
    """The deal's amount and currency at `at`: the latest change at or before it, else the first after it."""
    rows = await connection.fetch(
        f"SELECT DISTINCT ON (name) name, value FROM {VALUES} WHERE deal_id = $1 ORDER BY name, occurred_at > $2,"
        " CASE WHEN occurred_at <= $2 THEN occurred_at END DESC NULLS LAST, occurred_at, event_id", deal, at)
    return {row["name"]: row["value"] for row in rows}


def lacking(known: dict[str, str | None]) -> str:
    """Why the won event cannot be stored yet; empty when it can."""
    return "; ".join(f"the deal's {name} is not known yet: subscribe to deal.propertyChange for {SUBSCRIBE[name]}"
                     for name in SUBSCRIBE if known.get(name) is None)


def whole(envelope: dict[str, Any], known: dict[str, str | None]) -> dict[str, Any]:
    return {**envelope, "data": {**envelope["data"], "amount": known["amount"], "currency": known["currency"]}}


def deal_unmapped_reason(deal: str, company: str | None) -> str:
    """Why a deal's event has no account: neither the deal nor its company is mapped, or no company is known."""
    if company is not None:
        return (f"no account is mapped to the hubspot id {deal!r} nor to its company {company!r}: map either "
                f"(mapProviderCustomer, or `cx360 mappings set hubspot {company} ACCOUNT_ID`) and this event is stored")
    return (f"no account is mapped to the hubspot id {deal!r} and no company is known for it: map the deal "
            f"(`cx360 mappings set hubspot {deal} ACCOUNT_ID`), or subscribe to deal.associationChange and map its "
            "company; then this event is stored")


async def companies_of(pool: asyncpg.Pool, external_ids: Iterable[str]) -> dict[str, str]:
    """Each deal's company ("deal:<id>" -> "company:<id>"): the primary one, else the latest associated."""
    deals = sorted({each.removeprefix("deal:") for each in external_ids if each.startswith("deal:")})
    if not deals:
        return {}
    rows = await pool.fetch(f"SELECT DISTINCT ON (deal_id) deal_id, company_id FROM {COMPANIES}"
                            " WHERE deal_id = ANY($1::text[]) AND NOT removed"
                            " ORDER BY deal_id, is_primary DESC, occurred_at DESC", deals)
    return {f"deal:{row['deal_id']}": f"company:{row['company_id']}" for row in rows}


async def deals_of(pool: asyncpg.Pool, company: str) -> set[str]:
    """The deals associated with the company ("company:<id>"), as "deal:<id>"."""
    rows = await pool.fetch(f"SELECT deal_id FROM {COMPANIES} WHERE company_id = $1 AND NOT removed",
                            company.removeprefix("company:"))
    return {f"deal:{row['deal_id']}" for row in rows}
