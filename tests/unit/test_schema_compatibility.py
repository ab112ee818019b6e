"""`schema.graphql` keeps the fixed core of the API and the last released schema working for their clients.

Both are kept in `schema/`: `core.graphql` (the specification's fixed core, made a
schema) and `released.graphql` (a copy of `schema.graphql` as last released; cutting a
release copies it again, docs/operations.md). graphql-core's `find_breaking_changes`
judges: removing or renaming a type, field, argument or enum value, changing a type, or
adding a required argument or input field breaks; adding fields, types, optional
arguments and enum values does not. Dangerous changes (an enum value or an optional
argument added, a default changed) are printed and allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLID,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

ROOT = Path(__file__).resolve().parents[2]
CURRENT = ROOT / "schema.graphql"
KEPT = {"the fixed core of the API": ROOT / "schema" / "core.graphql",
        "the last released schema": ROOT / "schema" / "released.graphql"}


def schema_of(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text())


def incompatibilities(old: GraphQLSchema, new: GraphQLSchema) -> list[str]:
    """The breaking changes from `old` to `new`, in words; the dangerous ones are printed."""
    for change in find_dangerous_changes(old, new):
        print(f"dangerous, allowed: {change.description}")
    return [change.description for change in find_breaking_changes(old, new)]


@pytest.mark.parametrize("kept", sorted(KEPT))
def test_schema_graphql_breaks_nothing_of(kept: str) -> None:
    broken = incompatibilities(schema_of(KEPT[kept]), schema_of(CURRENT))
    assert broken == [], f"schema.graphql breaks {kept} ({KEPT[kept].relative_to(ROOT)}): {broken}"


ADDITIONS = '''
extend type Query { apiKeys(first: Int = 10): [String!]! }
extend type Account { riskScore: Int }
type Widget { id: ID! }
extend enum Severity { CRITICAL }
'''


def test_additions_keep_both_and_removals_break_them() -> None:
    """The check is not vacuous: what others will add passes, what clients rely on fails."""
    added = build_schema(CURRENT.read_text() + ADDITIONS)
    removed = schema_of(CURRENT)
    cast(GraphQLObjectType, removed.get_type("Finding")).fields.pop("resolvedAt")
    made_required = schema_of(CURRENT)
    cast(GraphQLObjectType, made_required.query_type).fields["account"].args["tenant"] = GraphQLArgument(
        GraphQLNonNull(GraphQLID))
    for kept in KEPT.values():
        assert incompatibilities(schema_of(kept), added) == []
        assert any("resolvedAt" in each for each in incompatibilities(schema_of(kept), removed))
        assert any("tenant" in each for each in incompatibilities(schema_of(kept), made_required))


def test_the_core_is_a_schema_of_every_name_the_specification_fixes() -> None:
    core = schema_of(KEPT["the fixed core of the API"])
    assert set(core.query_type.fields) == {"account", "accounts", "findings", "departmentMatrix"}  # type: ignore[union-attr]
    assert set(core.mutation_type.fields) == {"recordEvents"}  # type: ignore[union-attr]
    assert set(core.subscription_type.fields) == {"events", "findingChanged"}  # type: ignore[union-attr]
