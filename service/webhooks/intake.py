"""Taking a provider's events in: each given its mapped account and recorded through `Ingest` (validation,
idempotency on `(source, id)`, the store's guarantees); the others parked. Mapping a customer replays its
parked events. HubSpot's deal facts (amount, currency, company) are kept first (`hubspot_deals`), and a HubSpot
deal without a mapping of its own takes its company's account."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from service.store.ingest import Ingest
from service.webhooks import accounts, hubspot_deals
from service.webhooks.drafts import Draft, Ignored, Outcome, Unusable
from service.webhooks.metrics import WebhookMetrics
from service.webhooks.parked import (
    REJECTED,
    UNMAPPED,
    UNUSABLE,
    ToPark,
    park,
    rejected,
    replayed,
    unmapped_reason,
    waiting,
)
from service.webhooks.tables import ensure_tables


@dataclass(frozen=True)
class Taken:
    """What became of a request's events (or of a customer's replayed ones)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    parked: int = 0
    noted: int = 0  # kept for the events that need them (a HubSpot deal's amount, currency or company)

    def as_json(self) -> dict[str, int]:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates,
                "ignored": self.ignored, "parked": self.parked, "noted": self.noted}

    def __add__(self, other: Taken) -> Taken:
        return Taken(*(mine + theirs for mine, theirs in zip(self.counts(), other.counts())))

    def counts(self) -> tuple[int, ...]:
        return self.received, self.stored, self.duplicates, self.ignored, self.parked, self.noted


