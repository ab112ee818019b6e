"""Scalars of the API: `DateTime` as RFC 3339 with an offset, money as `Decimal` strings, `JSON`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.schema.types.base_scalars import DecimalDefinition

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


def serialize_decimal(value: Decimal) -> str:
    """Plain notation, always: `str` would give 20000 read back from a PostgreSQL numeric as "2E+4"."""
    return format(value, "f")


SCALAR_MAP: dict[object, Any] = {
    Decimal: strawberry.scalar(
        name=DecimalDefinition.name,
        description=DecimalDefinition.description,
        serialize=serialize_decimal,
        parse_value=DecimalDefinition.parse_value,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="An instant as an RFC 3339 date-time with an offset, e.g. 2026-03-02T09:14:00Z.",
        serialize=serialize_datetime,
        parse_value=parse_datetime,
    ),
}

__all__ = ["JSON", "SCALAR_MAP", "ScalarError"]
