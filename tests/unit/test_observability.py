"""Operability without a database: log formats, request ids, bounded labels, readiness thresholds, tracing switches."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from domain.validation import Limits, Rejection, validate_event
from service.observability.context import CURRENT, RequestInfo, label_operation, request_id_from
from service.observability.endpoints import from_loopback, lag_problem
from service.observability.logs import JsonFormatter, RequestContext, TextFormatter
from service.observability.metrics import ANONYMOUS, OTHER, Metrics, OperationNames, rejection_reason
from service.observability.probe import ProjectionState, waited
from service.observability.requests import RequestObservation
from service.observability.traces import start_tracing
from service.settings import Settings, SettingsError, traces_requested


def record_of(message: str, *args: object, exc_info: Any = None) -> logging.LogRecord:
    record = logging.LogRecord("service.test", logging.WARNING, __file__, 1, message, args, exc_info)
    RequestContext().filter(record)
    return record


def test_a_json_line_has_the_time_level_logger_message_and_the_request_id() -> None:
    token = CURRENT.set(RequestInfo("req-1"))
    try:
        line = json.loads(JsonFormatter().format(record_of("account %s: %d events", "acmé", 3)))
    finally:
        CURRENT.reset(token)
    assert line["level"] == "WARNING" and line["logger"] == "service.test" and line["request_id"] == "req-1"
    assert line["message"] == "account acmé: 3 events" and line["time"].endswith("+00:00")
    assert "trace_id" not in line and "exception" not in line
    token = CURRENT.set(RequestInfo("req-1", trace_id="0af7651916cd43dd8448eb211c80319c"))
    try:
        assert json.loads(JsonFormatter().format(record_of("traced")))["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    finally:
        CURRENT.reset(token)


def test_a_json_line_outside_a_request_has_no_request_id_and_carries_the_exception_on_one_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        text = JsonFormatter().format(record_of("failed", exc_info=sys.exc_info()))
    assert "\n" not in text
    line = json.loads(text)
    assert "request_id" not in line and line["exception"].startswith("Traceback") and "bad\nvalue" in line["exception"]


def test_a_text_line_ends_with_the_request_id_within_a_request() -> None:
    token = CURRENT.set(RequestInfo("req-2"))
    try:
        inside = TextFormatter().format(record_of("hello"))
    finally:
        CURRENT.reset(token)
    assert inside.endswith("WARNING service.test: hello request_id=req-2")
    assert TextFormatter().format(record_of("hello")).endswith("WARNING service.test: hello")


@pytest.mark.parametrize(("header", "kept"), [
    (b"abc-123", True), (b"0f3c5d1e-7a1b-4c2d-9e8f-001122334455", True), (b"trace:span/1+x=", True),
    (b"has spaces", False), (b"line\nbreak", False), (b"x" * 129, False), (b"", False), (b"caf\xc3\xa9", False),
])
def test_an_incoming_request_id_is_kept_only_when_sane(header: bytes, kept: bool) -> None:
    found = request_id_from(header)
    assert (found == header.decode("latin-1")) == kept
    assert len(request_id_from(None)) == 32 and request_id_from(None) != request_id_from(None)


def test_operation_names_are_capped_and_the_unnamed_share_one_label() -> None:
    names = OperationNames(limit=3)
    assert [names.label(name) for name in ("A", "B", None, "", "C", "D", "A", "E")] == [
        "A", "B", ANONYMOUS, ANONYMOUS, "C", OTHER, "A", OTHER]
    assert names.label("not a graphql name!") == ANONYMOUS and names.label("x" * 101) == ANONYMOUS


def test_latency_is_labelled_by_operation_type_and_capped_name() -> None:
    metrics = Metrics(operation_names=1)
    for operation in (("query", "Panel"), ("mutation", "Record"), ("query", None), None, ("bogus", "X")):
        metrics.request_took(operation, 0.01)
    count = {tuple(sorted(sample.labels.items())): sample.value
             for family in metrics.registry.collect() if family.name == "cx360_graphql_request_duration_seconds"
             for sample in family.samples if sample.name.endswith("_count")}
    assert count == {
        (("operation_name", "Panel"), ("operation_type", "query")): 1,
        (("operation_name", OTHER), ("operation_type", "mutation")): 1,
        (("operation_name", ANONYMOUS), ("operation_type", "query")): 1,
        (("operation_name", ANONYMOUS), ("operation_type", "unknown")): 2,
    }


def faults_of(raw: dict[str, Any]) -> list[Rejection]:
    outcome = validate_event(raw, 0, Limits(max_string_length=20, max_data_depth=2))
    assert isinstance(outcome, list), outcome
    return outcome


ENVELOPE = {"id": "e-1", "source": "crm", "accountId": "a-1", "occurredAt": "2026-03-02T09:14:00Z"}


@pytest.mark.parametrize(("raw", "reason"), [
    ({**ENVELOPE, "type": "sales.nothing", "data": {}}, "unknown_type"),
    ({**ENVELOPE, "type": "support.ticket.opened", "data": {}}, "missing_field"),
    ({**ENVELOPE, "source": None, "type": "sales.outreach.sent", "data": {"channel": "email", "intent": "follow_up"}},
     "missing_field"),
    ({**ENVELOPE, "type": "sales.outreach.sent", "data": {"channel": "email", "intent": "follow_up", "x": "y" * 21}},
     "too_large"),
    ({**ENVELOPE, "type": "sales.outreach.sent", "data": {"channel": "email", "intent": "follow_up",
                                                           "x": {"y": {"z": 1}}}}, "too_large"),
    ({**ENVELOPE, "source": "s" * 101, "type": "sales.outreach.sent",
      "data": {"channel": "email", "intent": "follow_up"}}, "too_large"),
    ({**ENVELOPE, "type": "sales.outreach.sent", "data": {"channel": "pigeon", "intent": "follow_up"}}, "bad_value"),
    ({**ENVELOPE, "occurredAt": "yesterday", "type": "sales.outreach.sent",
      "data": {"channel": "email", "intent": "follow_up"}}, "bad_value"),
])
def test_a_rejection_has_one_of_a_few_reasons(raw: dict[str, Any], reason: str) -> None:
    assert rejection_reason(faults_of(raw)[0]) == reason


def test_a_rejected_event_counts_once_under_its_first_fault() -> None:
    metrics = Metrics()
    rejections = [Rejection(0, "a", "type", "unknown event type 'x'"), Rejection(0, "a", "data", "must be an object"),
                  Rejection(2, "c", "data.score", "is required")]
    metrics.ingested(accepted=5, duplicates=1, rejections=rejections)
    value = metrics.registry.get_sample_value
    assert value("cx360_events_accepted_total") == 5 and value("cx360_events_duplicate_total") == 1
    assert value("cx360_events_rejected_total", {"reason": "unknown_type"}) == 1
    assert value("cx360_events_rejected_total", {"reason": "missing_field"}) == 1
    assert value("cx360_events_rejected_total", {"reason": "bad_value"}) == 0


def test_each_metrics_object_has_a_registry_of_its_own() -> None:
    Metrics(), Metrics()  # no "duplicated timeseries" error
    shared = CollectorRegistry()
    Metrics(shared)
    assert shared.get_sample_value("cx360_events_accepted_total") == 0


STATE = ProjectionState(head=1_000, position=990, rebuild_position=None, lag_seconds=12.0)


@pytest.mark.parametrize(("events", "seconds", "problem"), [
    (10_000, 300, None), (5, 300, "CX360_READY_MAX_LAG_EVENTS=5"), (10_000, 10, "CX360_READY_MAX_LAG_SECONDS=10"),
    (0, 0, None),
])
def test_readiness_fails_past_either_threshold_and_zero_is_no_limit(events: int, seconds: int,
                                                                    problem: str | None) -> None:
    found = lag_problem(STATE, Settings(ready_max_lag_events=events, ready_max_lag_seconds=seconds))
    assert found is None if problem is None else problem in (found or "")


def test_the_lag_in_seconds_is_counted_from_the_recording_of_the_oldest_waiting_event() -> None:
    from datetime import datetime, timezone

    state = json.dumps({"timestamp": "2026-03-02T09:14:00+00:00", "id": "x"}).encode()
    assert waited(state, datetime(2026, 3, 2, 9, 15, 30, tzinfo=timezone.utc)) == 90.0
    assert waited(None) == 0.0
    assert STATE.lag_events == 10 and STATE.checkpoints == {"cx360_view": 990}


@pytest.mark.parametrize(("client", "local"), [
    (("127.0.0.1", 5000), True), (("127.8.0.2", 1), True), (("::1", 1), True), (("10.0.0.5", 1), False),
    (("192.168.1.2", 1), False), (None, False), (("not-an-address", 0), False),
])
def test_only_the_loopback_interface_counts_as_local(client: tuple[str, int] | None, local: bool) -> None:
    assert from_loopback({"type": "http", "client": client}) is local


def small_app(metrics: Metrics) -> Starlette:
    async def graphql(request: Request) -> PlainTextResponse:
        label_operation("query", "Small")
        logging.getLogger("service.test").warning("answering")
        return PlainTextResponse("ok")

    async def other(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/other", other)],
                     middleware=[Middleware(RequestObservation, metrics=metrics)])


async def test_the_middleware_returns_the_id_logs_with_it_and_times_graphql_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    caplog.handler.addFilter(RequestContext())
    transport = httpx.ASGITransport(app=small_app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with caplog.at_level(logging.WARNING, "service.test"):
            answered = await client.post("/graphql", headers={"x-request-id": "given-1"})
        other = await client.get("/other", headers={"x-request-id": "bad id"})
    assert answered.headers["x-request-id"] == "given-1"
    assert len(other.headers["x-request-id"]) == 32
    assert [getattr(record, "request_id", None) for record in caplog.records] == ["given-1"]
    counts = [sample for family in metrics.registry.collect() for sample in family.samples
              if sample.name == "cx360_graphql_request_duration_seconds_count"]
    assert [(sample.labels, sample.value) for sample in counts] == [
        ({"operation_type": "query", "operation_name": "Small"}, 1)]  # /other is not timed
    assert CURRENT.get() is None  # the request's context ends with it


def test_bad_operability_settings_are_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="CX360_LOG_FORMAT"):
        Settings.from_env({"CX360_LOG_FORMAT": "xml"})
    with pytest.raises(SettingsError, match="CX360_READY_MAX_LAG_EVENTS"):
        Settings.from_env({"CX360_READY_MAX_LAG_EVENTS": "-1"})
    settings = Settings.from_env({"CX360_LOG_FORMAT": "json", "CX360_READY_MAX_LAG_SECONDS": "0"})
    assert settings.log_format == "json" and settings.ready_max_lag_seconds == 0


@pytest.mark.parametrize(("environ", "requested"), [
    ({}, False), ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "console"}, True), ({"OTEL_TRACES_EXPORTER": "none"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_TRACES_EXPORTER": "none"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_SDK_DISABLED": "true"}, False),
])
def test_traces_are_on_only_when_the_standard_variables_ask(environ: dict[str, str], requested: bool) -> None:
    assert traces_requested(environ) is requested


def test_asked_for_traces_without_the_packages_the_service_says_so_once_and_runs_without(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "service.observability.otel", None)  # as if the extra were not installed
    with caplog.at_level(logging.WARNING, "service.observability.traces"):
        assert start_tracing(Settings(tracing=True)) is None
    assert [record.getMessage() for record in caplog.records if "cx360[otel]" in record.getMessage()] != []
    assert len(caplog.records) == 1
    assert start_tracing(Settings(tracing=False)) is None


OTEL_MISSING = "traces need the `otel` extra: pip install -e '.[test]' (CI installs it)"


def test_the_trace_exporters_are_chosen_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("opentelemetry.sdk", reason=OTEL_MISSING)
    from service.observability.otel import exporter_named, exporter_names

    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    assert exporter_names() == ["otlp_proto_grpc"]  # the SDK's default: OTLP over gRPC
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp, console")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    assert exporter_names() == ["otlp_proto_http", "console"]
    exporter = exporter_named("otlp_proto_http")
    assert exporter is not None and type(exporter).__name__ == "OTLPSpanExporter"
    exporter.shutdown()
    assert exporter_named("no-such-exporter") is None


@pytest.mark.parametrize(("service_name", "expected"), [(None, "cx360"), ("billing-api", "billing-api")])
def test_the_provider_made_from_the_environment_names_the_service(
    monkeypatch: pytest.MonkeyPatch, service_name: str | None, expected: str
) -> None:
    pytest.importorskip("opentelemetry.sdk", reason=OTEL_MISSING)
    from service.observability import otel

    monkeypatch.setattr(otel.trace, "set_tracer_provider", lambda provider: None)  # the process's global stays unset
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    if service_name is None:
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    else:
        monkeypatch.setenv("OTEL_SERVICE_NAME", service_name)
    tracing = start_tracing(Settings(tracing=True))
    assert tracing is not None and tracing.owned
    assert tracing.provider.resource.attributes["service.name"] == expected
    tracing.shutdown()