class Webhooks:
    def __init__(self, pool: asyncpg.Pool, ingest: Ingest, metrics: WebhookMetrics, batch: int = 500) -> None:
        self.pool, self.ingest, self.metrics, self.batch = pool, ingest, metrics, batch

    async def start(self) -> None:
        await ensure_tables(self.pool)

    async def take(self, provider: str, outcomes: Sequence[Outcome]) -> Taken:
        """Record the drafts whose customer is mapped; park the others with their reason; count the ignored."""
        received = len(outcomes)
        settled = await hubspot_deals.settle(self.pool, outcomes) if provider == "hubspot" else None
        outcomes = settled.outcomes if settled is not None else outcomes
        drafts = [each for each in outcomes if isinstance(each, Draft)]
        mapped = await self.accounts_of(provider, (each.external_id for each in drafts))
        to_park = [ToPark(each.key, each.external_id, UNUSABLE, each.reason, None, each.payload)
                   for each in outcomes if isinstance(each, Unusable)]
        unmapped = [each for each in drafts if each.external_id not in mapped]
        reasons = await self.unmapped_reasons(provider, {each.external_id for each in unmapped})
        to_park += [ToPark(each.key, each.external_id, UNMAPPED, reasons[each.external_id], each.envelope, each.payload)
                    for each in unmapped]
        ready = [(each, mapped[each.external_id]) for each in drafts if each.external_id in mapped]
        stored, duplicates, refused = await self.record(ready)
        to_park += [ToPark(draft.key, draft.external_id, REJECTED, reason, draft.envelope, draft.payload)
                    for draft, reason in refused]
        parked = await park(self.pool, provider, to_park)
        ignored = sum(isinstance(each, Ignored) for each in outcomes)
        taken = Taken(received, stored, duplicates + len(to_park) - parked, ignored, parked)
        if settled is not None:
            taken += Taken(0, 0, settled.duplicates, 0, settled.parked, settled.noted)
        for outcome, amount in (("received", taken.received), ("stored", stored), ("duplicate", taken.duplicates),
                                ("ignored", ignored), ("parked", taken.parked), ("noted", taken.noted)):
            self.metrics.count(provider, outcome, amount)
        waiting_ids = {each.external_id for each in to_park if each.cause == UNMAPPED} | (settled.deals if settled else set())
        if waiting_ids:  # mapped meanwhile (its replay may have run before this park), or a deal's amount or company came
            await self.replay_mapped(provider, waiting_ids)
        return taken

    async def unmapped_reasons(self, provider: str, external_ids: set[str]) -> dict[str, str]:
        """Why each id has no account, and what maps it; for a HubSpot deal, its company too."""
        companies = await hubspot_deals.companies_of(self.pool, external_ids) if provider == "hubspot" else {}
        return {each: hubspot_deals.deal_unmapped_reason(each, companies.get(each)) if each.startswith("deal:")
                and provider == "hubspot" else unmapped_reason(provider, each) for each in external_ids}

    async def accounts_of(self, provider: str, external_ids: Iterable[str]) -> dict[str, str]:
        """The accounts the ids are mapped to; a HubSpot deal without a mapping of its own takes its company's."""
        wanted = set(external_ids)
        found = await accounts.accounts_of(self.pool, provider, wanted)
        if provider != "hubspot":
            return found
        companies = await hubspot_deals.companies_of(self.pool, wanted - found.keys())
        through = await accounts.accounts_of(self.pool, provider, companies.values())
        return found | {deal: through[company] for deal, company in companies.items() if company in through}

    async def record(self, ready: Sequence[tuple[Draft, str]]) -> tuple[int, int, list[tuple[Draft, str]]]:
        """Stored, duplicates, and the drafts validation refused (with the reason)."""
        stored = duplicates = 0
        refused: list[tuple[Draft, str]] = []
        for start in range(0, len(ready), self.batch):
            chunk = ready[start:start + self.batch]
            result = await self.ingest.record([draft.for_account(account) for draft, account in chunk], webhook=True)
            stored, duplicates = stored + result.accepted, duplicates + result.duplicates
            reasons: dict[int, list[str]] = {}
            for rejection in result.rejected:
                reasons.setdefault(rejection.index, []).append(f"{rejection.field}: {rejection.message}")
            refused += [(chunk[index][0], "rejected by validation: " + "; ".join(found))
                        for index, found in sorted(reasons.items())]
        return stored, duplicates, refused

    async def map(self, provider: str, external_id: str, account_id: str,
                  new_account: bool = False) -> tuple[accounts.Mapping, Taken]:
        """Map the customer to the account, then replay its parked events (stored once, however often replayed).

        An account no event names yet is refused unless `new_account`: a typo would otherwise file
        the customer's events on a phantom account, for good."""
        accounts.checked(provider, external_id, account_id)
        if not new_account and not await accounts.known_account(self.pool, account_id):
            raise accounts.unknown_account(account_id)
        mapping = await accounts.set_mapping(self.pool, provider, external_id, account_id)
        taken = await self.replay(provider, external_id, account_id)
        if provider == "hubspot" and external_id.startswith("company:"):  # and its deals without a mapping of their own
            taken += await self.replay_mapped(provider, await hubspot_deals.deals_of(self.pool, external_id))
        return mapping, taken

    async def replay_mapped(self, provider: str, external_ids: Iterable[str | None]) -> Taken:
        found = await self.accounts_of(provider, (each for each in external_ids if each is not None))
        taken = Taken()
        for external_id, account_id in found.items():
            taken += await self.replay(provider, external_id, account_id)
        return taken

    async def replay(self, provider: str, external_id: str, account_id: str) -> Taken:
        stored = duplicates = parked = 0
        while rows := await waiting(self.pool, provider, external_id, self.batch):
            drafts = [(Draft(external_id, envelope, None), account_id) for _, envelope in rows]
            new, again, refused = await self.record(drafts)
            refused_keys = {draft.key: reason for draft, reason in refused}
            for row_id, envelope in rows:
                if envelope["id"] in refused_keys:
                    await rejected(self.pool, row_id, account_id, refused_keys[envelope["id"]])
            await replayed(self.pool, [row_id for row_id, envelope in rows if envelope["id"] not in refused_keys],
                           account_id)
            stored, duplicates, parked = stored + new, duplicates + again, parked + len(refused)
        self.metrics.count(provider, "replayed", stored)
        return Taken(stored + duplicates + parked, stored, duplicates, 0, parked)
