"""The data-driven credits written by the projector (Python, by a month's stored effects) equal those the month's
relearning writes (SQL), row by row; and the daily sums keep up with both (`service.projection.learning`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest

from service.projection.projector import Projector
from service.projection.view_store import ProjectedViews
from service.runtime.database import datastore_of
from service.settings import connection_params
from tests.integration.test_attribution_data_driven import journeys
from tests.integration.test_attribution_rows import assert_daily_sums_match, run
from tests.support import record

Rows = dict[tuple[int, int | None], Decimal]


@pytest.fixture
def views(database_url: str) -> Iterator[tuple[ProjectedViews, ProjectedViews]]:
    datastore = datastore_of(connection_params(database_url))
    made = []
    for _ in range(2):
        made.append(ProjectedViews(datastore, name=f"test_view_{uuid4().hex[:8]}"))
        made[-1].create_table()
    yield made[0], made[1]
    datastore.close()


def data_driven_rows(view: ProjectedViews) -> Rows:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(f"SELECT conversion_position, touch_position, data_driven FROM {view.name}_attribution_credits")
        return {(row["conversion_position"], row["touch_position"]): row["data_driven"] for row in curs.fetchall()}


def test_the_projector_credits_a_month_as_its_relearning_does(
    client: httpx.Client, views: tuple[ProjectedViews, ProjectedViews]
) -> None:
    learnt, written = views
    record(client, journeys(datetime.now(timezone.utc), accounts=30, seed=31))
    now = datetime.now(timezone.utc)
    projector = Projector(learnt, clock=lambda: now)
    run(projector)
    assert projector.relearn(timedelta(0)) > 0  # months credited anew in SQL: the effects changed
    assert_daily_sums_match(learnt)
    with learnt.datastore.transaction(commit=True) as curs:  # the other view starts with these effects
        curs.execute(f"INSERT INTO {written.name}_attribution_effects SELECT * FROM {learnt.name}_attribution_effects")
        curs.execute(f"SELECT count(*) AS n FROM {learnt.name}_attribution_stale")
        assert curs.fetchone() == {"n": 0}
    run(Projector(written, clock=lambda: now))
    expected, found = data_driven_rows(learnt), data_driven_rows(written)
    assert found == expected and len(expected) > 100
    assert any(credit != Decimal(0) and credit.as_tuple().exponent < 0 for credit in expected.values())
    with written.datastore.transaction(commit=False) as curs:  # credited by the effects, not shared equally
        curs.execute(f"SELECT count(*) AS n FROM {written.name}_attribution_credits WHERE data_driven <> linear")
        row = curs.fetchone()
        assert row is not None and row["n"] > 10
