"""NDJSON lines read by orjson where it reads the same values as the exact reader, and by the exact one elsewhere."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from service.exact_json import NESTING, fast_loads, loads
from service.producers.envelopes import ndjson_items

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@given(JSON)
def test_fast_loads_reads_what_the_exact_reader_reads(value: object) -> None:
    text = encode(value).encode()  # decimals written as they are: 12.300, -0.5, 1E+3
    assert fast_loads(text) == loads(text)
    assert repr(fast_loads(text)) == repr(loads(text))  # Decimal('12.30') stays 12.30, not 12.3


def encode(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{encode(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(item) for item in value) + "]"
    return json.dumps(value)


def test_lines_with_faults_stand_alone() -> None:
    items = ndjson_items(b'{"a": 12.30}\n\n[1]\n{"b": NaN}\n{"c": 123456789012345678901234567890}\n\xff\n')
    assert [item.label for item in items] == [1, 3, 4, 5, 6]
    assert repr(items[0].envelope["a"]) == "Decimal('12.30')"
    assert items[1].faults == {"line": "must be a JSON object (an event envelope), not an array"}
    assert items[2].faults["line"].startswith("is not JSON")
    assert items[3].envelope == {"c": 123456789012345678901234567890}
    assert items[4].faults == {"line": "is not UTF-8"}


def test_a_value_nested_deeper_than_orjson_should_answer_for_is_read_by_the_exact_reader() -> None:
    read_by: list[str] = []

    def exact(text: bytes | str) -> object:
        read_by.append("exact")
        return loads(text)

    assert fast_loads(b"[" * NESTING + b"]" * NESTING, exact) == loads(b"[" * NESTING + b"]" * NESTING)
    assert read_by == []
    fast_loads(b"[" * (NESTING + 2) + b"]" * (NESTING + 2), exact)
    assert read_by == ["exact"]  # where Python's recursion limit, not orjson's, sets how deep a body may be
