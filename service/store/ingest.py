"""Taking a batch of events in: validate each, store the valid ones in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from domain.validation import Limits, Rejection, validate_batch
from service.observability.metrics import Metrics
from service.store.event_store import EventStore, RecordOutcome


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[Rejection]
    positions: dict[int, int]


class Ingest:
    """The write path. Validation and the append run in a worker thread: both block."""

    def __init__(self, store: EventStore, limits: Limits, metrics: Metrics | None = None) -> None:
        self.store = store
        self.limits = limits
        self.metrics = metrics if metrics is not None else Metrics()

    async def record(self, raws: Sequence[Mapping[str, Any]]) -> IngestResult:
        return await anyio.to_thread.run_sync(self.record_sync, raws)

    def record_sync(self, raws: Sequence[Mapping[str, Any]]) -> IngestResult:
        valid, rejections = validate_batch(raws, self.limits)
        outcome = self.store.record(valid) if valid else RecordOutcome(0, 0, {})
        self.metrics.ingested(outcome.accepted, outcome.duplicates, rejections)  # not reached when the append failed
        return IngestResult(outcome.accepted, outcome.duplicates, rejections, outcome.positions)
