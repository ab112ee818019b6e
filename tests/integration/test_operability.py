"""Operating the running service: /healthz, /readyz, /metrics, request ids in JSON logs, traces."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.observability.collector import LiveCollector
from service.observability.endpoints import Operability
from service.observability.logs import JsonFormatter, RequestContext
from service.observability.metrics import Metrics
from service.observability.probe import projection_state
from service.projection.view_store import WRITE_LOCK
from service.read.accounts import EventRecord
from service.settings import Settings
from service.stream.feed import Feed, FellBehind
from service.stream.logs import EVENT_LOG, event_selection
from service.stream.notifier import LogNotifier
from tests.conftest import RunningServer
from tests.integration.test_event_stream import opened, outreach
from tests.integration.test_feed import HandNotifier
from tests.support import RECORD, event, graphql, record, unique

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def eventually(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_healthz_answers_as_long_as_the_process_serves(client: httpx.Client) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "alive"}


def test_readyz_is_ready_once_the_projection_has_caught_up(client: httpx.Client) -> None:
    record(client, [outreach(unique(), 0)])
    answer = eventually(lambda: (got := client.get("/readyz")).status_code == 200
                        and got.json()["projection"]["lagEvents"] == 0 and got)
    assert answer, client.get("/readyz").text
    body = answer.json()
    assert body["status"] == "ready" and set(body["projection"]) == {"head", "position", "lagEvents", "lagSeconds"}
    assert body["projection"]["head"] >= body["projection"]["position"] > 0


@pytest.fixture
def held_projector(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """The views' write lock, held: every projector waits (as behind a stuck one) until the test lets go."""
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        yield holder
        holder.rollback()


def test_readyz_fails_with_its_reason_while_the_projection_is_behind(
    client: httpx.Client, settings: Settings, held_projector: psycopg.Connection[Any], database_url: str
) -> None:
    with RunningServer(replace(settings, projector="off", ready_max_lag_events=2)) as url, \
            httpx.Client(base_url=url, timeout=30) as replica:
        accounts = [unique() for _ in range(3)]
        record(client, [outreach(account, n) for n, account in enumerate(accounts)])
        with psycopg.connect(database_url, autocommit=True) as other:  # as an account left due a minute ago
            other.execute("INSERT INTO cx360_view_schedule (account_id, due_at) VALUES (%s, now() - interval '1 minute')"
                          " ON CONFLICT (account_id) DO UPDATE SET due_at = excluded.due_at", (accounts[0],))
            other.execute("INSERT INTO cx360_view_attribution_stale (month, version) VALUES ('2001-01-01', 0)"
                          " ON CONFLICT DO NOTHING")
        answer = replica.get("/readyz")
        assert answer.status_code == 503, answer.text
        assert "events behind (CX360_READY_MAX_LAG_EVENTS=2)" in answer.json()["reason"]
        samples = scrape(replica)
        assert value(samples, "cx360_projection_lag_events") >= 3 and value(samples, "cx360_database_up") == 1
        assert value(samples, "cx360_projection_lag_seconds") > 0
        assert value(samples, "cx360_projection_due_accounts") >= 1 and value(samples, "cx360_projection_due_seconds") >= 60
        assert value(samples, "cx360_attribution_stale_months") >= 1  # its store waits for the lock held
        held_projector.rollback()  # the projectors go on
        assert eventually(lambda: replica.get("/readyz").status_code == 200)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as opened_pool:
        yield opened_pool


async def test_without_an_answer_from_the_database_readiness_and_the_scrape_say_so(
    database_url: str, settings: Settings
) -> None:
    closed = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    await closed.close()
    operability = Operability(closed, Metrics(), LiveCollector(), settings)
    metrics_registry = operability.metrics.registry
    metrics_registry.register(operability.live)
    ready, body = await operability.readiness()
    assert not ready and body == {"status": "unavailable", "reason": "the database did not answer within 2s"}
    exposition, content_type = await operability.exposition(None)
    text = exposition.decode()
    assert "cx360_database_up 0.0" in text and "cx360_projection_lag_events" not in text
    assert content_type.startswith("text/plain")


