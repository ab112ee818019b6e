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
from projections.thresholds import DEFAULT_THRESHOLDS
from tests.unit.rules.fold_clusters import assert_fold_matches_detector, daily, edge_histories, folded_state

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
GAPS = [timedelta(0), timedelta(0), timedelta(hours=12)]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_fold_reads_as_the_detector_at_every_edge(data: st.DataObject) -> None:
    facts: list[Fact] = data.draw(edge_histories(DATA, GAPS, [None, "c-1", "c-1", "c-2"], kinds=KINDS, size=16))
    assert_fold_matches_detector(RULE, facts, [], DEFAULT_THRESHOLDS)


def test_the_state_keeps_the_latest_consents_and_open_withdrawals_however_long_the_history() -> None:
    """Every day for 400 days: c-1 opts out of email and is mailed, then opts in again; c-2 opts out and in at
    one instant (answered at once) and is mailed; c-3 opts out of phone calls again, never called; the account is
    mailed with no consent given."""
    hour = timedelta(hours=1)
    mail = {"campaignId": "C-1", "intent": "nurture", "channel": "email"}
    facts = daily(400, (hour, "marketing.consent.changed", "c-1", {"channel": "email", "granted": False}),
                  (2 * hour, "marketing.campaign.sent", "c-1", mail),
                  (3 * hour, "marketing.consent.changed", "c-1", {"channel": "email", "granted": True}),
                  (4 * hour, "marketing.consent.changed", "c-2", {"channel": "all", "granted": True}),
                  (4 * hour, "marketing.consent.changed", "c-2", {"channel": "email", "granted": False}),
                  (5 * hour, "marketing.campaign.sent", "c-2", mail),
                  (6 * hour, "marketing.campaign.sent", None, mail),
                  (7 * hour, "marketing.consent.changed", "c-3", {"channel": "phone", "granted": False}))
    consents = folded_state(RULE, facts, DEFAULT_THRESHOLDS)
    assert len(consents.open) <= 2 and sum(len(channels) for channels in consents.latest.values()) <= 5
    assert len(consents.final) == 400  # c-1's daily findings, final
