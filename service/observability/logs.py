"""Log lines as text (the default) or as one JSON object per line (`CX360_LOG_FORMAT=json`).

Every line written while a request is served carries its id (and its trace id when
traces are on): the filter reads them from the request's context variable when the
line is logged, in the thread and task that logged it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from service.observability.context import current_request

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RequestContext(logging.Filter):
    """Adds `request_id` and `trace_id` (None outside a request) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request()
        if getattr(record, "request_id", None) is None:
            record.request_id = request.request_id if request is not None else None
        if getattr(record, "trace_id", None) is None:
            record.trace_id = request.trace_id if request is not None else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, RFC 3339), level, logger, message, and when present
    request_id, trace_id, exception and stack."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "trace_id"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual one-line text, with ` request_id=…` at the end of a request's lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} request_id={request_id}" if request_id is not None else text


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send every logger's lines (uvicorn's included) to standard error in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
