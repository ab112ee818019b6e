"""Errors a client may see: they name the argument or field and the reason, nothing internal."""

from __future__ import annotations

from graphql import GraphQLError

from domain.fields import NUL_REFUSED, SURROGATE_REFUSED, has_lone_surrogate
from service.api.scalars import ScalarError


class BadInput(Exception):
    """An argument a client must change; shown with the argument's name."""

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}")
        self.argument = argument


class ServiceUnavailable(Exception):
    """A dependency (the database) failed; the client may retry. Shown as is."""


def text_argument(argument: str, value: str) -> str:
    """A text argument the database can be asked about: no NUL, no lone surrogate (else BadInput)."""
    if "\x00" in value:
        raise BadInput(argument, NUL_REFUSED)
    if has_lone_surrogate(value):
        raise BadInput(argument, SURROGATE_REFUSED)
    return value


SHOWN = (BadInput, ServiceUnavailable, ScalarError, GraphQLError)


def should_mask(error: GraphQLError) -> bool:
    """Hide every unexpected exception's message (it may hold SQL or internals); keep ours."""
    original = error.original_error
    return original is not None and not isinstance(original, SHOWN)

