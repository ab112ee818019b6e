"""A settled conversion as the rows the projector keeps: one per touch in its window, credited by every model.

Every model but `data_driven` credits a conversion from its own touches alone, so the
projector credits it once, when it settles (`fold.take_settled`), and keeps the rows. The
data-driven model needs the journeys of all accounts: it is credited when read, from
these rows (each holds its touch's department and channel, in touch order) and the
journeys not converted (`fold.read`).

A conversion no touch preceded is one row with no touch, each model's credit its whole
amount: unattributed, reported, never dropped.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from projections.attribution.fold import Converted
from projections.attribution.journeys import Conversion, Touch
from projections.attribution.models import counted_touches, credit_amounts
from projections.attribution.settings import AttributionSettings

STORED_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")  # credited when settled


class CreditRow(NamedTuple):
    conversion: Conversion
    touch: Touch | None  # None: the conversion is unattributed
    credits: tuple[Decimal, ...]  # by model, in `STORED_MODELS` order

    @property
    def touch_at(self) -> datetime | None:
        return None if self.touch is None else self.touch.at


def credit_rows(converted: Converted, settings: AttributionSettings) -> list[CreditRow]:
    """The conversion's rows: each touch in its window with its credit by each stored model."""
    conversion, touches = converted
    counted = counted_touches(conversion, touches, settings)
    if not counted:
        return [CreditRow(conversion, None, tuple(conversion.amount for _ in STORED_MODELS))]
    by_model = [credit_amounts(conversion, counted, model, settings) for model in STORED_MODELS]
    return [CreditRow(conversion, touch, credits) for touch, credits in zip(counted, zip(*by_model), strict=True)]
