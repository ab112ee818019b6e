"""`sales-pressure-during-escalation` folded against its detector: ticket events and pushes on shared instants.

Openings, escalations, resolutions and reopenings of two tickets, and pushes, often on one
instant in either order of the tie (the events of a ticket at one instant take effect
together), or one microsecond either side; read at every fact's instant, +-1 us. With a
reopening horizon of one day, facts also land a day (+-1 us) after one another, so a
finding is reopened at its horizon and a new one opened just after it. Facts a year apart
(+-1 us) meet the item horizon.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.account_state import advance, findings_at, start
from projections.facts import Fact
from projections.findings import Moment
from projections.history import Timeline
from projections.item_horizon import ITEM_HORIZON
from projections.rules import RULES
from projections.state_codec import encode
from projections.thresholds import DEFAULT_THRESHOLDS, thresholds_from
from tests.unit.rules.fold_clusters import START, assert_fold_matches_detector, daily, edge_histories, folded_state

RULE = "sales-pressure-during-escalation"

TICKET = st.fixed_dictionaries({"ticketId": st.sampled_from(["T-1", "T-1", "T-2"])})
DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "support.ticket.opened": st.fixed_dictionaries({"ticketId": st.sampled_from(["T-1", "T-1", "T-2"]),
                                                    "priority": st.sampled_from(["low", "high", "urgent"])}),
    "support.ticket.escalated": TICKET,
    "support.ticket.resolved": TICKET,
    "support.ticket.reopened": TICKET,
    "sales.outreach.sent": st.fixed_dictionaries({"channel": st.just("email"),
                                                  "intent": st.sampled_from(["renewal", "upsell", "check_in"])}),
    "sales.opportunity.opened": st.fixed_dictionaries({"opportunityId": st.just("O-1"),
                                                       "kind": st.sampled_from(["expansion", "new"]),
                                                       "amount": st.just("100"), "currency": st.just("EUR")}),
}
KINDS = [*sorted(DATA), "support.ticket.opened", "support.ticket.resolved", "sales.outreach.sent"]
PUSHES = ["sales.outreach.sent", "sales.opportunity.opened"] * 2  # more pushes than evidence shows
GAPS = [timedelta(0), timedelta(0), timedelta(hours=12)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_fold_reads_as_the_detector_at_every_edge(data: st.DataObject) -> None:
    facts: list[Fact] = data.draw(edge_histories(DATA, GAPS, kinds=KINDS, size=16))
    assert_fold_matches_detector(RULE, facts, [], DEFAULT_THRESHOLDS)


YEAR_GAPS = [timedelta(0), timedelta(hours=12), ITEM_HORIZON, ITEM_HORIZON, ITEM_HORIZON - timedelta(days=20),
             timedelta(days=20)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_fold_reads_as_the_detector_at_the_item_horizon(data: st.DataObject) -> None:
    """Tickets quiet for a year (+-1 us) and seen again: forgotten or not, as the detector forgets them, with the sweep
    (every 30 days of the account's time) in between."""
    facts: list[Fact] = data.draw(edge_histories(DATA, YEAR_GAPS, kinds=KINDS, size=18))
    assert_fold_matches_detector(RULE, facts, [ITEM_HORIZON], DEFAULT_THRESHOLDS)


LONG_REOPENING = thresholds_from({RULE: {"reopen_days": 400}})


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_reopening_horizon_longer_than_a_year_delays_forgetting(data: st.DataObject) -> None:
    """With `reopen_days` over 365, a ticket is forgotten only once its finding can no longer change."""
    facts: list[Fact] = data.draw(edge_histories(DATA, YEAR_GAPS, kinds=KINDS, size=18))
    assert_fold_matches_detector(RULE, facts, [ITEM_HORIZON, timedelta(days=400)], LONG_REOPENING)


def pushed_and_resolved() -> list[Fact]:
    """T-1 opened urgent at START, a renewal push an hour later (its finding, keyed T-1), resolved a day later."""
    return [Fact(1, "support.ticket.opened", START, "test", "o", None, {"ticketId": "T-1", "priority": "urgent"}),
            Fact(2, "sales.outreach.sent", START + timedelta(hours=1), "test", "p1", None,
                 {"channel": "email", "intent": "renewal"}),
            Fact(3, "support.ticket.resolved", START + timedelta(days=1), "test", "r", None, {"ticketId": "T-1"})]


def test_a_forgotten_ticket_seen_again_only_resolved_is_not_serious() -> None:
    """A review's case: a ticket whose finding took the plain key is forgotten; its id comes back with a resolution
    alone (a new ticket, closed and not serious), then an opening at low priority and a push: no new finding."""
    push = {"channel": "email", "intent": "renewal"}
    day, hour = timedelta(days=1), timedelta(hours=1)
    facts = [*pushed_and_resolved(),
             Fact(4, "support.ticket.resolved", START + 401 * day, "test", "r2", None, {"ticketId": "T-1"}),
             Fact(5, "support.ticket.opened", START + 402 * day, "test", "o2", None,
                  {"ticketId": "T-1", "priority": "low"}),
             Fact(6, "sales.outreach.sent", START + 402 * day + hour, "test", "p2", None, push)]
    assert_fold_matches_detector(RULE, facts, [], DEFAULT_THRESHOLDS)
    checks = [Fact(10 + n, "sales.outreach.sent", START + days * day, "test", f"c{n}", None,
                   {"channel": "email", "intent": "check_in"}) for n, days in enumerate((100, 380))]
    assert_fold_matches_detector(RULE, [*facts, *checks], [], DEFAULT_THRESHOLDS)  # swept before it comes back
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in sorted([*facts, *checks], key=lambda each: each.order):
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    found = findings_at(account, Moment(START + 403 * day), DEFAULT_THRESHOLDS, [RULE])
    assert [(each.key, each.resolved_at) for each in found] == [("T-1", START + day)]  # the old one alone


def test_with_a_reopening_horizon_over_a_year_a_ticket_is_kept_while_its_finding_can_change() -> None:
    """A review's case: `reopen_days` 400; reopened 370 days after it resolved and pushed, the finding opens again."""
    push = {"channel": "email", "intent": "renewal"}
    day, hour = timedelta(days=1), timedelta(hours=1)
    facts = [*pushed_and_resolved(),
             Fact(4, "support.ticket.reopened", START + 370 * day, "test", "ro", None, {"ticketId": "T-1"}),
             Fact(5, "sales.outreach.sent", START + 370 * day + hour, "test", "p2", None, push)]
    assert_fold_matches_detector(RULE, facts, [], LONG_REOPENING)
    account = start("acme", LONG_REOPENING, [RULE])
    for fact in facts:
        account = advance(account, fact, LONG_REOPENING)
    [found] = findings_at(account, Moment(START + 371 * day), LONG_REOPENING, [RULE])
    assert (found.key, found.resolved_at) == ("T-1", None)


ONE_DAY = thresholds_from({RULE: {"reopen_days": 1}})
DAY_GAPS = [timedelta(0), timedelta(hours=12), timedelta(days=1), timedelta(days=1)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_fold_reads_as_the_detector_at_every_horizon(data: st.DataObject) -> None:
    """A horizon of one day: reopenings and pushes on it (+-1 us), and new findings after it."""
    facts: list[Fact] = data.draw(edge_histories(DATA, DAY_GAPS, kinds=KINDS, size=18))
    assert_fold_matches_detector(RULE, facts, [timedelta(days=1)], ONE_DAY)


def test_a_push_looks_only_at_the_open_tickets_however_long_the_history() -> None:
    """Every day for 400 days an urgent ticket opens, a renewal outreach goes out, and the ticket is resolved."""
    hour = timedelta(hours=1)
    facts = [each._replace(data={**each.data, "ticketId": f"T-{each.event_id.split('-')[0]}"})
             if "ticketId" in each.data else each
             for each in daily(400, (hour, "support.ticket.opened", None, {"ticketId": "", "priority": "urgent"}),
                               (2 * hour, "sales.outreach.sent", None, {"channel": "email", "intent": "renewal"}),
                               (3 * hour, "support.ticket.resolved", None, {"ticketId": ""}))]
    escalations = folded_state(RULE, facts, DEFAULT_THRESHOLDS)
    assert len(escalations.open) == 1 and len(escalations.pending) == 1  # the last resolution takes effect when read
    assert len(escalations.resolved) == 30 and all(ticket.pushes and ticket.pushes.count == 1
                                                   for ticket in escalations.resolved.values())
    # beyond the reopening horizon, only priorities; beyond the item horizon (a year), only the ids of plain keys
    assert len(escalations.done) + len(escalations.keyed) == 369 and escalations.keyed
    assert escalations.swept_at is not None
    assert all(last_at is not None and escalations.swept_at - last_at <= ITEM_HORIZON
               for _, last_at in escalations.done.values())


def pushes_during_open_tickets(pushes: int) -> list[Fact]:
    """Eight urgent tickets opened on the first day and never resolved, and a renewal outreach every day."""
    openings = [Fact(0, "support.ticket.opened", START, "test", f"t-{n}", None,
                     {"ticketId": f"T-{n}", "priority": "urgent"}) for n in range(8)]
    return openings + daily(pushes, (timedelta(hours=1), "sales.outreach.sent", None,
                                     {"channel": "email", "intent": "renewal"}))


def test_a_push_that_joins_many_tickets_is_written_once() -> None:
    """Every finding is open and under its evidence cap: each push costs its own bytes, not one copy per ticket."""
    one_push = len(encode(pushes_during_open_tickets(1)[-1]))
    size = [len(encode(folded_state(RULE, pushes_during_open_tickets(days), DEFAULT_THRESHOLDS))) for days in (10, 90)]
    assert size[1] - size[0] <= 80 * (one_push + 8 * 5), size  # a shared push: a memo reference per ticket


def test_the_state_stops_growing_once_the_open_tickets_hold_their_first_and_latest_pushes() -> None:
    """Differs from the spec (every push): eight tickets never resolved, a push a day, 200 or 1,000 days."""
    small, large = (folded_state(RULE, pushes_during_open_tickets(days), DEFAULT_THRESHOLDS) for days in (200, 1000))
    assert len(large.open) == 8 and len(large.pending) == 1  # the latest push waits for a later instant
    assert all(ticket.pushes and (ticket.pushes.count, len(ticket.pushes.shown)) == (999, 100)
               for ticket in large.open.values())
    sizes = len(encode(small)), len(encode(large))
    assert sizes[1] <= sizes[0] + 100, sizes  # at most a digit more in each shown push's id


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(0, 3), st.integers(0, 3))
def test_the_fold_keeps_the_detector_s_first_and_latest_pushes(data: st.DataObject, first: int, latest: int) -> None:
    """Evidence caps smaller than the findings, so that the fold's cut meets the detector's at every edge."""
    facts: list[Fact] = data.draw(edge_histories(DATA, DAY_GAPS, kinds=[*KINDS, *PUSHES], size=18))
    capped = thresholds_from({RULE: {"reopen_days": 1, "evidence_first": first, "evidence_latest": latest}})
    assert_fold_matches_detector(RULE, facts, [timedelta(days=1)], capped)


def test_a_ticket_reopened_years_after_its_finding_resolved_is_a_new_ticket() -> None:
    """The finding resolved on day 1 is final at the first fact after day 31. A reopening three years on is past the
    item horizon: a new ticket, not serious until escalated, whose finding is keyed by its push (the plain key was
    taken)."""
    facts = pushed_and_resolved()
    later = START + timedelta(days=3 * 365)
    upsell = {"channel": "email", "intent": "upsell"}
    reopening = [Fact(4, "support.ticket.reopened", later, "test", "ro", None, {"ticketId": "T-1"}),
                 Fact(5, "sales.outreach.sent", later + timedelta(hours=1), "test", "p2", None, upsell),
                 Fact(6, "support.ticket.escalated", later + timedelta(hours=2), "test", "e", None, {"ticketId": "T-1"}),
                 Fact(7, "sales.outreach.sent", later + timedelta(hours=3), "test", "p3", None, upsell)]
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in facts:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
        assert not account.final
    account = advance(account, reopening[0], DEFAULT_THRESHOLDS)
    [(final_at, final)] = account.final
    assert (final_at, final.key, final.resolved_at) == (later, "T-1", START + timedelta(days=1))
    assert [each.event_id for each in final.evidence] == ["o", "p1"]
    assert account.rules[RULE].resolved == {} and account.rules[RULE].done == {"T-1": ("urgent", START + timedelta(days=1))}
    account = advance(account, reopening[1], DEFAULT_THRESHOLDS)
    [old] = findings_at(account, Moment(later + timedelta(hours=1)), DEFAULT_THRESHOLDS, [RULE])
    assert old == final  # the push finds the reopened ticket not serious: the urgency was the old ticket's
    for fact in reopening[2:]:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    old, new = findings_at(account, Moment(later + timedelta(days=1)), DEFAULT_THRESHOLDS, [RULE])
    assert old == final
    assert (new.key, new.resolved_at) == ("T-1@test/p3", None)
    assert {each.event_id for each in new.evidence} == {"ro", "e", "p3"}
    assert_fold_matches_detector(RULE, facts + reopening, [], DEFAULT_THRESHOLDS)


def test_a_serious_ticket_quiet_for_over_a_year_is_forgotten_and_its_id_starts_again() -> None:
    """Escalated and resolved with no push (no finding): a year and a day later its id is a new ticket, whose finding
    takes the plain key; the sweep has dropped the old one from the state before the id comes again."""
    facts = [Fact(1, "support.ticket.opened", START, "test", "o", None, {"ticketId": "T-1", "priority": "low"}),
             Fact(2, "support.ticket.escalated", START + timedelta(hours=1), "test", "e", None, {"ticketId": "T-1"}),
             Fact(3, "support.ticket.resolved", START + timedelta(days=1), "test", "r", None, {"ticketId": "T-1"})]
    quiet = START + timedelta(days=1) + ITEM_HORIZON
    other = Fact(4, "support.ticket.opened", quiet + timedelta(hours=1), "test", "x", None, {"ticketId": "T-2"})
    again = [Fact(5, "support.ticket.opened", quiet + timedelta(days=1), "test", "o2", None,
                  {"ticketId": "T-1", "priority": "urgent"}),
             Fact(6, "sales.outreach.sent", quiet + timedelta(days=1, hours=1), "test", "p", None,
                  {"channel": "email", "intent": "renewal"})]
    escalations = folded_state(RULE, [*facts, other], DEFAULT_THRESHOLDS)
    assert "T-1" not in escalations.resolved and "T-1" not in escalations.keyed  # no finding took its key
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in [*facts, other, *again]:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    [found] = findings_at(account, Moment(quiet + timedelta(days=2)), DEFAULT_THRESHOLDS, [RULE])
    assert found.key == "T-1" and {each.event_id for each in found.evidence} == {"o2", "p"}
    assert_fold_matches_detector(RULE, [*facts, other, *again], [], DEFAULT_THRESHOLDS)
    # a day less, and the ticket is the same: still escalated, so a push joins it with its old evidence
    sooner = [each._replace(occurred_at=each.occurred_at - timedelta(days=2)) for each in again]
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in [*facts, *sooner]:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    [found] = findings_at(account, Moment(quiet), DEFAULT_THRESHOLDS, [RULE])
    assert found.key == "T-1" and {"o", "e"} <= {each.event_id for each in found.evidence}
    assert_fold_matches_detector(RULE, [*facts, *sooner], [], DEFAULT_THRESHOLDS)


def episodes(count: int, ticket: str = "T-1") -> list[Fact]:
    """An urgent ticket opened, pushed and resolved, then reopened 40 days later, pushed and resolved, and so on."""
    urgent = {"ticketId": ticket, "priority": "urgent"}
    facts = [Fact(0, "support.ticket.opened", START, "test", "o", None, urgent)]
    for n in range(count):
        day = START + timedelta(days=40 * n)
        if n:
            facts.append(Fact(0, "support.ticket.reopened", day, "test", f"ro-{n}", None, {"ticketId": ticket}))
        facts += [Fact(0, "sales.outreach.sent", day + timedelta(hours=1), "test", f"p-{n}", None,
                       {"channel": "email", "intent": "renewal"}),
                  Fact(0, "support.ticket.resolved", day + timedelta(days=1), "test", f"r-{n}", None, {"ticketId": ticket})]
    return [each._replace(position=n) for n, each in enumerate(facts, 1)]


def test_the_state_after_500_episodes_is_as_small_as_after_50() -> None:
    size = [len(encode(folded_state(RULE, episodes(count), DEFAULT_THRESHOLDS))) for count in (50, 500)]
    assert size[1] <= size[0] + 8, size  # a few more digits in the last episode's ids


def test_the_final_findings_are_the_detector_s_years_later() -> None:
    """Fold 50 episodes (over 2,000 days) and read three years later: each final finding as the detector finds it, keyed by its push."""
    facts = episodes(50)
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in facts:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    final = [each for _, each in account.final]
    moment = START + timedelta(days=40 * 50 + 3 * 365)
    found = sorted(RULES[RULE].detect(Timeline("acme", facts), Moment(moment), DEFAULT_THRESHOLDS[RULE]),
                   key=lambda each: each.detected_at)
    assert len(final) == 49 and final == found[:49]
    assert [each.key for each in found[:3]] == ["T-1", "T-1@test/p-1", "T-1@test/p-2"]
    assert findings_at(account, Moment(moment), DEFAULT_THRESHOLDS, [RULE]) == found


def test_a_reopened_ticket_takes_only_the_pushes_of_its_own_stretches() -> None:
    """T-1 is resolved while T-2 takes a push, then reopened: its evidence skips that push, kept once for both."""
    def at(day: int, kind: str, **data: Any) -> Fact:
        return Fact(day + 1, kind, START + timedelta(days=day), "test", f"e-{day}", None, data)

    push = {"channel": "email", "intent": "renewal"}
    facts = [at(0, "support.ticket.opened", ticketId="T-1", priority="urgent"), at(1, "sales.outreach.sent", **push),
             at(2, "support.ticket.resolved", ticketId="T-1"), at(3, "support.ticket.opened", ticketId="T-2",
                                                                  priority="high"),
             at(4, "sales.outreach.sent", **push), at(5, "support.ticket.reopened", ticketId="T-1"),
             at(6, "sales.outreach.sent", **push)]
    assert_fold_matches_detector(RULE, facts, [], DEFAULT_THRESHOLDS)
    one, two = findings_at(start_and_fold(facts), Moment(START + timedelta(days=7)), DEFAULT_THRESHOLDS, [RULE])
    assert [each.event_id for each in one.evidence] == ["e-0", "e-1", "e-5", "e-6"]
    assert [each.event_id for each in two.evidence] == ["e-3", "e-4", "e-6"]


def start_and_fold(facts: list[Fact]) -> Any:
    account = start("acme", DEFAULT_THRESHOLDS, [RULE])
    for fact in facts:
        account = advance(account, fact, DEFAULT_THRESHOLDS)
    return account
