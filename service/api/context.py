"""The typed context every resolver receives: shared services, and loaders made per request."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from service.finding_reads import FindingReads, FindingRecord, FindingsKey
from service.ingest import Ingest
from service.reads import EventRecord, Reads
from service.settings import Settings
from service.streams import Feed
from service.view_reads import ViewKey, ViewReads


@dataclass(frozen=True)
class Context:
    settings: Settings
    reads: Reads
    ingest: Ingest
    findings: FindingReads
    views: ViewReads
    event_feed: Feed[EventRecord]  # the process's one reader of the event log, for subscriptions
    change_feed: Feed[Any]  # and of the finding change log
    event_loader: DataLoader[int, EventRecord | None] | None = None  # made per request
    view_loader: DataLoader[ViewKey, dict[str, Any] | None] | None = None  # made per request
    findings_loader: DataLoader[FindingsKey, list[FindingRecord]] | None = None  # made per request

    def for_request(self) -> Context:
        """A context with fresh loaders: a loader's cache must not outlive its request."""
        return replace(
            self,
            event_loader=DataLoader(load_fn=self.findings.events_at),
            view_loader=DataLoader(load_fn=self.views.load),
            findings_loader=DataLoader(load_fn=self.findings.of_accounts),
        )

    def account_findings(self) -> DataLoader[FindingsKey, list[FindingRecord]]:
        assert self.findings_loader is not None, "a request's context has its loaders"
        return self.findings_loader

    def account_views(self) -> DataLoader[ViewKey, dict[str, Any] | None]:
        assert self.view_loader is not None, "a request's context has its loaders"
        return self.view_loader

    def events(self) -> DataLoader[int, EventRecord | None]:
        assert self.event_loader is not None, "a request's context has its loaders"
        return self.event_loader


Info = StrawberryInfo[Context, None]
