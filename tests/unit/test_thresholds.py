"""Rule thresholds from an operator's TOML file: defaults, overrides, and every mistake named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from projections.rules import RULES
from projections.thresholds import (
    DEFAULT_THRESHOLDS,
    ThresholdError,
    thresholds_from,
    thresholds_table,
    thresholds_toml,
)
from service.settings import Settings, SettingsError


def test_defaults_are_the_spec_s() -> None:
    assert DEFAULT_THRESHOLDS["contact-pressure"].max_touches == 6
    assert DEFAULT_THRESHOLDS["invoice-exceeds-deal"].tolerance_percent == 0.5
    assert DEFAULT_THRESHOLDS["abrupt-suspension"].grace_days == 15


def test_an_override_changes_only_its_key() -> None:
    chosen = thresholds_from({"contact-pressure": {"max_touches": 8}})
    assert chosen["contact-pressure"].max_touches == 8
    assert chosen["contact-pressure"].window_days == 7
    assert chosen["ignored-detractor"] == DEFAULT_THRESHOLDS["ignored-detractor"]


def test_the_printed_file_reads_back_as_the_same_thresholds() -> None:
    chosen = thresholds_from({"invoice-exceeds-deal": {"tolerance_percent": 1}, "upsell-to-detractor": {"window_days": 45}})
    assert thresholds_from(tomllib.loads(thresholds_toml(chosen))) == chosen


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"no-such-rule": {}}, "[no-such-rule]: unknown rule"),
        ({"contact-pressure": {"max_touchs": 8}}, "contact-pressure.max_touchs: unknown threshold"),
        ({"contact-pressure": {"max_touches": "8"}}, "contact-pressure.max_touches: must be a whole number"),
        ({"contact-pressure": {"max_touches": 7.5}}, "contact-pressure.max_touches: must be a whole number"),
        ({"contact-pressure": {"max_touches": True}}, "contact-pressure.max_touches: must be a number"),
        ({"contact-pressure": {"max_touches": -1}}, "contact-pressure.max_touches: must not be negative"),
        ({"invoice-exceeds-deal": {"tolerance_percent": "half"}}, "invoice-exceeds-deal.tolerance_percent: must be a number"),
        ({"sales-pressure-during-escalation": {"serious_priorities": "urgent"}},
         "sales-pressure-during-escalation.serious_priorities: must be a list of strings"),
        ({"contact-pressure": 6}, "contact-pressure: must be a table"),
    ],
)
def test_a_mistake_names_its_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ThresholdError) as raised:
        thresholds_from(table)
    assert str(raised.value).startswith(message)


def test_the_service_reads_the_rules_file_at_start(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[contact-pressure]\nmax_touches = 9\n")
    settings = Settings.from_env({"CX360_RULES_FILE": str(rules)})
    assert settings.thresholds["contact-pressure"].max_touches == 9


@pytest.mark.parametrize(
    ("variable", "content", "message"),
    [
        ("CX360_RULES_FILE", "[contact-pressure]\nmax_touchs = 9\n", "contact-pressure.max_touchs: unknown threshold"),
        ("CX360_RULES_FILE", "[contact-pressure\n", "is not valid TOML"),
        ("CX360_HEALTH_WEIGHTS_FILE", "support_load = -1\n", "support_load"),
        ("CX360_HEALTH_WEIGHTS_FILE", "suport_load = 10\n", "suport_load"),
        ("CX360_HEALTH_WEIGHTS_FILE", "support_load = \"high\"\n", "support_load"),
        ("CX360_HEALTH_WEIGHTS_FILE", "support_load = [\n", "is not valid TOML"),
    ],
)
def test_a_bad_settings_file_stops_the_start_naming_the_variable_and_key(
    tmp_path: Path, variable: str, content: str, message: str
) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(content)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: str(settings_file)})
    assert str(raised.value).startswith(variable) and message in str(raised.value)


def test_a_missing_rules_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CX360_RULES_FILE: cannot read"):
        Settings.from_env({"CX360_RULES_FILE": str(tmp_path / "absent.toml")})


def test_projector_mode_is_checked() -> None:
    with pytest.raises(SettingsError, match="CX360_PROJECTOR must be one of process, thread, off"):
        Settings.from_env({"CX360_PROJECTOR": "sometimes"})


def test_health_weights_from_a_file(tmp_path: Path) -> None:
    weights = tmp_path / "weights.toml"
    weights.write_text("support_load = 30\n")
    settings = Settings.from_env({"CX360_HEALTH_WEIGHTS_FILE": str(weights)})
    assert settings.health_weights.support_load == 30 and settings.health_weights.product_usage == 25


def test_a_threshold_below_its_minimum_is_refused_with_the_reason() -> None:
    with pytest.raises(ThresholdError) as refused:
        thresholds_from({"invoice-exceeds-deal": {"deal_horizon_days": 364}})
    assert str(refused.value) == ("invoice-exceeds-deal.deal_horizon_days: must be at least 365 (got 364): a deal is "
                                  "kept at least as long as an invoice naming it is judged")
    assert thresholds_from({"invoice-exceeds-deal": {"deal_horizon_days": 365}})["invoice-exceeds-deal"].deal_horizon_days == 365


def test_the_defaults_docs_rules_md_prints_are_the_defaults() -> None:
    """docs/rules.md shows what `cx360 rules` prints with no file: a threshold added or changed must show there."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    block = text.split("## Thresholds", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    rules_only = {rule_id: table for rule_id, table in thresholds_table(DEFAULT_THRESHOLDS).items() if rule_id in RULES}
    assert tomllib.loads(block) == rules_only
