"""Rule thresholds: the spec's defaults, overridden by an operator's TOML table per rule.

    [contact-pressure]
    max_touches = 8

An unknown rule, an unknown key or a value of the wrong type is refused with a message
naming it, so a typo cannot silently leave a default in force.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from projections.attribution.settings import DEFAULT_ATTRIBUTION, AttributionSettings, attribution_settings_from
from projections.rules import RULES

ATTRIBUTION = "attribution"  # attribution's settings travel with the thresholds: stored with the view, changed on rebuild


class ThresholdError(ValueError):
    """A threshold setting that cannot be used; the message names the key."""


Thresholds = Mapping[str, Any]  # rule id -> that rule's thresholds dataclass

DEFAULT_THRESHOLDS: Thresholds = MappingProxyType({rule_id: rule.defaults for rule_id, rule in RULES.items()})


def thresholds_from(table: Mapping[str, Any], *, lenient: bool = False) -> Thresholds:
    """Every rule's thresholds, with the given tables overriding the defaults.

    `lenient` ignores rules and keys this release does not know (thresholds stored by
    another release); an operator's file is read strictly.
    """
    chosen = dict(DEFAULT_THRESHOLDS)
    if lenient:  # stored before attribution's settings were: they were the defaults
        chosen[ATTRIBUTION] = DEFAULT_ATTRIBUTION
    for rule_id, overrides in table.items():
        if rule_id == ATTRIBUTION and isinstance(overrides, Mapping):
            known = AttributionSettings.__dataclass_fields__
            chosen[ATTRIBUTION] = attribution_settings_from(
                {key: value for key, value in overrides.items() if key in known} if lenient else overrides)
            continue
        if rule_id not in RULES:
            if lenient:
                continue
            raise ThresholdError(f"[{rule_id}]: unknown rule; the rules are {', '.join(sorted(RULES))}")
        if not isinstance(overrides, Mapping):
            raise ThresholdError(f"{rule_id}: must be a table of thresholds")
        known = RULES[rule_id].defaults.__dataclass_fields__
        kept = {key: value for key, value in overrides.items() if key in known} if lenient else overrides
        chosen[rule_id] = overridden(rule_id, RULES[rule_id].defaults, kept)
    return MappingProxyType(chosen)


def with_attribution(thresholds: Thresholds, settings: AttributionSettings) -> Thresholds:
    """The rules' thresholds with attribution's settings beside them, as the projector folds with them."""
    return MappingProxyType({**thresholds, ATTRIBUTION: settings})


def thresholds_table(thresholds: Thresholds) -> dict[str, dict[str, Any]]:
    """The thresholds as plain TOML/JSON tables, which `thresholds_from` reads back."""
    return {
        rule_id: {key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(chosen).items()}
        for rule_id, chosen in thresholds.items()
    }


def overridden(rule_id: str, defaults: Any, overrides: Mapping[str, Any]) -> Any:
    fields = {field.name: field for field in dataclasses.fields(defaults)}
    changes = {}
    for key, value in overrides.items():
        where = f"{rule_id}.{key}"
        if key not in fields:
            raise ThresholdError(f"{where}: unknown threshold; {rule_id} has {', '.join(fields)}")
        changes[key] = checked(where, getattr(defaults, key), value)
        minimum = fields[key].metadata.get("minimum")
        if minimum is not None and changes[key] < minimum:
            raise ThresholdError(f"{where}: must be at least {minimum} (got {value}): {fields[key].metadata['why']}")
    return dataclasses.replace(defaults, **changes)


def checked(where: str, default: Any, value: Any) -> Any:
    """The value, if it has the default's type (an int is taken where a float is expected)."""
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ThresholdError(f"{where}: must be a list of strings")
        return tuple(value)
    if isinstance(default, bool) or isinstance(value, bool):
        raise ThresholdError(f"{where}: must be a number, not {value!r}")
    if isinstance(default, int) and not isinstance(value, int):
        raise ThresholdError(f"{where}: must be a whole number, not {value!r}")
    if isinstance(default, float) and not isinstance(value, int | float):
        raise ThresholdError(f"{where}: must be a number, not {value!r}")
    if value < 0:
        raise ThresholdError(f"{where}: must not be negative (got {value})")
    return float(value) if isinstance(default, float) else value


def thresholds_toml(thresholds: Thresholds) -> str:
    """The thresholds as a TOML file that `thresholds_from(tomllib.loads(...))` reads back."""
    lines = []
    for rule_id, table in thresholds_table(thresholds).items():
        lines.append(f"[{rule_id}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in table.items())
        lines.append("")
    return "\n".join(lines)


def toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f'"{item}"' for item in value) + "]"
    return repr(value)
