"""Reading a rule again reuses the findings of its read before only when they come out the same
(`projections.findings.reusing`): a finding given back is exactly the one built anew."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import RuleReads, advance, findings_at, read_rules, start
from projections.facts import Fact
from projections.findings import Moment, finding, reusing
from projections.thresholds import DEFAULT_THRESHOLDS
from tests.unit.test_findings_laws import START, accounts, arrived

AT = START + timedelta(days=3)


def fact(n: int, days: int = 0) -> Fact:
    return Fact(n, "support.ticket.opened", START + timedelta(days=days), "test", f"e-{n}", None, {"ticketId": "T1"})


def built(key: str = "T1", evidence: tuple[Fact, ...] = (fact(2, 1), fact(1)), summary: str = "s",
          account_id: str = "acme", rule: str = "a-rule") -> object:
    return finding(account_id, rule, key, severity="HIGH", departments=("support", "sales"), evidence=evidence,
                   detected_at=START, resolved_at=None, summary=summary)


def test_equal_inputs_give_back_the_finding_before_and_it_is_kept_for_the_next_read() -> None:
    with reusing({}) as first:
        before = built()
    with reusing(first) as second:
        again = built(evidence=(fact(2, 1), fact(1)))  # equal facts, other objects
    assert again is before
    assert second == first


def test_other_inputs_build_the_finding_anew() -> None:
    with reusing({}) as first:
        before = built()
    changes = {"evidence": (fact(2, 1), fact(1), fact(3, 2)), "summary": "other", "account_id": "globex",
               "rule": "another-rule"}
    for name, value in changes.items():
        with reusing(first):
            anew = built(**{name: value})  # type: ignore[arg-type]
        assert anew is not before and anew == built(**{name: value}), name  # type: ignore[arg-type]


def test_outside_a_read_nothing_is_reused() -> None:
    with reusing({}):
        before = built()
    assert built() is not before and built() == before


@settings(max_examples=100, deadline=None)
@given(accounts(), st.lists(st.sampled_from([timedelta(0), timedelta(days=1), timedelta(days=8)]), min_size=1))
def test_rules_read_again_fact_by_fact_equal_the_findings_read_from_scratch(facts: list[Fact],
                                                                             gaps: list[timedelta]) -> None:
    """As the projector reads them: after each fact, only the rules it may change, reusing their findings before."""
    state = start("acme", DEFAULT_THRESHOLDS)
    reads: RuleReads = {}
    instant = START - timedelta(days=1000)
    for n, each in enumerate(sorted(arrived(facts), key=lambda fact: fact.order)):
        state = advance(state, each, DEFAULT_THRESHOLDS)
        instant = max(instant, each.occurred_at + gaps[n % len(gaps)])  # the projector's clock only goes on
        reads = read_rules(state, instant, DEFAULT_THRESHOLDS, reads, {each.type})
        again = sorted((found for findings, _, _ in reads.values() for found in findings), key=lambda f: f.id)
        scratch = findings_at(state, Moment(instant), DEFAULT_THRESHOLDS)
        final = [found for _, found in state.final]
        assert again == sorted((found for found in scratch if found not in final), key=lambda f: f.id)