async def test_a_running_rebuild_has_a_checkpoint_of_its_own(base_url: str, pool: asyncpg.Pool) -> None:
    """While `cx360 rebuild` runs, its shadow view has a tracking table of its own (here, one made by hand)."""
    assert (await projection_state(pool)).rebuild_position is None
    await pool.execute("CREATE TABLE cx360_view_next_tracking (application_name text, notification_id bigint)")
    try:
        await pool.execute("INSERT INTO cx360_view_next_tracking VALUES ('cx360', 7)")
        state = await projection_state(pool)
        assert state.rebuild_position == 7 and state.checkpoints["cx360_view_next"] == 7
    finally:
        await pool.execute("DROP TABLE cx360_view_next_tracking")


def test_metrics_count_what_was_taken_in_and_time_each_operation(client: httpx.Client) -> None:
    before = scrape(client)
    account = unique()
    batch = [outreach(account, 0), outreach(account, 1)]
    named_record = RECORD.replace("mutation Record(", "mutation OpsRecord(")
    first = graphql(client, named_record, {"events": batch})["data"]["recordEvents"]
    unknown = {**outreach(account, 2), "type": "no.such.type"}
    again = graphql(client, named_record, {"events": [*batch, unknown, event(account_id=account, data={})]}
                    )["data"]["recordEvents"]
    assert (first["accepted"], again["duplicates"]) == (2, 2)
    assert {each["index"] for each in again["rejected"]} == {2, 3}  # the second event has several faults
    for _ in range(2):
        assert "errors" not in graphql(client, "query OpsPanel($id: ID!) { account(id: $id) { id } }", {"id": account})
    # the projector has taken these events in (whatever ran before this test): its position is a real one
    eventually(lambda: value(scrape(client), "cx360_projection_checkpoint_position", view="cx360_view") > 0)
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("cx360_events_accepted_total") == 2 and grew("cx360_events_duplicate_total") == 2
    assert grew("cx360_events_rejected_total", reason="unknown_type") == 1
    assert grew("cx360_events_rejected_total", reason="missing_field") == 1
    assert grew("cx360_graphql_request_duration_seconds_count", operation_type="mutation",
                operation_name="OpsRecord") == 2
    assert grew("cx360_graphql_request_duration_seconds_count", operation_type="query", operation_name="OpsPanel") == 2
    assert value(after, "cx360_database_up") == 1
    assert value(after, "cx360_event_log_head_position") >= value(after, "cx360_projection_checkpoint_position",
                                                                  view="cx360_view") > 0
    assert value(after, "cx360_listener_connected", listener="events") == 1
    for name in ("cx360_projection_lag_events", "cx360_projection_lag_seconds", "cx360_projection_due_accounts",
                 "cx360_projection_due_seconds", "cx360_attribution_stale_months", "process_resident_memory_bytes"):
        assert (name, frozenset()) in after, name
    openmetrics = client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")


async def test_open_subscriptions_are_counted_while_they_last(client: httpx.Client, base_url: str) -> None:
    def open_now() -> float:
        return value(scrape(client), "cx360_subscriptions_open", stream="events")

    before = await asyncio.to_thread(open_now)
    socket = await opened(base_url, {"accountId": unique()})
    assert socket.response is not None and len(socket.response.headers["x-request-id"]) == 32  # the handshake's
    assert await asyncio.to_thread(eventually, lambda: open_now() == before + 1)
    await socket.close()
    assert await asyncio.to_thread(eventually, lambda: open_now() == before)


async def itself(item: EventRecord) -> EventRecord:
    return item


