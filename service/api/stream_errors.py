"""Why the server ended a subscription, as the error its client sees."""

from __future__ import annotations

from graphql import GraphQLError

from service.api.cursors import position_of
from service.stream.feed import FellBehind, StreamEnded


def stream_ended(ended: StreamEnded) -> GraphQLError:
    """Why the server ended a subscription, and the position to resume after."""
    resume = position_of(ended.position)
    code = "SUBSCRIBER_TOO_SLOW" if isinstance(ended, FellBehind) else "MESSAGE_FAILED"
    return GraphQLError(
        f"Subscription ended: {ended}. Subscribe again with after: \"{resume}\" to resume where you left off.",
        extensions={"code": code, "resumeAfter": resume},
    )
