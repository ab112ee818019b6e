"""The typed context every resolver receives: shared services, and loaders made per request."""

from __future__ import annotations

from dataclasses import dataclass, replace

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from service.finding_reads import FindingReads
from service.ingest import Ingest
from service.reads import EventRecord, Reads
from service.settings import Settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    reads: Reads
    ingest: Ingest
    findings: FindingReads
    event_loader: DataLoader[int, EventRecord | None] | None = None  # made per request

    def for_request(self) -> Context:
        """A context with fresh loaders: a loader's cache must not outlive its request."""
        return replace(self, event_loader=DataLoader(load_fn=self.findings.events_at))

    def events(self) -> DataLoader[int, EventRecord | None]:
        assert self.event_loader is not None, "a request's context has its loaders"
        return self.event_loader


Info = StrawberryInfo[Context, None]
