"""`contact-after-opt-out` folded against its detector: consent changes and messages on shared instants.

Withdrawals and grants for a contact or the whole account and each channel, and messages
by matching and other channels, often on one instant in either order of the tie (a change
judges only messages after it; a grant at the withdrawal's or the first message's instant
means the finding never held), or one microsecond either side; read at every fact, +-1 us.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.facts import Fact
from projections.findings import Finding, Moment
from projections.history import Timeline
from projections.rules.contact_after_opt_out import Consents, detect
from projections.state_codec import encode
from projections.thresholds import DEFAULT_THRESHOLDS, thresholds_from
from tests.unit.rules.fold_clusters import START, assert_fold_matches_detector, daily, edge_histories
from tests.unit.rules.fold_edges import state_and_final

RULE = "contact-after-opt-out"

DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "marketing.consent.changed": st.fixed_dictionaries({"channel": st.sampled_from(["email", "email", "phone", "all"]),
                                                        "granted": st.booleans()}),
    "marketing.campaign.sent": st.fixed_dictionaries({"campaignId": st.just("C-1"), "intent": st.just("nurture"),
                                                      "channel": st.sampled_from(["email", "email", "ads"])}),
    "sales.outreach.sent": st.fixed_dictionaries({"intent": st.just("prospecting"),
                                                  "channel": st.sampled_from(["email", "call", "sms"])}),
}
KINDS = [*sorted(DATA), "marketing.consent.changed"]
MESSAGES = ["marketing.campaign.sent", "sales.outreach.sent"] * 2  # more messages than evidence shows
GAPS = [timedelta(0), timedelta(0), timedelta(hours=12)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_fold_reads_as_the_detector_at_every_edge(data: st.DataObject) -> None:
    facts: list[Fact] = data.draw(edge_histories(DATA, GAPS, [None, "c-1", "c-1", "c-2"], kinds=KINDS, size=16))
    assert_fold_matches_detector(RULE, facts, [], DEFAULT_THRESHOLDS)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(0, 3), st.integers(0, 3))
def test_the_fold_keeps_the_detector_s_first_and_latest_messages(data: st.DataObject, first: int, latest: int) -> None:
    """Evidence caps smaller than the findings, so that the fold's cut meets the detector's at every edge."""
    facts: list[Fact] = data.draw(edge_histories(DATA, GAPS, [None, "c-1", "c-1", "c-2"], kinds=[*KINDS, *MESSAGES],
                                                 size=16))
    capped = thresholds_from({RULE: {"evidence_first": first, "evidence_latest": latest}})
    assert_fold_matches_detector(RULE, facts, [], capped)


MAIL = {"campaignId": "C-1", "intent": "nurture", "channel": "email"}
HOUR = timedelta(hours=1)


def every_day(days: int) -> list[Fact]:
    """Every day: c-1 opts out of email and is mailed, then opts in again; c-2 opts out and in at one instant
    (answered at once) and is mailed; c-3 opts out of phone calls again, never called; the account is mailed
    with no consent given. Numbered, so that each is evidence of its own."""
    return numbered(daily(days, (HOUR, "marketing.consent.changed", "c-1", {"channel": "email", "granted": False}),
                 (2 * HOUR, "marketing.campaign.sent", "c-1", MAIL),
                 (3 * HOUR, "marketing.consent.changed", "c-1", {"channel": "email", "granted": True}),
                 (4 * HOUR, "marketing.consent.changed", "c-2", {"channel": "all", "granted": True}),
                 (4 * HOUR, "marketing.consent.changed", "c-2", {"channel": "email", "granted": False}),
                 (5 * HOUR, "marketing.campaign.sent", "c-2", MAIL),
                 (6 * HOUR, "marketing.campaign.sent", None, MAIL),
                 (7 * HOUR, "marketing.consent.changed", "c-3", {"channel": "phone", "granted": False})))


def numbered(facts: list[Fact], first: int = 1) -> list[Fact]:
    return [each._replace(position=first + n, event_id=f"{each.event_id}-{first + n}") for n, each in enumerate(facts)]


def folded(facts: list[Fact]) -> tuple[Consents, list[Finding]]:
    """The state after the facts in order, and the findings it gave up as final on the way."""
    state, final = state_and_final(RULE, facts)
    return state, final


def test_the_state_keeps_the_latest_consents_and_open_withdrawals_however_long_the_history() -> None:
    consents, final = folded(every_day(400))
    assert len(consents.open) <= 2 and sum(len(channels) for channels in consents.latest.values()) <= 5
    assert consents.final == [] and len(final) == 400  # c-1's daily findings, given up as final
    sizes = {days: len(encode(folded(every_day(days))[0])) for days in (50, 500)}
    assert sizes[500] <= sizes[50] + 64, sizes


def test_a_withdrawal_given_up_as_final_is_the_detectors_finding_years_later() -> None:
    facts = every_day(40)
    _, final = folded(facts)
    much_later = START + timedelta(days=40 + 3 * 365)
    later = [*facts, *numbered(daily(1, (timedelta(days=40 + 3 * 365) - HOUR, "marketing.consent.changed", "c-1",
                                         {"channel": "all", "granted": False}),
                                     (timedelta(days=40 + 3 * 365), "marketing.campaign.sent", "c-1", MAIL)),
                            len(facts) + 1)]
    detected = sorted(detect(Timeline("acme", sorted(later, key=lambda one: one.order)), Moment(much_later),
                             DEFAULT_THRESHOLDS[RULE]), key=lambda each: (each.detected_at, each.id))
    assert len(final) == 40 and all(len(each.evidence) == 2 for each in final)
    assert final == [each for each in detected if each.resolved_at is not None] and detected[-1].resolved_at is None


def mailed_after_opting_out(days: int) -> list[Fact]:
    """c-1 opts out of email on the first day and is never granted it again; marketing mails it every day."""
    opt_out = Fact(0, "marketing.consent.changed", START, "test", "opt-out", "c-1", {"channel": "email", "granted": False})
    return numbered([opt_out, *daily(days, (HOUR, "marketing.campaign.sent", "c-1", MAIL))])


def test_the_state_stops_growing_once_an_open_withdrawal_holds_its_first_and_latest_messages() -> None:
    """Differs from the spec (every message after it): 200 or 1,000 days of mail after one opt-out."""
    small, large = folded(mailed_after_opting_out(200))[0], folded(mailed_after_opting_out(1000))[0]
    [withdrawal] = large.open.values()
    assert withdrawal.messages is not None
    assert withdrawal.messages.count == 1000 and len(withdrawal.messages.shown) == 100
    sizes = len(encode(small)), len(encode(large))
    assert sizes[1] <= sizes[0] + 100, sizes  # at most a digit more in each shown message's id or position
