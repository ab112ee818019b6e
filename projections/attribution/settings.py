"""Attribution settings: the defaults, overridden by an operator's TOML table.

    lookback_days = 60
    half_life_days = 3.5
    count_upgrades = true

An unknown key or a value of the wrong type or out of range is refused with a message
naming the key, so a typo cannot silently leave a default in force.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

MAX_LOOKBACK_DAYS = 3650  # ten years: the longest range a report may ask for
MIN_HALF_LIFE_DAYS, MAX_HALF_LIFE_DAYS = 0.001, 3650.0  # about a minute and a half; ten years


class AttributionSettingError(ValueError):
    """An attribution setting that cannot be used; the message names the key."""


@dataclass(frozen=True)
class AttributionSettings:
    """How touches are credited: operator settings, these are the defaults."""

    lookback_days: int = 90  # touches count within this many days before the conversion
    half_life_days: float = 7.0  # time decay: a touch this much older than another gets half its weight
    count_upgrades: bool = False  # subscription upgrades convert too (MRR delta x 12); off, as a won expansion
    # opportunity and the upgrade that bills it would count the same revenue twice


DEFAULT_ATTRIBUTION = AttributionSettings()


def attribution_settings_from(table: Mapping[str, Any]) -> AttributionSettings:
    """The defaults with the table's keys overriding them."""
    names = [each.name for each in fields(AttributionSettings)]
    chosen: dict[str, Any] = {}
    for key, value in table.items():
        if key not in names:
            raise AttributionSettingError(f"{key}: unknown attribution setting; the settings are {', '.join(names)}")
        chosen[key] = CHECKS[key](key, value)
    return replace(DEFAULT_ATTRIBUTION, **chosen)


def whole_days(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AttributionSettingError(f"{key}: must be a whole number of days, not {value!r}")
    if not 1 <= value <= MAX_LOOKBACK_DAYS:
        raise AttributionSettingError(f"{key}: must be between 1 and {MAX_LOOKBACK_DAYS} days (got {value})")
    return value


def positive_days(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AttributionSettingError(f"{key}: must be a number of days, not {value!r}")
    if not MIN_HALF_LIFE_DAYS <= value <= MAX_HALF_LIFE_DAYS:
        raise AttributionSettingError(
            f"{key}: must be between {MIN_HALF_LIFE_DAYS:g} and {MAX_HALF_LIFE_DAYS:g} days (got {value})")
    return float(value)


def flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise AttributionSettingError(f"{key}: must be true or false, not {value!r}")
    return value


CHECKS = {"lookback_days": whole_days, "half_life_days": positive_days, "count_upgrades": flag}
