"""Metrics read when `/metrics` is scraped: the projection's progress from the database, and what is open now.

prometheus_client calls a collector synchronously; the database is read before that,
asynchronously and under a timeout (`Scrape.refresh`), and the collector hands out
what was read. A scrape whose database read failed has `cx360_database_up 0` and no
projection metrics, rather than stale ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.observability.probe import ProjectionState


class Followed(Protocol):
    """A feed: how many subscriptions follow it now."""

    @property
    def subscriptions(self) -> int: ...


class Listening(Protocol):
    """A LISTEN connection: whether it is up now."""

    @property
    def listening(self) -> bool: ...


class LiveCollector(Collector):
    """Gauges of the moment: subscriptions, listeners, and the projection state read for this scrape."""

    def __init__(self) -> None:
        self.feeds: Mapping[str, Followed] = {}
        self.listeners: Mapping[str, Listening] = {}
        self.state: ProjectionState | None = None
        self.database_up = False

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_now = GaugeMetricFamily("cx360_subscriptions_open", "Subscriptions open now, by stream.",
                                     labels=["stream"])
        for stream, feed in self.feeds.items():
            open_now.add_metric([stream], feed.subscriptions)
        yield open_now
        listening = GaugeMetricFamily("cx360_listener_connected",
                                      "1 while the PostgreSQL LISTEN connection is up; 0 while its readers poll.",
                                      labels=["listener"])
        for name, listener in self.listeners.items():
            listening.add_metric([name], 1 if listener.listening else 0)
        yield listening
        yield GaugeMetricFamily("cx360_database_up", "1 if the database answered this scrape's read in time.",
                                value=1 if self.database_up else 0)
        if self.state is not None:
            yield from projection_families(self.state)


def projection_families(state: ProjectionState) -> Iterator[GaugeMetricFamily]:
    yield GaugeMetricFamily("cx360_event_log_head_position", "The last notification id of the event store's log.",
                            value=state.head)
    yield GaugeMetricFamily("cx360_projection_lag_events",
                            "Events stored that the findings view has not taken in yet.", value=state.lag_events)
    yield GaugeMetricFamily("cx360_projection_lag_seconds",
                            "How long ago the oldest event not yet taken in was recorded; 0 when none waits.",
                            value=state.lag_seconds)
    yield GaugeMetricFamily("cx360_projection_due_accounts",
                            "Accounts whose time to be judged again has come and who wait for it: views after their"
                            " events, deadlines passed, accounts left due after a late event (counted up to"
                            " 10,000).", value=state.due_accounts)
    yield GaugeMetricFamily("cx360_projection_due_seconds",
                            "How long the account due longest has waited; 0 when none waits.", value=state.due_seconds)
    yield GaugeMetricFamily("cx360_attribution_stale_months",
                            "Months over whose data-driven attribution credits wait to be learnt again after a late"
                            " event (the month running is not counted); 0 within a second or so on a projector that"
                            " keeps up.", value=state.stale_months)
    checkpoints = GaugeMetricFamily("cx360_projection_checkpoint_position",
                                    "The log position a view has taken in, by view (its tables' name).",
                                    labels=["view"])
    for view, position in state.checkpoints.items():
        checkpoints.add_metric([view], position)
    yield checkpoints
