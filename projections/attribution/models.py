"""The attribution models: how one conversion's amount is shared among the touches before it.

Each model gives every touch in the window a weight; `allocation.split` turns the
weights into credits that add up exactly to the amount, in its currency.

- first touch, last touch: everything to the first (last) touch in
  `(occurredAt, source, id)` order;
- linear: equal weights;
- time decay: a touch's weight halves with every half-life it came before the
  conversion (2^(-age / half-life), age to the microsecond);
- position based: 40% to the first touch, 40% to the last, 20% shared equally by the
  touches between. One touch takes it all; two touches take half each (with nothing
  between them, the 20% is shared as the 40s are, equally);
- data driven: each touch's (department, channel) weighs its removal effect over the
  journeys of many accounts (`markov`), shared equally by that key's touches in the
  window. If no key in the window has any effect (none of them ever preceded a
  conversion in the journeys given), the touches share linearly.

A conversion with no touch in its window is attributed to no one: its whole amount is
`unattributed`, and it is reported, never dropped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from projections.attribution.allocation import split
from projections.attribution.journeys import Conversion, Key, Touch, in_window
from projections.attribution.settings import AttributionSettings

MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Credit:
    touch: Touch
    amount: Decimal  # in the conversion's currency


@dataclass(frozen=True)
class Attribution:
    """One conversion's amount shared among its touches by one model."""

    conversion: Conversion
    model: str
    credits: tuple[Credit, ...]

    @property
    def unattributed(self) -> Decimal:
        """The amount no touch is credited with: all of it when no touch preceded the conversion."""
        return self.conversion.amount - sum((credit.amount for credit in self.credits), Decimal(0))


# The touches' weights as whole numbers: only their ratios count (`allocation.split`), and whole numbers split a
# conversion several times faster than Fractions (a rebuild credits every conversion by five models).
Weigher = Callable[[Conversion, Sequence[Touch], AttributionSettings, Mapping[Key, Fraction]], list[int]]


def first_touch(conversion: Conversion, touches: Sequence[Touch], *_: object) -> list[int]:
    return [1] + [0] * (len(touches) - 1)


def last_touch(conversion: Conversion, touches: Sequence[Touch], *_: object) -> list[int]:
    return [0] * (len(touches) - 1) + [1]


def linear(conversion: Conversion, touches: Sequence[Touch], *_: object) -> list[int]:
    return [1] * len(touches)


