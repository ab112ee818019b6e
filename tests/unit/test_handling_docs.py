"""docs/handling.md's examples agree with the owners file it shows (no database)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from domain.handling_policy import policy_from

DOC = (Path(__file__).resolve().parents[2] / "docs" / "handling.md").read_text()
KEYS = ("billing-lead", "rep-114", "cx-dashboard")  # the keys the examples were run with (the doc's first lines)


def test_every_assignee_in_the_examples_is_an_owner_of_the_file_shown_or_a_key_holder() -> None:
    [toml] = re.findall(r"```toml\n(.*?)```", DOC, re.DOTALL)
    owners = set(policy_from(tomllib.loads(toml)).owners.values())
    assert all(f"`{key}`" in DOC.split("## States")[0] for key in KEYS)
    shown = set(re.findall(r'"assignee": "([^"]+)"', DOC))
    assert shown and shown <= owners | set(KEYS), shown - owners - set(KEYS)
