"""Notes the operation a request runs (its type and name), for the request's latency metric and its span."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from service.observability.context import label_operation


class LabelOperation(SchemaExtension):
    """After the operation, the request knows what it ran; a document that could not be parsed stays unknown.

    It wraps no resolver, so the executor's short path for plain fields stays open.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.graphql_document is None:
            return
        try:
            operation_type = context.operation_type
        except RuntimeError:  # no operation of that name: strawberry reports it to the client
            return
        label_operation(operation_type.value, context.operation_name)
