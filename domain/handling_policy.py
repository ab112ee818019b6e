"""Who owns each department's findings and how soon a finding must be acknowledged: the operator's TOML.

    [owners]
    billing = "billing-lead"
    support = "support-lead"

    [acknowledge_within_days]
    HIGH = 1
    MEDIUM = 3
    LOW = 7

Both tables are optional; an unknown department, severity or key, or a value of the wrong
type, is refused with a message naming it. Read at start, applied at read time: nothing
about ownership or deadlines is stored, so a changed file applies at once, to every finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from domain.catalogue import DEPARTMENTS

SEVERITIES = ("HIGH", "MEDIUM", "LOW")
DEFAULT_DAYS: Mapping[str, float] = MappingProxyType({"HIGH": 1, "MEDIUM": 3, "LOW": 7})
MAX_DAYS = 365
MAX_OWNER = 100


class HandlingPolicyError(ValueError):
    """A handling setting that cannot be used; the message names the key."""


@dataclass(frozen=True)
class HandlingPolicy:
    owners: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # department -> holder
    acknowledge_within: Mapping[str, timedelta] = field(
        default_factory=lambda: MappingProxyType({key: timedelta(days=days) for key, days in DEFAULT_DAYS.items()}))

    def owner_of(self, departments: Sequence[str]) -> str | None:
        """The owner of the first department a finding names (None if that department has none)."""
        return self.owners.get(departments[0]) if departments else None

    def acknowledge_by(self, severity: str, detected_at: datetime) -> datetime:
        return detected_at + self.acknowledge_within[severity]


DEFAULT_POLICY = HandlingPolicy()


def policy_from(table: Mapping[str, Any]) -> HandlingPolicy:
    """The policy of an operator's TOML tables, over the defaults."""
    unknown = sorted(set(table) - {"owners", "acknowledge_within_days"})
    if unknown:
        raise HandlingPolicyError(f"[{unknown[0]}]: unknown table; the tables are [owners] and [acknowledge_within_days]")
    return HandlingPolicy(owners_from(table.get("owners", {})), deadlines_from(table.get("acknowledge_within_days", {})))


def owners_from(owners: Any) -> Mapping[str, str]:
    if not isinstance(owners, Mapping):
        raise HandlingPolicyError("owners: must be a table of department = \"owner\"")
    for department, owner in owners.items():
        if department not in DEPARTMENTS:
            raise HandlingPolicyError(f"owners.{department}: unknown department; the departments are {', '.join(DEPARTMENTS)}")
        if not isinstance(owner, str) or not owner.strip() or len(owner) > MAX_OWNER or not owner.isprintable():
            raise HandlingPolicyError(f"owners.{department}: must be a name of 1 to {MAX_OWNER} printable characters")
    return MappingProxyType({department: owner.strip() for department, owner in owners.items()})


def deadlines_from(days: Any) -> Mapping[str, timedelta]:
    if not isinstance(days, Mapping):
        raise HandlingPolicyError("acknowledge_within_days: must be a table of SEVERITY = days")
    chosen = dict(DEFAULT_DAYS)
    for severity, value in days.items():
        where = f"acknowledge_within_days.{severity}"
        if severity not in SEVERITIES:
            raise HandlingPolicyError(f"{where}: unknown severity; the severities are {', '.join(SEVERITIES)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_DAYS:
            raise HandlingPolicyError(f"{where}: must be a number of days above 0 and at most {MAX_DAYS} (got {value!r})")
        chosen[severity] = value
    return MappingProxyType({severity: timedelta(days=value) for severity, value in chosen.items()})