def time_decay(conversion: Conversion, touches: Sequence[Touch], settings: AttributionSettings,
               *_: object) -> list[int]:
    """2^(-age / half-life), taken relative to the latest touch (weight 1, so the weights never all vanish:
    only their ratios count), age to the microsecond.

    Each weight is computed in binary floating point (`math.exp2`, 53 bits: about 16 significant digits, far
    finer than a cent of any amount) and then taken exactly, so the same touches always give the same credits:
    each is a whole number over a power of two, so over the largest of those they are whole numbers.
    A 34-digit `Decimal` power did the same at 60 us a touch: half of a rebuild's time. A touch more than
    about a thousand half-lives older than the latest has weight 0.
    """
    half_life = round(settings.half_life_days * 86_400_000_000)  # in microseconds
    latest = touches[-1].at
    ratios = [math.exp2(-((latest - touch.at) // MICROSECOND) / half_life).as_integer_ratio() for touch in touches]
    common = max(denominator for _, denominator in ratios)
    return [numerator * (common // denominator) for numerator, denominator in ratios]


def position_based(conversion: Conversion, touches: Sequence[Touch], *_: object) -> list[int]:
    if len(touches) <= 2:
        return linear(conversion, touches)
    # 2/5, 1/5 shared by the n - 2 between, 2/5: over 5 (n - 2), the first and last weigh 2 (n - 2), each between 1.
    between = len(touches) - 2
    return [2 * between] + [1] * between + [2 * between]


def data_driven(conversion: Conversion, touches: Sequence[Touch], settings: AttributionSettings,
                effects: Mapping[Key, Fraction]) -> list[int]:
    return data_driven_weights([touch.key for touch in touches], effects)


def data_driven_weights(keys: Sequence[Key], effects: Mapping[Key, Fraction]) -> list[int]:
    """The data-driven weights of touches known by their keys alone (as the credits table keeps them): each
    key's effect, to `EFFECT_DECIMALS` places, shared by the conversion's touches of that key (over the common
    multiple of the keys' counts, in whole numbers)."""
    return weights_of_units(keys, {key: effect_units(effects.get(key, Fraction(0))) for key in set(keys)})


def weights_of_units(keys: Sequence[Key], units: Mapping[Key, int]) -> list[int]:
    """`data_driven_weights` from effects already in trillionths (as a month's learnt effects are stored; a key
    missing has none)."""
    per_key = Counter(keys)
    common = math.lcm(*per_key.values()) if per_key else 1
    shares = {key: units.get(key, 0) * (common // count) for key, count in per_key.items()}
    weights = [shares[key] for key in keys]
    return weights if any(weights) else [1] * len(keys)


EFFECT_DECIMALS = 12
EFFECT_SCALE = 10**EFFECT_DECIMALS


def effect_units(effect: Fraction) -> int:
    """A removal effect in trillionths, rounded half to even.

    Exact effects are fractions of numbers of thirty digits and more; rounded, the weights
    stay exact and small enough to credit a year of conversions in SQL in whole numbers
    (`service.read.data_driven`). A credit changes only where two touches' exact shares are
    within a trillionth of each other's rounding.
    """
    return int(round(effect * EFFECT_SCALE))


MODELS: dict[str, Weigher] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "linear": linear,
    "time_decay": time_decay,
    "position_based": position_based,
    "data_driven": data_driven,
}


def checked_model(model: str) -> str:
    """The model's name, if it is one; else an error naming the argument."""
    if model not in MODELS:
        raise ValueError(f"model: unknown attribution model {model!r}; the models are {', '.join(MODELS)}")
    return model


def attribute(conversion: Conversion, touches: Iterable[Touch], model: str, settings: AttributionSettings,
              effects: Mapping[Key, Fraction] | None = None) -> Attribution:
    """The conversion's credits by the model, from the account's touches (any; those in its window count).

    `effects` are the removal effects the data-driven model needs (`markov.removal_effects`).
    """
    checked_model(model)
    if model == "data_driven" and effects is None:
        raise ValueError("effects: the data-driven model needs the removal effects of many accounts' journeys")
    return credited(conversion, counted_touches(conversion, touches, settings), model, settings, effects)


def counted_touches(conversion: Conversion, touches: Iterable[Touch], settings: AttributionSettings) -> list[Touch]:
    """The touches that count for the conversion (in its window), in `(occurredAt, source, id)` order."""
    return sorted(in_window(touches, conversion, settings.lookback_days), key=lambda touch: touch.fact.order)


def credited(conversion: Conversion, counted: Sequence[Touch], model: str, settings: AttributionSettings,
             effects: Mapping[Key, Fraction] | None = None) -> Attribution:
    """`attribute` for touches already counted (`counted_touches`): several models, one windowing."""
    amounts = credit_amounts(conversion, counted, model, settings, effects)
    return Attribution(conversion, model, tuple(Credit(touch, amount) for touch, amount in zip(counted, amounts)))


def credit_amounts(conversion: Conversion, counted: Sequence[Touch], model: str, settings: AttributionSettings,
                   effects: Mapping[Key, Fraction] | None = None) -> list[Decimal]:
    """`credited`'s amounts alone, in touch order (none with no touch): what the projector's credit rows keep."""
    if not counted:
        return []
    return split(conversion.amount, conversion.currency, MODELS[model](conversion, counted, settings, effects or {}))
