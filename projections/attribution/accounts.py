"""Attribution over many accounts at once: every conversion up to a moment, credited by one model.

The reference for whatever computes it faster (the fold, a table of credits): the
data-driven model learns its removal effects from the journeys of all the accounts
given, converted or not, then credits each conversion like the other models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from projections.attribution.journeys import conversions_of, journeys_of, touches_of
from projections.attribution.markov import removal_effects
from projections.attribution.models import Attribution, attribute, checked_model
from projections.attribution.settings import AttributionSettings
from projections.facts import Fact


def attributions(accounts: Iterable[Sequence[Fact]], model: str, settings: AttributionSettings,
                 until: datetime) -> list[Attribution]:
    """Each account's conversions up to `until` (its facts in `(occurredAt, source, id)` order), credited."""
    checked_model(model)
    histories = [[fact for fact in facts if fact.occurred_at <= until] for facts in accounts]
    effects = removal_effects(journey for facts in histories for journey in journeys_of(facts, settings, until)) \
        if model == "data_driven" else None
    return [attribute(conversion, touches_of(facts), model, settings, effects)
            for facts in histories for conversion in conversions_of(facts, settings)]
