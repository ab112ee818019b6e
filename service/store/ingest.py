"""Taking a batch of events in: validate each, store the valid ones in one transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from domain.validation import Limits, Rejection, ValidEvent, validate_batch
from service.observability.metrics import Metrics
from service.store.conflicts import Conflict
from service.store.event_store import Encoded, EventStore, RecordOutcome, StoreUnavailable
from service.webhooks import SOURCE_PREFIX

GRACE_SECONDS = 1.0  # beyond the write timeout, before a store that has not answered is given up on


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[Rejection]
    positions: dict[int, int]
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class Checked:
    """A batch validated, its valid events encoded for the append (`EventStore.encode`)."""

    rejections: list[Rejection]
    encoded: Encoded


class Ingest:
    """The write path. Validation and the append run in worker threads: both block."""

    def __init__(self, store: EventStore, limits: Limits, metrics: Metrics | None = None) -> None:
        self.store = store
        self.limits = limits
        self.metrics = metrics if metrics is not None else Metrics()

    async def record(self, raws: Sequence[Mapping[str, Any]], sources: Collection[str] | None = None, *,
                     webhook: bool = False) -> IngestResult:
        """Validate and store the batch; with `sources`, events of any other source are rejected (a key
        restricted to its own sources); events of the webhooks' reserved sources are rejected but from a
        `webhook`."""
        return await self.store_checked(await self.check(raws, sources, webhook=webhook))

    async def check(self, raws: Sequence[Mapping[str, Any]], sources: Collection[str] | None = None, *,
                    webhook: bool = False) -> Checked:
        """The batch validated and encoded (in a worker thread): the first half of `record`. A bulk producer
        checks its next batch while this one is stored."""
        return await anyio.to_thread.run_sync(self.checked, raws, sources, webhook)

    def checked(self, raws: Sequence[Mapping[str, Any]], sources: Collection[str] | None, webhook: bool) -> Checked:
        valid, rejections = checked_batch(raws, self.limits, sources, webhook)
        return Checked(rejections, self.store.encode(valid))

    async def store_checked(self, checked: Checked) -> IngestResult:
        """Store the valid events of a checked batch: the second half of `record`."""
        outcome = await self.store_bounded(checked.encoded) if checked.encoded.size else RecordOutcome(0, 0, {})
        rejections = checked.rejections
        # not reached when the append failed
        self.metrics.ingested(outcome.accepted, outcome.duplicates, rejections, len(outcome.conflicts))
        return IngestResult(outcome.accepted, outcome.duplicates, rejections, outcome.positions, outcome.conflicts)

    async def store_bounded(self, encoded: Encoded) -> RecordOutcome:
        """The store's outcome; if it has not answered a little after its own deadline (a server gone
        silent mid-commit), the client is told the truth: the batch may or may not be stored."""
        with anyio.move_on_after(self.store.write_timeout + GRACE_SECONDS):
            return await anyio.to_thread.run_sync(self.store.record_encoded, encoded, abandon_on_cancel=True)
        raise StoreUnavailable(f"the event store did not answer within {self.store.write_timeout:g}s", stored=None)


def checked_batch(raws: Sequence[Mapping[str, Any]], limits: Limits, sources: Collection[str] | None,
                  webhook: bool = False) -> tuple[list[tuple[int, ValidEvent]], list[Rejection]]:
    """The batch validated, then each event of a webhook's reserved source (but from a `webhook`) or, for a key
    restricted to `sources`, of another source, rejected by its index (with its other faults, if it has any)."""
    valid, rejections = validate_batch(raws, limits)
    refused: set[int] = set()
    for index, raw in enumerate(raws):
        source = raw.get("source")
        if not isinstance(source, str):
            continue
        event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        if source.startswith(SOURCE_PREFIX) and not webhook:
            rejections.append(Rejection(index, event_id, "source", f"{source!r:.100}: sources starting with "
                                                                  f"{SOURCE_PREFIX!r} are the webhooks' own "
                                                                  "(docs/webhooks.md); record under another source"))
        elif sources is not None and source not in sources:
            allowed = ", ".join(repr(each) for each in sorted(sources))
            rejections.append(Rejection(index, event_id, "source", f"this API key may record events of the sources "
                                                                  f"{allowed} only (got {source!r:.100})"))
        else:
            continue
        refused.add(index)
    if not refused:
        return valid, rejections
    rejections.sort(key=lambda rejection: rejection.index)  # stable: an event's own faults stay in their order
    return [pair for pair in valid if pair[0] not in refused], rejections
