"""Owners and deadlines from the operator's TOML, and the handling shown at an instant (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.handling import Action
from domain.handling_policy import DEFAULT_POLICY, HandlingPolicyError, policy_from
from service.handling.lines import on_it
from service.handling.shown import FindingFacts, shown
from service.settings import Settings, SettingsError
from service.store.handling_store import HandlingRow
from service.stream.logs import ChangeFilter

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
POLICY = policy_from({"owners": {"billing": "billing-lead", "sales": "sales-lead"},
                      "acknowledge_within_days": {"MEDIUM": 0.5}})


def facts(detected_days_ago: float = 2, resolved: bool = False, evidence: tuple[int, ...] = (5, 9),
          severity: str = "MEDIUM") -> FindingFacts:
    return FindingFacts(severity, ["billing", "marketing"], NOW - timedelta(days=detected_days_ago),
                        NOW if resolved else None, evidence)


def row(state: str, **fields: object) -> HandlingRow:
    values: dict[str, object] = dict(finding_id=uuid4(), account_id="acme", state=state, assignee=None,
                                     snoozed_until=None, version=1, actions=[], acknowledged_at=NOW - timedelta(days=1),
                                     closed_at=None, evidence_seen=None)
    return HandlingRow(**{**values, **fields})  # type: ignore[arg-type]


def test_the_defaults_are_a_day_three_and_seven_and_no_owner() -> None:
    assert {key: value.days for key, value in DEFAULT_POLICY.acknowledge_within.items()} == {"HIGH": 1, "MEDIUM": 3, "LOW": 7}
    assert DEFAULT_POLICY.owner_of(["billing"]) is None
    assert POLICY.acknowledge_within["MEDIUM"] == timedelta(hours=12) and POLICY.acknowledge_within["HIGH"] == timedelta(days=1)


@pytest.mark.parametrize(("table", "named"), [
    ({"owner": {}}, "[owner]"),
    ({"owners": {"finance": "x"}}, "owners.finance"),
    ({"owners": {"billing": ""}}, "owners.billing"),
    ({"owners": {"billing": 7}}, "owners.billing"),
    ({"owners": "billing"}, "owners"),
    ({"acknowledge_within_days": {"URGENT": 1}}, "acknowledge_within_days.URGENT"),
    ({"acknowledge_within_days": {"HIGH": 0}}, "acknowledge_within_days.HIGH"),
    ({"acknowledge_within_days": {"HIGH": 366}}, "acknowledge_within_days.HIGH"),
    ({"acknowledge_within_days": {"HIGH": "1d"}}, "acknowledge_within_days.HIGH"),
    ({"acknowledge_within_days": {"HIGH": True}}, "acknowledge_within_days.HIGH"),
])
def test_a_bad_setting_is_refused_naming_its_key(table: dict[str, object], named: str) -> None:
    with pytest.raises(HandlingPolicyError, match=named.replace("[", r"\[")):
        policy_from(table)


def test_the_file_is_read_from_cx360_handling_file(tmp_path: Path) -> None:
    path = tmp_path / "handling.toml"
    path.write_text('[owners]\nbilling = "billing-lead"\n[acknowledge_within_days]\nLOW = 10\n')
    policy = Settings.from_env({"CX360_HANDLING_FILE": str(path)}).handling
    assert policy.owner_of(["billing", "sales"]) == "billing-lead" and policy.acknowledge_within["LOW"].days == 10
    path.write_text("[owners]\nbilling = 3\n")
    with pytest.raises(SettingsError, match="CX360_HANDLING_FILE: .*owners.billing"):
        Settings.from_env({"CX360_HANDLING_FILE": str(path)})


def test_nobody_acted_new_owned_by_the_first_department_and_overdue_after_its_deadline() -> None:
    handling = shown(None, facts(detected_days_ago=2), POLICY, NOW)
    assert (handling.state, handling.assignee, handling.version, handling.overdue) == ("NEW", "billing-lead", 0, True)
    assert shown(None, facts(detected_days_ago=0.25), POLICY, NOW).overdue is False
    assert shown(None, facts(detected_days_ago=2, resolved=True), POLICY, NOW).overdue is False  # the rules let it go


def test_taken_on_is_never_overdue_and_an_explicit_assignee_wins_over_the_owner() -> None:
    handling = shown(row("ASSIGNED", assignee="rep-114"), facts(detected_days_ago=30), POLICY, NOW)
    assert (handling.assignee, handling.overdue) == ("rep-114", False)
    assert shown(row("NEW", acknowledged_at=None), facts(detected_days_ago=30), POLICY, NOW).overdue is True  # a comment only


def test_a_snooze_that_ran_out_is_back() -> None:
    snoozed = row("SNOOZED", snoozed_until=NOW + timedelta(hours=1), assignee="rep-114")
    assert shown(snoozed, facts(), POLICY, NOW).state == "SNOOZED"
    later = shown(snoozed, facts(), POLICY, NOW + timedelta(hours=2))
    assert (later.state, later.snoozed_until) == ("ASSIGNED", None)


@given(st.lists(st.integers(1, 50), max_size=5), st.integers(1, 50), st.booleans())
def test_a_close_reopens_exactly_when_newer_evidence_arrives_while_the_rules_hold_it(
        evidence: list[int], seen: int, resolved: bool) -> None:
    closed = row("CLOSED", closed_at=NOW, evidence_seen=seen)
    handling = shown(closed, facts(evidence=tuple(evidence), resolved=resolved), POLICY, NOW)
    newer = not resolved and any(position > seen for position in evidence)
    assert handling.reopened_by_evidence is newer
    assert handling.state == ("ACKNOWLEDGED" if newer else "CLOSED")
    assert (handling.closed_at is None) is newer


def actions(*each: tuple[str, str, str | None, str | None]) -> list[dict[str, object]]:
    return [Action(kind, by, NOW - timedelta(days=3), note, to).as_json() for kind, by, note, to in each]


def test_the_agent_line_names_the_department_the_person_and_the_latest_note() -> None:
    assigned = row("ASSIGNED", assignee="rep-114", acknowledged_at=datetime(2026, 12, 3, 10, tzinfo=timezone.utc),
                   actions=actions(("ACKNOWLEDGE", "billing-lead", None, None),
                                   ("ASSIGN", "billing-lead", "refund under way", "rep-114")))
    assert on_it(shown(assigned, facts(), POLICY, NOW), POLICY) == "Billing (rep-114) is on it since 3 Dec 2026: refund under way"
    acknowledged = row("ACKNOWLEDGED", acknowledged_at=datetime(2026, 12, 3, 10, tzinfo=timezone.utc),
                       actions=actions(("ACKNOWLEDGE", "sales-lead", None, None), ("COMMENT", "rep-7", "called", None)))
    assert on_it(shown(acknowledged, facts(), POLICY, NOW), POLICY) == "Sales (sales-lead) is on it since 3 Dec 2026: called"


def test_the_agent_line_of_a_finding_nobody_took_on_names_its_owner_and_deadline() -> None:
    assert on_it(shown(None, facts(detected_days_ago=2), POLICY, NOW), POLICY) == (
        "Nobody is on it yet; Billing (billing-lead) owns it, overdue since 5 Dec 2026")  # MEDIUM: half a day here
    assert on_it(shown(None, facts(detected_days_ago=0.1), DEFAULT_POLICY, NOW), DEFAULT_POLICY) == (
        "Nobody is on it yet, to acknowledge by 9 Dec 2026")


def test_the_agent_line_of_a_snoozed_or_closed_finding() -> None:
    snoozed = row("SNOOZED", snoozed_until=datetime(2026, 12, 20, tzinfo=timezone.utc),
                  actions=actions(("SNOOZE", "rep-7", "after the holidays", None)))
    assert on_it(shown(snoozed, facts(), POLICY, NOW), POLICY) == "rep-7 put it aside until 20 Dec 2026: after the holidays"
    closed = row("CLOSED", closed_at=datetime(2026, 12, 5, tzinfo=timezone.utc), actions=actions(("CLOSE", "rep-7", "done", None)))
    assert on_it(shown(closed, facts(), POLICY, NOW), POLICY) == (
        "rep-7 closed it on 5 Dec 2026, though the rules still hold it: done")


def change(rule: str, severity: str, departments: list[str], assignee: str | None) -> dict[str, object]:
    return {"finding": orjson.dumps({"rule": rule, "severity": severity, "departments": departments}).decode(),
            "assignee": assignee}


def test_a_live_change_is_chosen_as_the_replay_chooses_it() -> None:
    owners = {"sales": "sales-lead"}
    row = change("sales-pressure-during-escalation", "HIGH", ["sales", "support"], None)
    assert ChangeFilter(assignee="sales-lead").wants(row, owners)  # nobody assigned it: its first department's owner
    assert not ChangeFilter(assignee="rep-114").wants(row, owners)
    assert ChangeFilter(assignee="rep-114").wants({**row, "assignee": "rep-114"}, owners)
    assert ChangeFilter(rule="sales-pressure-during-escalation", severity="HIGH", department="support").wants(row, owners)
    assert not ChangeFilter(severity="LOW").wants(row, owners)
    assert not ChangeFilter(department="billing").wants(row, owners)
    assert not ChangeFilter(rule="contact-pressure").wants(row, owners)
