"""Taking a batch of events in: validate each, store the valid ones in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from domain.validation import Limits, Rejection, ValidEvent, validate_batch
from service.observability.metrics import Metrics
from service.store.event_store import EventStore, RecordOutcome, StoreUnavailable

GRACE_SECONDS = 1.0  # beyond the write timeout, before a store that has not answered is given up on


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[Rejection]
    positions: dict[int, int]


class Ingest:
    """The write path. Validation and the append run in worker threads: both block."""

    def __init__(self, store: EventStore, limits: Limits, metrics: Metrics | None = None) -> None:
        self.store = store
        self.limits = limits
        self.metrics = metrics if metrics is not None else Metrics()

    async def record(self, raws: Sequence[Mapping[str, Any]]) -> IngestResult:
        valid, rejections = await anyio.to_thread.run_sync(validate_batch, raws, self.limits)
        outcome = await self.store_bounded(valid) if valid else RecordOutcome(0, 0, {})
        self.metrics.ingested(outcome.accepted, outcome.duplicates, rejections)  # not reached when the append failed
        return IngestResult(outcome.accepted, outcome.duplicates, rejections, outcome.positions)

    async def store_bounded(self, valid: Sequence[tuple[int, ValidEvent]]) -> RecordOutcome:
        """The store's outcome; if it has not answered a little after its own deadline (a server gone
        silent mid-commit), the client is told the truth: the batch may or may not be stored."""
        with anyio.move_on_after(self.store.write_timeout + GRACE_SECONDS):
            return await anyio.to_thread.run_sync(self.store.record, valid, abandon_on_cancel=True)
        raise StoreUnavailable(f"the event store did not answer within {self.store.write_timeout:g}s", stored=None)
