"""Dates in findings' words: `2 Mar 2026`, the UTC date of the instant, whatever its offset."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from projections.findings import day


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30),
                    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=14)),
                                               timezone(timedelta(hours=-12), "far west")])))
def test_a_day_reads_as_its_utc_date_as_strftime_gives_it(instant: datetime) -> None:
    utc = instant.astimezone(timezone.utc)
    assert day(instant) == f"{utc.day} {utc:%b %Y}"  # the C locale's month names, as the tests run


def test_two_instants_of_one_day_read_the_same_and_the_next_day_does_not() -> None:
    morning = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
    assert day(morning) == day(morning + timedelta(hours=23, minutes=59)) == "2 Mar 2026"
    assert day(morning + timedelta(days=1)) == "3 Mar 2026"
    assert day(datetime(2026, 3, 2, 23, 30, tzinfo=timezone(timedelta(hours=-1)))) == "3 Mar 2026"
