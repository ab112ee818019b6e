"""Which requests the response cache may answer: one `account(id)` root field, no `asOf`."""

import pytest

from service.api.response_cache import account_argument


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("query($id: ID!) { account(id: $id) { name } }", ("variable", "id")),
        ('{ panel: account(id: "acme") { name health { score } } }', ("literal", "acme")),
        ("query($id: ID!, $t: DateTime) { account(id: $id, asOf: $t) { name } }", None),
        ("query($id: ID!) { account(id: $id) { name } accounts { edges { cursor } } }", None),
        ("query($id: ID!) { account(id: $id) @include(if: true) { name } }", None),
        ("mutation { recordEvents(events: []) { accepted } }", None),
        ("query A { account(id: \"a\") { name } } query B { account(id: \"b\") { name } }", None),
        ("{ not even graphql", None),
        ("query($id: ID!) { account(id: $id) { findings { handling { state } } } }", None),  # moves with people and time
        ("query($id: ID!) { account(id: $id) { ...A } } fragment A on Account { agentContext { onIt { text } } }", None),
    ],
)
def test_only_the_single_live_account_query_is_cached(query: str, expected: object) -> None:
    assert account_argument(query) == expected
