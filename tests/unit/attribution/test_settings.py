"""Attribution settings from an operator's TOML file: defaults, overrides, and every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from projections.attribution.settings import (
    DEFAULT_ATTRIBUTION,
    AttributionSettingError,
    attribution_settings_from,
)
from service.settings import Settings, SettingsError


def test_the_defaults() -> None:
    assert (DEFAULT_ATTRIBUTION.lookback_days, DEFAULT_ATTRIBUTION.half_life_days,
            DEFAULT_ATTRIBUTION.count_upgrades) == (90, 7.0, False)
    assert Settings.from_env({}).attribution == DEFAULT_ATTRIBUTION


def test_an_override_changes_only_its_key() -> None:
    chosen = attribution_settings_from({"half_life_days": 3})
    assert (chosen.lookback_days, chosen.half_life_days, chosen.count_upgrades) == (90, 3.0, False)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"lookback": 30}, "lookback: unknown attribution setting; the settings are lookback_days, half_life_days"),
        ({"lookback_days": 0}, "lookback_days: must be between 1 and 3650 days (got 0)"),
        ({"lookback_days": 3651}, "lookback_days: must be between 1 and 3650 days"),
        ({"lookback_days": 30.5}, "lookback_days: must be a whole number of days"),
        ({"lookback_days": True}, "lookback_days: must be a whole number of days"),
        ({"half_life_days": 0}, "half_life_days: must be between 0.001 and 3650 days (got 0)"),
        ({"half_life_days": float("nan")}, "half_life_days: must be a number of days"),
        ({"half_life_days": "7"}, "half_life_days: must be a number of days"),
        ({"count_upgrades": "yes"}, "count_upgrades: must be true or false"),
        ({"count_upgrades": 1}, "count_upgrades: must be true or false"),
    ],
)
def test_a_mistake_names_its_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(AttributionSettingError) as raised:
        attribution_settings_from(table)
    assert str(raised.value).startswith(message)


def test_the_service_reads_the_attribution_file_at_start(tmp_path: Path) -> None:
    chosen = tmp_path / "attribution.toml"
    chosen.write_text("lookback_days = 30\ncount_upgrades = true\n")
    settings = Settings.from_env({"CX360_ATTRIBUTION_FILE": str(chosen)})
    assert (settings.attribution.lookback_days, settings.attribution.count_upgrades) == (30, True)


@pytest.mark.parametrize(("content", "message"), [
    ("lookback_days = -1\n", "lookback_days: must be between 1 and 3650"),
    ("lookback_day = 30\n", "lookback_day: unknown attribution setting"),
    ("lookback_days = [\n", "is not valid TOML"),
])
def test_a_bad_attribution_file_stops_the_start_naming_the_variable_and_key(
        tmp_path: Path, content: str, message: str) -> None:
    chosen = tmp_path / "attribution.toml"
    chosen.write_text(content)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CX360_ATTRIBUTION_FILE": str(chosen)})
    assert str(raised.value).startswith("CX360_ATTRIBUTION_FILE") and message in str(raised.value)


def test_a_missing_attribution_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CX360_ATTRIBUTION_FILE: cannot read"):
        Settings.from_env({"CX360_ATTRIBUTION_FILE": str(tmp_path / "absent.toml")})
