"""Page sizes of connections: a default, and a maximum an operator sets."""

from __future__ import annotations

from service.api.errors import BadInput

DEFAULT_PAGE_SIZE = 50


def page_size(first: int | None, maximum: int) -> int:
    if first is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if first < 0:
        raise BadInput("first", f"must not be negative (got {first})")
    if first > maximum:
        raise BadInput("first", f"must be at most {maximum} (got {first})")
    return first
