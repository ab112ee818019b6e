"""The account view as a fold: a state advanced one fact at a time, read at a moment.

`view_at(state, T, findings, weights, past)` is the view of the facts up to T judged at
T (`account_view`, the reference, in the tests); the trend's past points are passed in,
read from the checkpoints at week boundaries (`health_at` on the state there).

This first version keeps every fact the view reads and judges them at once when read:
correct, but as costly as the account's history. Each view part is to keep a compact
state of its own instead (only what can still change an answer at a later moment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.catalogue import CATALOGUE
from projections.customers import WON_DAYS
from projections.facts import Fact
from projections.findings import Finding
from projections.history import History, Timeline
from projections.state_codec import state
from projections.view.account import account_view
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights, components_at, open_at, score_of
from projections.view.model import AccountView, HealthPoint

TYPES = frozenset(CATALOGUE)  # every part together reads nearly every type


@state(version=1)
@dataclass(slots=True)
class ViewState:
    account_id: str
    won_days: int = WON_DAYS
    facts: list[Fact] = field(default_factory=list)  # in order


def start(account_id: str, customer_won_days: int = WON_DAYS) -> ViewState:
    return ViewState(account_id, customer_won_days)


def step(view: ViewState, fact: Fact) -> ViewState:
    view.facts.append(fact)
    return view


def view_at(view: ViewState, as_of: datetime, findings: Sequence[Finding],
            weights: HealthWeights = DEFAULT_WEIGHTS, past: Sequence[HealthPoint] = ()) -> AccountView:
    """The view at `as_of` (no earlier than the last fact taken), the trend's past points given."""
    judged = account_view(History(view.account_id, tuple(view.facts)), as_of, findings, weights, trend_weeks=0,
                          customer_won_days=view.won_days)
    assert judged.health is not None
    now = HealthPoint(as_of, judged.health.score)
    return replace(judged, health=replace(judged.health, trend=(*past, now)))


def health_at(view: ViewState, as_of: datetime, findings: Sequence[Finding],
              weights: HealthWeights = DEFAULT_WEIGHTS) -> int | None:
    """The health score at `as_of` (a trend point), counting the findings open then."""
    timeline = Timeline(view.account_id, view.facts)
    return score_of(components_at(timeline, as_of, open_at(findings, as_of), weights, view.won_days))
