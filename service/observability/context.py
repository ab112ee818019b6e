"""What the logs and the metrics know of the request being served, through a context variable.

The request middleware sets it for each HTTP request and each WebSocket connection;
code running for that request (a resolver, a worker thread it hands work to, a log
call) reads it. Standard library only: the projector's process configures its logs
with it too.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")


@dataclass
class RequestInfo:
    """One request's id, and the GraphQL operation it ran once known: (type, name) or None."""

    request_id: str
    operation: tuple[str, str | None] | None = None
    trace_id: str | None = None  # the OpenTelemetry trace, when traces are on


CURRENT: ContextVar[RequestInfo | None] = ContextVar("cx360_request", default=None)


def current_request() -> RequestInfo | None:
    return CURRENT.get()


def request_id_from(header: bytes | None) -> str:
    """The caller's `X-Request-Id` when it is a sane one (printable, no spaces, at most 128 characters),
    else a fresh id."""
    if header is not None:
        text = header.decode("latin-1")
        if REQUEST_ID.fullmatch(text):
            return text
    return uuid.uuid4().hex


def label_operation(operation_type: str, name: str | None) -> None:
    """Note the GraphQL operation the current request runs (for its latency metric and its span)."""
    request = CURRENT.get()
    if request is not None:
        request.operation = (operation_type, name)
