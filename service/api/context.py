"""The typed context every resolver receives: shared services, and loaders made per request."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from service.access.rate_limits import RateLimits
from service.access.ring import KeyRing
from service.access.scopes import IN_PROCESS, Principal
from service.handling.commands import Handlings
from service.handling.reads import HandlingReads
from service.read.account_view import ViewKey, ViewReads
from service.read.accounts import EventRecord, Reads
from service.read.attribution import AttributionReads
from service.read.findings import (
    FindingReads,
    FindingRecord,
    FindingsKey,
    Judged,
    JudgedKey,
    records_as_of,
)
from service.read.impact import ImpactReads
from service.settings import Settings
from service.store.handling_store import HandlingRow
from service.store.ingest import Ingest
from service.stream.feed import Feed
from service.webhooks.intake import Webhooks


@dataclass(frozen=True)
class Context:
    settings: Settings
    reads: Reads
    ingest: Ingest
    findings: FindingReads
    views: ViewReads
    event_feed: Feed[EventRecord]  # the process's one reader of the event log, for subscriptions
    change_feed: Feed[Any]  # and of the finding change log
    keys: KeyRing  # the active API keys
    rates: RateLimits  # every key's budget of reads and writes
    handlings: Handlings  # acting on findings' handling (blocking: call it in a worker thread)
    handling_reads: HandlingReads
    impact_reads: ImpactReads  # the contradictions' cost and CX impact
    attribution: AttributionReads
    evidence_loader: DataLoader[tuple[int, ...], list[EventRecord]] | None = None  # made per request
    view_loader: DataLoader[ViewKey, dict[str, Any] | None] | None = None  # made per request
    findings_loader: DataLoader[FindingsKey, list[FindingRecord]] | None = None  # made per request
    judged_loader: DataLoader[JudgedKey, Judged] | None = None  # made per request
    handling_loader: DataLoader[str, HandlingRow | None] | None = None  # made per request
    webhooks: Webhooks | None = None  # provider webhooks: the account mapping and the parked events
    # who acts: a request's or a WebSocket's principal (None: nobody, refused everything); a
    # context built in the process (tests, benchmarks) acts for the process itself
    principal: Principal | None = IN_PROCESS

    def for_request(self) -> Context:
        """A context with fresh loaders: a loader's cache must not outlive its request."""
        judged: DataLoader[JudgedKey, Judged] = DataLoader(load_fn=self.findings.judged_many)
        return replace(
            self,
            evidence_loader=DataLoader(load_fn=self.findings.evidence),
            view_loader=DataLoader(load_fn=partial(self.views.load, judged=judged.load)),
            findings_loader=DataLoader(load_fn=self.findings.of_accounts),
            judged_loader=judged,
            handling_loader=DataLoader(load_fn=self.handling_reads.rows),
        )

    def acting_as(self, principal: Principal | None) -> Context:
        return replace(self, principal=principal)

    async def account_findings(
        self, account_id: str, as_of: datetime | None, open_only: bool | None
    ) -> list[FindingRecord]:
        """An account's findings: the live rows, or as they were at `as_of` (judged once per
        request and account, with its view)."""
        if as_of is None:
            assert self.findings_loader is not None, "a request's context has its loaders"
            return await self.findings_loader.load((account_id, open_only))
        assert self.judged_loader is not None, "a request's context has its loaders"
        return records_as_of(await self.judged_loader.load((account_id, as_of)), open_only)

    def account_views(self) -> DataLoader[ViewKey, dict[str, Any] | None]:
        assert self.view_loader is not None, "a request's context has its loaders"
        return self.view_loader

    def handling_rows(self) -> DataLoader[str, HandlingRow | None]:
        """Findings' handling rows, keyed by finding id (None: nobody acted on it yet)."""
        assert self.handling_loader is not None, "a request's context has its loaders"
        return self.handling_loader

    def evidence(self) -> DataLoader[tuple[int, ...], list[EventRecord]]:
        """Findings' evidence events, keyed by a finding's evidence positions."""
        assert self.evidence_loader is not None, "a request's context has its loaders"
        return self.evidence_loader


Info = StrawberryInfo[Context, None]
