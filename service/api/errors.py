"""Errors a client may see: they name the argument or field and the reason, nothing internal."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from domain.fields import NUL_REFUSED, SURROGATE_REFUSED, has_lone_surrogate
from service.api.scalars import ScalarError
from service.read.pool import QueryTimedOut
from service.runtime.health import DatabaseUnavailable

MASKED = "Internal error; it has been logged."
UNAVAILABLE = "UNAVAILABLE"


class BadInput(Exception):
    """An argument a client must change; shown with the argument's name."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}")
        self.argument = argument


class ServiceUnavailable(Exception):
    """A dependency (the database) failed; the client may retry. Shown as is, with `extensions.code: UNAVAILABLE`."""

    extensions: dict[str, Any] = {"code": UNAVAILABLE}  # graphql-core gives an error the extensions of its cause


def text_argument(argument: str, value: str) -> str:
    """A text argument the database can be asked about: no NUL, no lone surrogate (else BadInput)."""
    if "\x00" in value:
        raise BadInput(argument, NUL_REFUSED)
    if has_lone_surrogate(value):
        raise BadInput(argument, SURROGATE_REFUSED)
    return value


SHOWN = (BadInput, ServiceUnavailable, DatabaseUnavailable, QueryTimedOut, ScalarError, GraphQLError)


def should_mask(error: GraphQLError) -> bool:
    """Hide every unexpected exception's message (it may hold SQL or internals); keep ours."""
    original = error.original_error
    return original is not None and not isinstance(original, SHOWN)


def unavailable(error: GraphQLError) -> bool:
    """An error that says the database is unavailable (logged once per outage, not per request)."""
    return isinstance(error.original_error, ServiceUnavailable | DatabaseUnavailable)


def presented(error: GraphQLError) -> GraphQLError:
    """The error as a client sees it: an unavailable database as a retryable UNAVAILABLE error."""
    if isinstance(error.original_error, DatabaseUnavailable):
        return GraphQLError(str(error.original_error), nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path, extensions={"code": UNAVAILABLE})
    return error


class ClientErrors(MaskErrors):
    """Unexpected errors masked; an unavailable database told as `extensions.code: UNAVAILABLE`."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: should_mask(error) or presented(error) is not error,
                         error_message=MASKED)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        shown = presented(error)
        return shown if shown is not error else super().anonymise_error(error)
