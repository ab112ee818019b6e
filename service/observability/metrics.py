"""The service's Prometheus metrics, on a registry of the application's own.

Counted where things happen: events taken in, GraphQL request latency, subscriptions
cut off, listeners reconnecting. What the database knows (projection lag, checkpoint
positions) and what is open now (subscriptions, listeners) is read when scraped
(`service.observability.collector`). Every label has a small, fixed set of values.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from domain.validation import Rejection

OPERATION_TYPES = ("query", "mutation", "subscription")
UNKNOWN = "unknown"  # the operation type when none could be told (a malformed request, GraphiQL's page)
ANONYMOUS = "(anonymous)"  # the name of an unnamed or unknown operation
OTHER = "(other)"  # the name of every operation named after the first `MAX_OPERATION_NAMES`
MAX_OPERATION_NAMES = 100
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")

REJECTION_REASONS = ("unknown_type", "missing_field", "too_large", "bad_value")
STREAMS = ("events", "finding_changes")
CUTOFF_CAUSES = ("buffer", "connection_budget")
LISTENERS = ("events", "finding_changes", "projector")
LIMIT_MESSAGES = ("characters (got", "nested deeper than", "keys (got")  # domain.validation's size limits


def rejection_reason(rejection: Rejection) -> str:
    """The kind of a rejection, one of `REJECTION_REASONS` (its field would be an unbounded label)."""
    if rejection.field == "type" and rejection.message.startswith("unknown event type"):
        return "unknown_type"
    if rejection.message == "is required":
        return "missing_field"
    if rejection.message.startswith("must be at most") or any(text in rejection.message for text in LIMIT_MESSAGES):
        return "too_large"
    return "bad_value"


class OperationNames:
    """Operation names as label values: the first `limit` distinct names keep theirs, later ones share `(other)`.

    A name is chosen by the client: without a cap, each new name would add series for good.
    """

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name or not GRAPHQL_NAME.fullmatch(name):
            return ANONYMOUS
        if name in self.seen:
            return name
        with self.lock:
            if len(self.seen) >= self.limit:
                return OTHER
            self.seen.add(name)
            return name


class Metrics:
    """Every metric the API's process keeps; `registry` is what `/metrics` serves."""

    def __init__(self, registry: CollectorRegistry | None = None, *, operation_names: int = MAX_OPERATION_NAMES) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self.events_accepted = Counter(
            "cx360_events_accepted", "Events newly stored by recordEvents.", registry=self.registry)
        self.events_duplicate = Counter(
            "cx360_events_duplicate", "Events sent again (same source and id): already stored, not stored twice.",
            registry=self.registry)
        self.events_conflict = Counter(
            "cx360_events_conflict", "Events sent again (same source and id) with different content: not stored.",
            registry=self.registry)
        self.events_rejected = Counter(
            "cx360_events_rejected", "Events rejected, by the kind of their first fault.", ["reason"],
            registry=self.registry)
        self.request_duration = Histogram(
            "cx360_graphql_request_duration_seconds",
            "Time to answer a GraphQL request over HTTP, from its first byte in to its last byte out.",
            ["operation_type", "operation_name"], registry=self.registry)
        self.subscription_cutoffs = Counter(
            "cx360_subscription_cutoffs", "Subscriptions ended because their client fell behind.",
            ["stream", "cause"], registry=self.registry)
        self.listener_reconnects = Counter(
            "cx360_listener_reconnects",
            "Times a PostgreSQL LISTEN connection was opened again after it was lost or could not be opened.",
            ["listener"], registry=self.registry)
        self.operation_names = OperationNames(operation_names)
        for reason in REJECTION_REASONS:  # every series exists from the start, at 0
            self.events_rejected.labels(reason)
        for stream in STREAMS:
            for cause in CUTOFF_CAUSES:
                self.subscription_cutoffs.labels(stream, cause)
        for listener in LISTENERS:
            self.listener_reconnects.labels(listener)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def ingested(self, accepted: int, duplicates: int, rejections: Iterable[Rejection], conflicts: int = 0) -> None:
        """Count a batch's outcome; a rejected event counts once, under the kind of its first fault."""
        self.events_accepted.inc(accepted)
        self.events_duplicate.inc(duplicates)
        self.events_conflict.inc(conflicts)
        counted: set[int] = set()
        for rejection in rejections:
            if rejection.index not in counted:
                counted.add(rejection.index)
                self.events_rejected.labels(rejection_reason(rejection)).inc()

    def request_took(self, operation: tuple[str, str | None] | None, seconds: float) -> None:
        """Observe a GraphQL request's latency under its operation's type and (capped) name."""
        if operation is None or operation[0] not in OPERATION_TYPES:
            self.request_duration.labels(UNKNOWN, ANONYMOUS).observe(seconds)
            return
        self.request_duration.labels(operation[0], self.operation_names.label(operation[1])).observe(seconds)

    def cut_off(self, stream: str, cause: str) -> None:
        self.subscription_cutoffs.labels(stream, cause).inc()

    def reconnected(self, listener: str) -> None:
        self.listener_reconnects.labels(listener).inc()
