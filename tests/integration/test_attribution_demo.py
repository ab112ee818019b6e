"""Attribution on the demo through /graphql: its conversions' touch paths make the models differ, and every
model shares out the same revenue, exactly, per currency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest

from service.settings import Settings
from tests.conftest import RunningServer, administer, with_database
from tests.support import graphql, wait_for_projection

MODELS = ("FIRST_TOUCH", "LAST_TOUCH", "LINEAR", "TIME_DECAY", "POSITION_BASED", "DATA_DRIVEN")
TOTALS = """query ($model: AttributionModel!) {
  attribution(model: $model, from: "2000-01-01T00:00:00Z", to: "2009-06-01T00:00:00Z", groupBy: DEPARTMENT) {
    currency group unattributed amount conversions } }"""
RECENT = TOTALS.replace("2000-01-01T00:00:00Z", "2020-01-01T00:00:00Z").replace("2009-06-01", "2029-06-01")


@pytest.fixture(scope="module")
def demo_client(settings: Settings, database_url: str) -> Iterator[httpx.Client]:
    server = with_database(database_url, "postgres")
    name = f"cx360_attribution_demo_{uuid4().hex[:12]}"
    administer(server, f'CREATE DATABASE "{name}"')
    try:
        demo_database = with_database(database_url, name)
        with RunningServer(replace(settings, database_url=demo_database), demo=True) as url, \
                httpx.Client(base_url=url, timeout=60) as client:
            wait_for_projection(url, database_url=demo_database)
            yield client
    finally:
        administer(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def by_model(client: httpx.Client) -> dict[str, dict[tuple[str, str | None], Decimal]]:
    found: dict[str, dict[tuple[str, str | None], Decimal]] = {}
    for model in MODELS:
        body = graphql(client, RECENT, {"model": model})
        assert "errors" not in body, body
        found[model] = {(row["currency"], "unattributed" if row["unattributed"] else row["group"]): Decimal(row["amount"])
                        for row in body["data"]["attribution"]}
    return found


def test_the_demo_s_touch_paths_make_the_models_differ_and_each_shares_out_all_of_the_revenue(
    demo_client: httpx.Client,
) -> None:
    found = by_model(demo_client)
    totals: dict[str, dict[str, Decimal]] = {}
    for model, rows in found.items():
        per_currency: dict[str, Decimal] = defaultdict(Decimal)
        for (currency, _), amount in rows.items():
            per_currency[currency] += amount
        totals[model] = dict(per_currency)
    assert len(totals["LINEAR"]) >= 2  # the demo sells in more than one currency, never added together
    assert all(each == totals["LINEAR"] for each in totals.values()), totals  # the same revenue, shared exactly
    shares = {model: tuple(sorted(rows.items())) for model, rows in found.items()}
    assert len(set(shares.values())) == len(MODELS), "every model shares the demo's revenue differently"
    departments = {group for rows in found.values() for (_, group) in rows}
    assert {"marketing", "sales", "support"} <= departments


def test_a_range_with_no_conversion_has_no_rows(demo_client: httpx.Client) -> None:
    body = graphql(demo_client, TOTALS, {"model": "LINEAR"})
    assert body == {"data": {"attribution": []}}
