"""What customers answered: the NPS responses and CSAT scores of the last 365 days, and the latest follow-up.

Every satisfaction figure reads responses of the last 365 days only; the lifecycle's
detractor signal (the latest response, within 90 days) and the agent's detractor
warnings (each contact's latest response, within 30 days) read the latest ones, which
are among them whenever they are recent enough to count. Responses 365 days or more
before the latest fact taken are dropped. A detractor is followed up by any
follow-up at or after it, so the latest follow-up is all that counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from projections.facts import Fact, drop_facts_through
from projections.history import Timeline
from projections.state_codec import state
from projections.view.satisfaction import FOLLOW_UP_INTENTS, WINDOW_DAYS

KEPT = timedelta(days=WINDOW_DAYS)


@state(version=1)
@dataclass(slots=True)
class Responses:
    nps: list[Fact] = field(default_factory=list)  # of the last 365 days, in order
    csat: list[Fact] = field(default_factory=list)
    follow_up: Fact | None = None  # the latest `support.contact.made` or check-in `sales.outreach.sent`

    def take(self, fact: Fact) -> None:
        if fact.type == "marketing.nps.responded":
            self.nps.append(fact)
        elif fact.type == "support.csat.recorded":
            self.csat.append(fact)
        elif fact.type == "support.contact.made" or (
                fact.type == "sales.outreach.sent" and fact.data.get("intent") in FOLLOW_UP_INTENTS):
            self.follow_up = fact
        horizon = fact.occurred_at - KEPT
        drop_facts_through(self.nps, horizon)
        drop_facts_through(self.csat, horizon)

    def timeline(self, account_id: str) -> Timeline:
        """The facts the satisfaction parts read, as a timeline: they read no other."""
        facts = [*self.nps, *self.csat, *([self.follow_up] if self.follow_up else [])]
        return Timeline(account_id, sorted(facts, key=lambda each: each.order))
