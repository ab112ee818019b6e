"""Fixtures of the integration tests of findings' handling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from domain.handling_policy import policy_from
from service.settings import Settings
from tests.conftest import RunningServer
from tests.support import unique

OWNERS = {"sales": unique("sales-lead"), "billing": "billing-lead", "support": "support-lead"}  # a unique owner per run


@pytest.fixture(scope="module")
def handled(settings: Settings, base_url: str) -> Iterator[httpx.Client]:
    """A server with department owners; the session's server (`base_url`) keeps the findings."""
    chosen = replace(settings, projector="off", handling=policy_from({"owners": OWNERS}))
    with RunningServer(chosen) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client
