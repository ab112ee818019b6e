"""An account folded from its first event as the rebuild does (checkpoints by policy, trend points scored as they are
passed) gives the reference's findings and whole view, its 12-week trend included; and the checkpoints it takes
read back as the state at their boundary."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import advance, start
from projections.evaluation import evaluate, findings_then
from projections.facts import Fact
from projections.folding import CHECKPOINT_EVERY
from projections.history import history_of
from projections.state_codec import decode
from projections.thresholds import DEFAULT_THRESHOLDS
from projections.view.account import account_view
from projections.view.health import DEFAULT_WEIGHTS
from service.projection.projector import judged_from_start
from tests.unit.test_findings_laws import arrived
from tests.unit.view.test_view_fold_matches_reference import WEIGHTS, histories


@settings(max_examples=75, deadline=None)
@given(facts=histories(), weights=WEIGHTS, later=st.sampled_from([timedelta(0), timedelta(days=3),
                                                                    timedelta(days=50), timedelta(days=400)]))
def test_folded_from_start_equals_the_reference(facts: list[Fact], weights: object, later: timedelta) -> None:
    stored = arrived(facts)
    now = max(fact.occurred_at for fact in stored) + later
    judged = judged_from_start("acme", stored, now, DEFAULT_THRESHOLDS, weights)  # type: ignore[arg-type]
    history = history_of("acme", stored)
    findings = evaluate(history, now, DEFAULT_THRESHOLDS).findings
    final = [each for _, each in judged.final]
    assert sorted([*judged.findings, *final], key=lambda each: (each.detected_at, each.id)) == findings
    assert all(each.resolved_at is not None for each in final)
    assert judged.view == account_view(history, now, findings, weights,  # type: ignore[arg-type]
                                       findings_then=findings_then(history))
    for _, point, score in judged.trend:  # the points stored: the reference's health at each, judged there
        then = history.until(point)
        expected_view = account_view(then, point, evaluate(then, point, DEFAULT_THRESHOLDS).findings,
                                     weights, findings_then=findings_then(then))  # type: ignore[arg-type]
        assert expected_view.health is not None and score == expected_view.health.score, point
    ordered = sorted(stored, key=lambda each: each.order)
    for account_id, boundary, data, facts in judged.checkpoints:
        expected = start(account_id, DEFAULT_THRESHOLDS)
        for fact in ordered:
            if fact.occurred_at <= boundary:
                expected = advance(expected, fact, DEFAULT_THRESHOLDS)
        expected.unchecked, expected.final = 0, []
        assert decode(data) == expected and facts == expected.facts, boundary


def test_a_checkpoint_is_taken_once_enough_facts_were_folded_since_the_last() -> None:
    from projections.weeks import FIRST_MONDAY

    monday = FIRST_MONDAY + timedelta(weeks=2900)
    facts = [Fact(n + 1, "support.contact.made", monday + timedelta(hours=12 * n), "t", f"e-{n}", None,
                  {"channel": "call"}) for n in range(3 * CHECKPOINT_EVERY)]
    judged = judged_from_start("acme", facts, facts[-1].occurred_at, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS)
    assert len(judged.checkpoints) == 2  # 14 facts a week: 64 folded after 5 weeks, and again 5 weeks later
