"""Opaque cursors for Relay connections, and event positions in the global log."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

from service.api.errors import BadInput

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
POSITION_DIGITS = 19  # a bigint's width: positions compare as strings and as numbers alike


def position_of(notification_id: int) -> str:
    return f"{notification_id:0{POSITION_DIGITS}d}"


def notification_id_of(position: str, argument: str = "after") -> int:
    if len(position) != POSITION_DIGITS or not position.isdigit():
        raise BadInput(argument, f"{position!r:.40} is not a position issued by this service")
    return int(position)


def encode(kind: str, *parts: str) -> str:
    return base64.urlsafe_b64encode(":".join((kind, *parts)).encode()).decode().rstrip("=")


def decode(kind: str, cursor: str, count: int, argument: str = "after") -> list[str]:
    """The parts of a cursor of the given kind; anything else is a clear error naming the argument."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    prefix, _, rest = text.partition(":")
    parts = rest.split(":", count - 1) if rest else []
    if prefix != kind or len(parts) != count:
        raise BadInput(argument, f"{cursor!r:.60} is not a cursor of this list")
    return parts


def timeline_cursor(occurred_at: datetime, version: int) -> str:
    micros = (occurred_at - EPOCH) // timedelta(microseconds=1)
    return encode("timeline", str(micros), str(version))


def timeline_after(cursor: str) -> tuple[datetime, int]:
    micros, version = decode("timeline", cursor, 2)
    if not (micros.lstrip("-").isdigit() and version.isdigit()):
        raise BadInput("after", f"{cursor!r:.60} is not a cursor of this list")
    try:
        return EPOCH + timedelta(microseconds=int(micros)), int(version)
    except OverflowError:
        raise BadInput("after", f"{cursor!r:.60} is not a cursor of this list") from None
