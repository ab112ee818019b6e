"""Checkpoint bytes: what they read back as, and what they refuse to build."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from projections import state_codec
from projections.account_state import AccountState, start
from projections.facts import Fact
from projections.state_codec import MAGIC, REGISTERED, StaleCheckpoint, decode, encode, fingerprint
from projections.thresholds import DEFAULT_THRESHOLDS

AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
TOUCH = Fact(7, "sales.outreach.sent", AT, "crm", "e-7", None, {"channel": "email", "intent": "upsell"})
CALLED: list[str] = []


def test_a_state_reads_back_equal_with_its_dates_amounts_sets_and_tuples() -> None:
    value = {"at": AT, "owed": Decimal("12.50"), "ids": {"a", "b"}, "pair": ("x", 1), "frozen": frozenset({3}),
             ("contact", "email"): [TOUCH], "state": start("acc-1", DEFAULT_THRESHOLDS)}
    assert decode(encode(value)) == value


def test_dates_in_a_named_time_zone_read_back_in_it() -> None:
    """PostgreSQL's dates come with a `ZoneInfo`, which pickles by naming `getattr`: the codec names the zone."""
    at = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("UTC"))
    back = decode(encode({"at": at, "fact": TOUCH._replace(occurred_at=at)}))
    assert back["at"] == at and back["at"].tzinfo == ZoneInfo("UTC") and back["fact"].occurred_at == at


def test_a_fact_held_by_several_parts_of_a_state_is_written_once_and_read_back_shared() -> None:
    state = {"window": [TOUCH], "evidence": (TOUCH,), "other": [TOUCH._replace(event_id="e-8")]}
    data = encode(state)
    assert data.count(b"e-7") == 1 and data.count(b"e-8") == 1
    back = decode(data)
    assert back == state and back["window"][0] is back["evidence"][0]


def test_a_checkpoint_of_an_earlier_release_is_stale() -> None:
    """As the JSON checkpoints this project wrote before its states were pickled."""
    with pytest.raises(StaleCheckpoint):
        decode(b'{"\\u00a7": "facts", "f": [], "v": {"\\u00a7": "state", "n": "x", "ver": 4, "v": {}}}')


def test_damaged_bytes_are_stale() -> None:
    data = encode(start("acc-1", DEFAULT_THRESHOLDS))
    for damaged in (data[:len(data) // 2], data[:-1], data[:len(MAGIC) + 16] + b"\x00" * 40):
        with pytest.raises(StaleCheckpoint):
            decode(damaged)


def remember(what: str) -> None:
    CALLED.append(what)


class Trap:
    """Pickles as a call of `remember`: what a forged checkpoint would ask the reader to run."""

    def __reduce__(self) -> tuple[Any, ...]:
        return remember, ("ran",)


def test_bytes_that_name_anything_but_a_state_are_refused_and_nothing_is_called() -> None:
    forged = MAGIC + fingerprint() + pickle.dumps({"view": Trap()}, protocol=5)
    with pytest.raises(StaleCheckpoint, match="remember is not a state"):
        decode(forged)
    forged = MAGIC + fingerprint() + pickle.dumps(print, protocol=5)
    with pytest.raises(StaleCheckpoint, match="builtins.print"):
        decode(forged)
    assert CALLED == []


@dataclass
class Added:
    count: int = 0


def test_a_release_that_changes_a_state_class_makes_earlier_checkpoints_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(start("acc-1", DEFAULT_THRESHOLDS))
    name = f"{AccountState.__module__}.{AccountState.__qualname__}"
    cls, version = REGISTERED[name]
    changes: list[tuple[str, tuple[type[Any], int]]] = [
        (name, (cls, version + 1)),  # a version bumped: a field's meaning changed
        (f"{__name__}.Added", (Added, 1)),  # a class added (or one given other fields)
    ]
    for key, entry in changes:
        with monkeypatch.context() as patch:
            patch.setitem(REGISTERED, key, entry)
            patch.setattr(state_codec, "_fingerprint", None)
            with pytest.raises(StaleCheckpoint, match="another release"):
                decode(data)
    assert decode(data) == start("acc-1", DEFAULT_THRESHOLDS)