async def test_a_slow_consumer_cut_off_is_counted_with_its_cause(client: httpx.Client, pool: asyncpg.Pool) -> None:
    notifier, metrics = HandNotifier(), Metrics()
    feed: Feed[EventRecord] = Feed(pool, notifier, EVENT_LOG, metrics=metrics)  # type: ignore[arg-type]
    await feed.start()
    try:
        account = unique()
        stream = feed.follow(None, event_selection(None, account), itself, 2)
        first = asyncio.create_task(anext(stream))  # attaches, then waits for rows
        while feed.subscriptions < 1:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(record, client, [outreach(account, n) for n in range(5)])
        notifier.notified()
        await first
        with pytest.raises(FellBehind):
            async with asyncio.timeout(10):
                async for _ in stream:
                    pass
        cutoffs = metrics.registry.get_sample_value
        assert cutoffs("cx360_subscription_cutoffs_total", {"stream": "events", "cause": "buffer"}) == 1
        assert cutoffs("cx360_subscription_cutoffs_total", {"stream": "events", "cause": "connection_budget"}) == 0
        assert feed.subscriptions == 0
    finally:
        await feed.stop()


async def test_a_listener_opened_again_after_its_connection_was_lost_is_counted(database_url: str) -> None:
    name = f"cx360-ops-{unique()}"
    dsn = f"{database_url}{'&' if '?' in database_url else '?'}application_name={name}"
    metrics = Metrics()
    notifier = LogNotifier(dsn, "cx360_ops_test", 0.1, name="events", metrics=metrics)
    await notifier.start()
    try:
        async with asyncio.timeout(10):
            while not notifier.listening:
                await asyncio.sleep(0.02)
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                                name)
        finally:
            await admin.close()
        def reconnects() -> float | None:
            return metrics.registry.get_sample_value("cx360_listener_reconnects_total", {"listener": "events"})

        async with asyncio.timeout(10):
            while reconnects() == 0 or not notifier.listening:
                await asyncio.sleep(0.02)
        assert reconnects() == 1
    finally:
        await notifier.stop()


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The service's log lines as CX360_LOG_FORMAT=json writes them, at INFO."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContext())
    logger = logging.getLogger("service")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_request_id_is_returned_and_carried_by_every_log_line_of_its_request(
    client: httpx.Client, json_lines: io.StringIO
) -> None:
    given = f"ops-{unique()}"
    answer = client.post("/graphql", json={"query": "{ account(id: "}, headers={"x-request-id": given})
    assert answer.headers["x-request-id"] == given and answer.json()["errors"]
    generated = client.post("/graphql", json={"query": "{ nothing }"}, headers={"x-request-id": "not a sane id"})
    assert len(generated.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    ours = [line for line in lines if line.get("request_id") == given]
    assert ours and all(line["logger"].startswith("service.") and line["time"] for line in ours), lines
    assert any(line.get("request_id") == generated.headers["x-request-id"] for line in lines)


def test_a_request_makes_a_span_named_with_its_operation_and_request_id(settings: Settings) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="traces need the `otel` extra: pip install -e '.[test]'")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with RunningServer(replace(settings, projector="off"), tracer_provider=provider) as url, \
            httpx.Client(base_url=url, timeout=30) as traced:
        answer = traced.post("/graphql", json={"query": "query TracedPanel { accounts(first: 1) { edges { cursor } } }"},
                             headers={"x-request-id": "traced-1"})
        assert answer.status_code == 200 and "errors" not in answer.json()
        assert traced.get("/healthz").status_code == 200
    provider.force_flush()
    spans = exporter.get_finished_spans()
    server = [span for span in spans if (span.attributes or {}).get("cx360.request_id") == "traced-1"]
    assert len(server) == 1, [span.name for span in spans]
    attributes = server[0].attributes or {}
    assert attributes["graphql.operation.type"] == "query" and attributes["graphql.operation.name"] == "TracedPanel"
    assert server[0].name.startswith("POST")
    assert not [span for span in spans if "healthz" in span.name]  # health checks are not traced
