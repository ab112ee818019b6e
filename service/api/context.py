"""The typed context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.types import Info as StrawberryInfo

from service.ingest import Ingest
from service.reads import Reads
from service.settings import Settings


@dataclass
class Context:
    settings: Settings
    reads: Reads
    ingest: Ingest


Info = StrawberryInfo[Context, None]
