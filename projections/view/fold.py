"""The account view as a fold: a compact state advanced one fact at a time, read at a moment.

`view_at(state, T, findings, weights, past)` is the view of the facts up to T judged at T
(`account_view`, the reference, in the tests); the trend's past points are passed in,
read from the checkpoints at week boundaries (`health_at` on the state there).

Facts come in `(occurredAt, source, id)` order and are read at a moment no earlier than
the last one taken, so whatever lies outside every window as seen from the latest fact
is outside it at every later moment too, and is dropped. Each part keeps (`state/`):

- `touches`: per department its latest event and the instants of its events and
  outbound touches of the last 90 days (the 7/30/90-day counts); the account's first
  event, latest name and latest engagement. Bounded by 90 days of events.
- `items`: the open tickets, opportunities, unpaid invoices, incidents and opt-outs,
  with what their words need; the suspension, the plan running longest; the instants of
  escalations, openings, reopenings and failed payments of the last 90 days. Records
  by id (a ticket's priority, an opportunity's stage, an invoice's payments) are a few
  values each: they grow with the number of ids, not with the facts about them.
- `responses`: the NPS responses and CSAT scores of the last 365 days and the latest
  follow-up. Bounded by 365 days of responses.
- `usage`: the usage records with seats since the latest one 28 days or more before
  the last (health's comparison), and the lifecycle's latest record and low run.
- `spells`: the latest subscription change and win (whether the account is a customer),
  the current spell and the latest one ended. Constant.

Reading copies nothing but the spells (judged up to the moment on a copy), so a read
costs the size of the state and leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.catalogue import CATALOGUE
from projections.customers import WON_DAYS
from projections.facts import Fact
from projections.findings import SEVERITIES, Finding
from projections.state_codec import state
from projections.view.health import DEFAULT_WEIGHTS, HealthWeights, score_of
from projections.view.model import AccountView, Health, HealthPoint
from projections.view.satisfaction import satisfaction
from projections.view.state.items import Items
from projections.view.state.reading import Reading
from projections.view.state.responses import Responses
from projections.view.state.spells import Spells
from projections.view.state.touches import Touches
from projections.view.state.usage import Usage

TYPES = frozenset(CATALOGUE)  # every event is a touch of its department


@state(version=2)
@dataclass(slots=True)
class ViewState:
    account_id: str
    touches: Touches = field(default_factory=Touches)
    items: Items = field(default_factory=Items)
    responses: Responses = field(default_factory=Responses)
    usage: Usage = field(default_factory=Usage)
    spells: Spells = field(default_factory=Spells)


def start(account_id: str, customer_won_days: int = WON_DAYS) -> ViewState:
    """The state before any fact; `customer_won_days` is the threshold of `prospecting-a-customer`."""
    return ViewState(account_id, spells=Spells(customer_won_days))


def step(view: ViewState, fact: Fact) -> ViewState:
    """The state with one more fact, which comes after every fact taken so far."""
    for part in (view.touches, view.items, view.responses, view.usage, view.spells):
        part.take(fact)
    return view


def reading(view: ViewState, as_of: datetime) -> Reading:
    return Reading(view.account_id, as_of, view.touches, view.items, view.responses, view.usage,
                   view.spells.at(as_of))


def view_at(view: ViewState, as_of: datetime, findings: Sequence[Finding],
            weights: HealthWeights = DEFAULT_WEIGHTS, past: Sequence[HealthPoint] = ()) -> AccountView:
    """The view at `as_of` (no earlier than the last fact taken), the trend's past points given."""
    read = reading(view, as_of)
    components = read.components(findings, weights)
    score = score_of(components)
    open_findings = [each for each in findings if each.resolved_at is None]
    return AccountView(
        account_id=view.account_id,
        as_of=as_of,
        name=view.touches.name,
        open_findings=len(open_findings),
        top_severity=max((each.severity for each in open_findings), key=SEVERITIES.index, default=None),
        departments=read.departments(),
        satisfaction=satisfaction(read.answers, as_of),
        lifecycle=read.lifecycle(),
        health=Health(score, components, (*past, HealthPoint(as_of, score))),
        agent=read.agent(),
    )


def health_at(view: ViewState, as_of: datetime, findings: Sequence[Finding],
              weights: HealthWeights = DEFAULT_WEIGHTS) -> int | None:
    """The health score at `as_of` (a trend point), counting the findings open then."""
    return score_of(reading(view, as_of).components(findings, weights, words=False))  # the score needs no words
