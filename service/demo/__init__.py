"""Demo data: a year of plausible, partly contradictory history for about fifty accounts.

`generate_demo_events` returns events in the GraphQL `EventInput` shape from all five
departments: campaigns and surveys, deals and outreach, usage and incidents, tickets,
subscriptions, invoices and collections. Some accounts are prospects only, some become
customers during the year, some churn. The accounts in `PLANTS` also carry deliberate
contradictions, at least two accounts for each rule of `rules.md`, and the ordinary
history keeps clear of them (`Story.free`, and checks before risky ordinary events).

Each account's story is told in days after an anchor, day 0 being `end` - 365 days at
00:00 UTC, by a `random.Random` seeded with the seed and the account's index; only then
is it placed on the calendar. Ids (`demo-007-0042`) number the events of one story in
the order they were told, never from dates, so a load on another day finds every
(source, id) already stored and stores nothing new.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from service.demo.history import tell
from service.demo.story import SOURCES, At, Draft, Story


def generate_demo_events(*, end: date, seed: int = 360, accounts: int = 50) -> list[dict[str, Any]]:
    """The accounts' year ending on `end` (from `end` - 365 days), as `EventInput` dicts in `occurredAt` order."""
    anchor = datetime.combine(end - timedelta(days=365), time(), timezone.utc)
    events = [placed(story, draft, anchor) for index in range(accounts) for story in [tell(index, seed)]
              for draft in story.drafts]
    return sorted(events, key=lambda event: (event["occurredAt"], event["id"]))


def placed(s: Story, draft: Draft, anchor: datetime) -> dict[str, Any]:
    """A draft on the calendar, in the shape of `EventInput`."""
    def stamp(t: float) -> str:
        return (anchor + timedelta(minutes=round(t * 1440))).strftime("%Y-%m-%dT%H:%M:%SZ")

    department = draft.type.split(".")[0]
    status = draft.type.startswith(("product.incident", "product.status"))
    source = {"marketing": ("hubspot", "marketo")[s.index % 2], "product": "statuspage" if status else "segment"}
    event = {"id": f"demo-{s.index:03d}-{draft.n:04d}", "source": source.get(department) or SOURCES[department],
             "type": draft.type, "accountId": s.slug, "occurredAt": stamp(draft.t),
             "data": {key: stamp(value.t) if isinstance(value, At) else value for key, value in draft.data.items()}}
    if draft.contact:
        event["contactId"] = draft.contact
    if draft.actor:
        event["actor"] = draft.actor
    return event
