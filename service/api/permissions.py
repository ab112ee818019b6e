"""Scope checks on the root fields: a field outside the key's scope is an error naming the scope.

Queries need `views:read`, `recordEvents` needs `events:write`, subscriptions need
`streams:read`; `admin` allows everything. The check runs once per root field, before
its resolver (strawberry's permission extension), so the other fields of the request
are answered as usual.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from service.access.scopes import Principal


class Forbidden(GraphQLError):
    """A field the request's key may not use; shown to the client with the scope it lacks."""

    def __init__(self, scope: str, why: str = "") -> None:
        super().__init__(f"this key lacks the scope {scope}{why}", extensions={"code": "FORBIDDEN", "scope": scope})


def require(principal: Principal | None, scope: str) -> None:
    if principal is None or not principal.allows(scope):
        raise Forbidden(scope)


class HasScope(BasePermission):
    def __init__(self, scope: str) -> None:
        self.scope = scope

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal: Principal | None = info.context.principal
        return principal is not None and principal.allows(self.scope)

    def on_unauthorized(self) -> None:
        raise Forbidden(self.scope)


def needs(scope: str) -> list[FieldExtension]:
    """The extensions of a root field that needs `scope` (no schema directive: the SDL stays as it is)."""
    return [PermissionExtension([HasScope(scope)], use_directives=False)]
