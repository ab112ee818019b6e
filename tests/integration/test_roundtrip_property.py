"""Property: any valid event is stored and read back equal, amounts exact, instants equal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.catalogue import CATALOGUE
from domain.fields import Amount
from tests.support import record, timeline, unique, valid_events


def same_data(event_type: str, sent: dict[str, Any], read: dict[str, Any]) -> bool:
    fields = CATALOGUE[event_type].fields
    for name, value in sent.items():
        if isinstance(fields.get(name), Amount):
            if not isinstance(read[name], str) or Decimal(read[name]) != Decimal(str(value)):
                return False
        elif read[name] != value:
            return False
    return sent.keys() == read.keys()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_valid_event_reads_back_equal(client: httpx.Client, data: st.DataObject) -> None:
    account = unique()
    sent = data.draw(st.lists(valid_events(account), min_size=1, max_size=5))
    assert record(client, sent) == {"accepted": len(sent), "duplicates": 0, "rejected": []}
    read = {node["id"]: node for node in timeline(client, account)}
    for event in sent:
        node = read[event["id"]]
        assert datetime.fromisoformat(node["occurredAt"]) == datetime.fromisoformat(event["occurredAt"])
        assert (node["type"], node["contactId"], node["actor"]) == (event["type"], event["contactId"], event["actor"])
        assert same_data(event["type"], event["data"], node["data"]), (event["data"], node["data"])
