"""Which checkpoints an account keeps (`projections.folding.kept_checkpoints`): every recent one, and of the older
ones one per run of `THINNED_EVERY` facts, decided so that later checkpoints never change what was kept before."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.folding import CHECKPOINT_EVERY, KEPT_WHOLE, THINNED_EVERY, kept_checkpoints
from projections.weeks import WEEK

MONDAY = datetime(2026, 1, 5, tzinfo=timezone.utc)


@st.composite
def taken(draw: st.DrawFn) -> list[tuple[datetime, int]]:
    """Checkpoints as the fold takes them: at later and later boundaries, each after CHECKPOINT_EVERY facts or more."""
    boundary, facts, made = MONDAY, 0, []
    for _ in range(draw(st.integers(0, 80))):
        boundary += WEEK * draw(st.integers(1, 12))
        facts += CHECKPOINT_EVERY + draw(st.integers(0, 400))
        made.append((boundary, facts))
    return made


def test_recent_checkpoints_are_all_kept_and_older_ones_one_per_run_of_facts() -> None:
    latest = MONDAY + WEEK * 100
    old = [(latest - KEPT_WHOLE - WEEK * (30 - n), 100 * n) for n in range(12)]  # facts 0..1100, 100 apart
    recent = [(latest - WEEK * n, 5_000 + n) for n in range(13, -1, -1)]
    kept = kept_checkpoints([*old, *recent])
    assert {boundary for boundary, _ in recent} <= kept
    assert sorted(kept - {boundary for boundary, _ in recent}) == [old[0][0], old[6][0], old[11][0]]  # 0, 600, 1100


@settings(max_examples=200, deadline=None)
@given(taken())
def test_what_is_kept_stays_kept_as_later_checkpoints_come(checkpoints: list[tuple[datetime, int]]) -> None:
    """Thinning after every write (as the view store does) keeps what thinning once at the end keeps."""
    stored: list[tuple[datetime, int]] = []
    for each in checkpoints:
        stored.append(each)
        kept = kept_checkpoints(stored)
        stored = [checkpoint for checkpoint in stored if checkpoint[0] in kept]
    assert {boundary for boundary, _ in stored} == kept_checkpoints(checkpoints)


@settings(max_examples=200, deadline=None)
@given(taken())
def test_no_instant_is_a_run_of_facts_further_from_a_kept_checkpoint(checkpoints: list[tuple[datetime, int]]) -> None:
    """Folding from the kept checkpoint before any instant takes fewer than a run of facts more than from the one
    before it among all that were taken (and the oldest is always kept: nothing folds from the start again)."""
    kept = kept_checkpoints(checkpoints)
    if not checkpoints:
        assert kept == set()
        return
    assert checkpoints[0][0] in kept
    facts_at = dict(checkpoints)
    for boundary, facts in checkpoints:
        before = max(each for each in kept if each <= boundary)
        assert facts - facts_at[before] < THINNED_EVERY, boundary
    assert all(boundary in kept for boundary, _ in checkpoints if boundary >= checkpoints[-1][0] - KEPT_WHOLE)
    assert len(kept) <= len([1 for boundary, _ in checkpoints if boundary >= checkpoints[-1][0] - KEPT_WHOLE]) \
        + checkpoints[-1][1] // THINNED_EVERY + 1
