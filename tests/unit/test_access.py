"""Tokens, scopes, who a request is, and what a request costs: without a database."""

from __future__ import annotations

import contextvars
from decimal import Decimal

import pytest

from service.access.gate import Refusal, authenticate, is_loopback, names_this_machine
from service.access.keys import ActiveKey
from service.access.rate_limits import READ, WRITE, kind_of_body, operation_kind, read_body_json
from service.access.ring import KeyRing
from service.access.scopes import ADMIN, EVENTS_WRITE, VIEWS_READ, Principal, ScopeError, scopes_from
from service.access.tokens import digest, matches, new_token, split


def test_a_new_token_splits_back_into_its_id_and_a_secret_whose_digest_is_stored() -> None:
    key_id, token, stored = new_token()
    parts = split(token)
    assert parts is not None and parts[0] == key_id and matches(parts[1], stored)
    assert len(token) == 62 and token.startswith(f"cx360_{key_id}_")
    assert new_token()[1] != token


@pytest.mark.parametrize("token", ["", "cx360", "cx360_0123456789ab", "cx360_0123456789AB_" + "a" * 43,
                                   "cx360_0123456789ab_" + "a" * 42, "cx360_0123456789ab_" + "a" * 44,
                                   "cx360_0123456789ab_" + "a" * 42 + "!", "x" * 10_000])
def test_a_malformed_token_does_not_split(token: str) -> None:
    assert split(token) is None


def test_a_principal_allows_its_scopes_and_admin_allows_all() -> None:
    reader = Principal("k", "h", frozenset({VIEWS_READ}))
    assert reader.allows(VIEWS_READ) and not reader.allows(EVENTS_WRITE)
    assert Principal("k", "h", frozenset({ADMIN})).allows(EVENTS_WRITE)
    assert reader.rate_key == "key:k" and Principal.loopback("::1").rate_key == "address:::1"


def test_scopes_are_read_from_repeated_or_comma_separated_values() -> None:
    assert scopes_from(["views:read, streams:read", "admin"]) == {"views:read", "streams:read", "admin"}
    with pytest.raises(ScopeError, match="scope: unknown 'views:write'"):
        scopes_from(["views:write"])
    with pytest.raises(ScopeError, match="at least one"):
        scopes_from([" , "])


def ring_with(*keys: tuple[str, str, frozenset[str]]) -> tuple[KeyRing, dict[str, str]]:
    """A key ring holding these keys (id, holder, scopes), as if read from the database; and their tokens."""
    ring = KeyRing(pool=None, notifier=None)  # type: ignore[arg-type]
    tokens = {}
    for key_id, holder, scopes in keys:
        secret = f"{key_id:0<43}"[:43]
        tokens[key_id] = f"cx360_{key_id}_{secret}"
        ring.keys[key_id] = ActiveKey(Principal(key_id, holder, scopes), digest(secret))
    return ring, tokens


def test_with_keys_every_client_needs_one_and_a_valid_one_names_its_holder() -> None:
    ring, tokens = ring_with(("0123456789ab", "billing-sync", frozenset({EVENTS_WRITE})))
    principal = authenticate(ring, f"Bearer {tokens['0123456789ab']}", "203.0.113.7", "api.example.com")
    assert isinstance(principal, Principal) and principal.holder == "billing-sync"
    assert isinstance(authenticate(ring, None, "127.0.0.1", "localhost"), Refusal)
    forged = tokens["0123456789ab"][:-1] + "x"
    assert "not valid" in refusal(authenticate(ring, f"Bearer {forged}", "127.0.0.1", "localhost"))
    assert "Bearer" in refusal(authenticate(ring, tokens["0123456789ab"], "127.0.0.1", "localhost"))


def test_without_keys_only_loopback_clients_under_a_loopback_name_are_served() -> None:
    ring, _ = ring_with()
    assert authenticate(ring, None, "127.0.0.1", "localhost:8000") == Principal.loopback("127.0.0.1")
    assert "only clients on this machine" in refusal(authenticate(ring, None, "10.1.2.3", "localhost"))
    assert "only clients on this machine" in refusal(authenticate(ring, None, None, "localhost"))
    assert "Host" in refusal(authenticate(ring, None, "::1", "attacker.example"))


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("0.0.0.0", False), ("localhost", False), ("", False)])
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


@pytest.mark.parametrize(("host", "ours"), [
    ("localhost", True), ("LOCALHOST:8000", True), ("127.0.0.1:8000", True), ("[::1]:8000", True),
    ("localhost.attacker.example", False), ("127.0.0.1.nip.io", False), ("[::1", False), ("", False), (None, False)])
def test_names_of_this_machine(host: str | None, ours: bool) -> None:
    assert names_this_machine(host) is ours


def refusal(verdict: Principal | Refusal) -> str:
    assert isinstance(verdict, Refusal), verdict
    return verdict.reason


@pytest.mark.parametrize(("query", "operation_name", "kind"), [
    ("mutation { recordEvents(events: []) { accepted } }", None, WRITE),
    ("{ accounts { edges { cursor } } }", None, READ),
    ("subscription { events { id } }", None, READ),
    ("query Q { __typename } mutation M { recordEvents(events: []) { accepted } }", "M", WRITE),
    ("query Q { __typename } mutation M { recordEvents(events: []) { accepted } }", "Q", READ),
    ('{ accounts(filter: {search: "mutation"}) { edges { cursor } } }', None, READ),
    ("mutation {", None, READ),
    (None, None, READ),
    ("mutation { recordEvents(events: []) { accepted } }", 7, READ),
])
def test_what_a_request_costs(query: object, operation_name: object, kind: str) -> None:
    assert operation_kind(query, operation_name) == kind


def test_a_body_the_rate_limit_read_is_read_once_as_the_endpoint_reads_it() -> None:
    body = b'{"query": "mutation { recordEvents(events: []) { accepted } }", "variables": {"amount": 12.50}}'

    def in_one_request() -> tuple[str, tuple[bool, object], tuple[bool, object]]:
        return kind_of_body(body), read_body_json(bytes(bytearray(body))), read_body_json(body + b" ")

    kind, same, other = contextvars.copy_context().run(in_one_request)
    assert kind == WRITE
    assert same[0] and same[1]["variables"] == {"amount": Decimal("12.50")}  # type: ignore[index]  # exact
    assert other == (False, None)  # another body is read by the endpoint itself
    assert contextvars.copy_context().run(read_body_json, body) == (False, None)  # another request's


@pytest.mark.parametrize("body", [b"not json", b"[" * 5000 + b"]" * 5000, rb'"\ud800"'])
def test_a_body_the_rate_limit_cannot_read_is_left_to_the_endpoint(body: bytes) -> None:
    def in_one_request() -> tuple[str, tuple[bool, object]]:
        return kind_of_body(body), read_body_json(body)

    kind, read = contextvars.copy_context().run(in_one_request)
    assert kind == READ
    assert read == (False, None) or read[0] and not isinstance(read[1], dict)
