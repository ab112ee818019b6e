"""`schema.graphql` at the root is the exported schema of the code; this fails when they drift."""

from pathlib import Path

from service.api.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_the_exported_schema() -> None:
    assert SCHEMA_FILE.read_text() == build_schema().as_str() + "\n", (
        "schema.graphql is stale: run `cx360 export-schema -o schema.graphql`"
    )


# (type, field): (its type, {argument: type}) as `api.md` fixes them; more arguments may be added
FIXED_CORE = {
    ("Mutation", "recordEvents"): ("RecordEventsPayload!", {"events": "[EventInput!]!"}),
    ("Query", "account"): ("Account", {"id": "ID!", "asOf": "DateTime"}),
    ("Query", "accounts"): ("AccountConnection!", {"first": "Int", "after": "String"}),
    ("Query", "findings"): ("FindingConnection!", {"first": "Int", "after": "String", "rule": "String",
                                                   "department": "Department", "state": "FindingState"}),
    ("Query", "departmentMatrix"): ("[DepartmentPairCount!]!", {"from": "DateTime", "to": "DateTime"}),
    ("Account", "departments"): ("[DepartmentView!]!", {}),
    ("Account", "timeline"): ("EventConnection!", {"first": "Int", "after": "String", "departments": "[Department!]"}),
    ("Account", "findings"): ("[Finding!]!", {"state": "FindingState"}),
    ("Finding", "evidence"): ("[Event!]!", {}),
    ("Finding", "resolvedAt"): ("DateTime", {}),
    ("Event", "position"): ("String!", {}),
}


def test_the_fixed_core_of_api_md_is_present() -> None:
    schema = build_schema()._schema
    for (type_name, field_name), (field_type, arguments) in FIXED_CORE.items():
        field = schema.get_type(type_name).fields[field_name]  # type: ignore[union-attr]
        assert str(field.type) == field_type, (type_name, field_name)
        assert {name: str(field.args[name].type) for name in arguments} == arguments, (type_name, field_name)
    assert schema.get_type("FindingState").values.keys() == {"OPEN", "RESOLVED", "ALL"}  # type: ignore[union-attr]
    assert schema.get_type("Severity").values.keys() == {"LOW", "MEDIUM", "HIGH"}  # type: ignore[union-attr]


def test_every_type_and_field_is_documented() -> None:
    from graphql import GraphQLInputObjectType, GraphQLObjectType

    schema = build_schema()._schema
    composite = {name: kind for name, kind in schema.type_map.items()
                 if not name.startswith("__") and isinstance(kind, GraphQLObjectType | GraphQLInputObjectType)}
    undocumented = [name for name, kind in composite.items() if not kind.description]
    undocumented += [f"{name}.{field}" for name, kind in composite.items()
                     for field, definition in kind.fields.items() if not definition.description]
    assert undocumented == []


def test_money_is_written_in_plain_notation() -> None:
    """A PostgreSQL numeric of 20000 comes back from asyncpg as Decimal('2E+4'); the API writes 20000."""
    from decimal import Decimal

    from service.api.scalars import serialize_decimal

    assert serialize_decimal(Decimal("2E+4")) == "20000"
    assert serialize_decimal(Decimal("0.10")) == "0.10"
    assert serialize_decimal(Decimal("-1.5E-3")) == "-0.0015"
