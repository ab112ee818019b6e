"""`schema.graphql` at the root is the exported schema of the code; this fails when they drift."""

from pathlib import Path

from service.api.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_the_exported_schema() -> None:
    assert SCHEMA_FILE.read_text() == build_schema().as_str() + "\n", (
        "schema.graphql is stale: run `cx360 export-schema -o schema.graphql`"
    )


def test_the_fixed_core_of_api_md_is_present() -> None:
    sdl = build_schema().as_str()
    for line in (
        "recordEvents(events: [EventInput!]!): RecordEventsPayload!",
        "account(id: ID!, asOf: DateTime = null): Account",
        "accounts(first: Int = null, after: String = null): AccountConnection!",
        "position: String!",
        "enum Department {",
    ):
        assert line in sdl
