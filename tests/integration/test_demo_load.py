"""`cx360 serve --demo`: the demo loads into the store, and loading it again stores nothing."""

from __future__ import annotations

from service.bootstrap import load_demo, open_context
from service.settings import Settings


async def test_loading_the_demo_twice_stores_nothing_new(settings: Settings) -> None:
    async with open_context(settings) as context:
        accepted, duplicates = await load_demo(context.ingest)
        again = await load_demo(context.ingest)
    assert accepted > 3000 and duplicates == 0
    assert again == (0, accepted)
