"""The OpenTelemetry SDK set up from its standard variables, and the ASGI instrumentation (the `otel` extra).

The exporter is chosen as the SDK's own auto-configuration does: `OTEL_TRACES_EXPORTER`
(`otlp` by default; `console`; several, comma-separated), OTLP over gRPC unless
`OTEL_EXPORTER_OTLP_PROTOCOL` (or its `_TRACES_` form) says `http/protobuf`; the
exporters read their endpoint, headers and timeouts from their own variables, the
tracer provider its sampler (`OTEL_TRACES_SAMPLER`) and resource
(`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`; the service is `cx360` unless named).
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.util.http import get_excluded_urls, parse_excluded_urls
from starlette.middleware import Middleware

from service.observability.context import RequestInfo

log = logging.getLogger(__name__)

EXPORTERS = "opentelemetry_traces_exporter"  # the entry point group the SDK's exporters register under
OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
NOT_TRACED = "/healthz$,/readyz$,/metrics$"  # unless OTEL_PYTHON_ASGI_EXCLUDED_URLS says otherwise


class Tracing:
    """A tracer provider, the ASGI middleware that opens a span per request, and the hook that annotates it."""

    def __init__(self, provider: TracerProvider, *, owned: bool) -> None:
        self.provider = provider
        self.owned = owned  # made here from the environment: shut down (its spans flushed) with the service

    def middleware(self) -> Middleware:
        excluded = get_excluded_urls("ASGI") if excluded_urls_configured() else parse_excluded_urls(NOT_TRACED)
        return Middleware(OpenTelemetryMiddleware, tracer_provider=self.provider, excluded_urls=excluded,
                          exclude_spans=["receive", "send"])

    def started(self, request: RequestInfo) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("cx360.request_id", request.request_id)
            request.trace_id = format(span.get_span_context().trace_id, "032x")

    def responding(self, request: RequestInfo) -> None:
        span = trace.get_current_span()
        if span.is_recording() and request.operation is not None:
            operation_type, name = request.operation
            span.set_attribute("graphql.operation.type", operation_type)
            if name:
                span.set_attribute("graphql.operation.name", name)

    def shutdown(self) -> None:
        if self.owned:
            self.provider.shutdown()


def excluded_urls_configured() -> bool:
    return bool(os.environ.get("OTEL_PYTHON_ASGI_EXCLUDED_URLS") or os.environ.get("OTEL_PYTHON_EXCLUDED_URLS"))


def configured_provider() -> TracerProvider | None:
    """A tracer provider exporting to the exporters the environment names (set as the global one), or None."""
    exporters = [exporter for name in exporter_names() if (exporter := exporter_named(name)) is not None]
    if not exporters:
        return None
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "cx360"}))
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("OpenTelemetry traces on: %s", ", ".join(type(exporter).__name__ for exporter in exporters))
    return provider


def exporter_names() -> list[str]:
    names = [name.strip() for name in (os.environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",") if name.strip()]
    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "grpc").strip()
    if protocol not in OTLP_BY_PROTOCOL:
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL: %r is not one of %s; using grpc", protocol, ", ".join(OTLP_BY_PROTOCOL))
    otlp = OTLP_BY_PROTOCOL.get(protocol, "otlp_proto_grpc")
    return [otlp if name == "otlp" else name for name in names if name != "none"]


def exporter_named(name: str) -> SpanExporter | None:
    found = entry_points(group=EXPORTERS, name=name)
    if not found:
        log.warning("OTEL_TRACES_EXPORTER: no trace exporter named %r is installed; it is left out", name)
        return None
    exporter: SpanExporter = next(iter(found)).load()()
    return exporter
