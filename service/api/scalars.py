"""Scalars of the API: `DateTime` as RFC 3339 with an offset, money as `Decimal` strings, `JSON`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain.fields import Invalid, parse_rfc3339


class ScalarError(ValueError):
    """A value that fails a scalar; graphql-core names the argument or input path."""


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ScalarError("DateTime must be an RFC 3339 string such as 2026-03-02T09:14:00Z")
    try:
        return parse_rfc3339(value)
    except Invalid as invalid:
        raise ScalarError(f"DateTime {invalid}") from None


def serialize_datetime(value: datetime) -> str:
    return value.isoformat()


SCALAR_MAP: dict[object, Any] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="An instant as an RFC 3339 date-time with an offset, e.g. 2026-03-02T09:14:00Z.",
        serialize=serialize_datetime,
        parse_value=parse_datetime,
    ),
}

__all__ = ["JSON", "SCALAR_MAP", "ScalarError"]
