"""Attribution's tables beside the projected views: credit rows and the journeys not converted yet.

`_attribution_credits` holds a row per touch of each conversion (`projections.attribution.rows`),
with every stored model's credit in a column of its own. A conversion settled by a later
fact is written once, with `settled_at` (the instant of that fact), as final findings
are; the account's conversions not settled yet are live rows (`settled_at` null),
replaced whole each time the account is written. An account folded again from a
checkpoint at boundary B first loses its rows settled after B: the refold settles them
again. `_attribution_touches` holds every touch folded, each written once (and, in a
refold, those after B again): the journeys not converted as of any instant, which the
data-driven model learns from beside the converted ones, are read from it.

Every write happens in the projector's transaction, with its checkpoints and tracking
position, so a crash neither loses nor doubles a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from projections.account_state import Credited
from projections.attribution.fold import Converted
from projections.attribution.journeys import Touch, touch_of
from projections.attribution.rows import CreditRow, credit_rows
from projections.attribution.settings import AttributionSettings
from projections.facts import Fact

EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
CREDITS, TOUCHES = "_attribution_credits", "_attribution_touches"
CREDIT_COLUMNS = ("account_id", "conversion_position", "conversion_event_id", "conversion_kind", "occurred_at",
                  "currency", "amount", "touch_position", "touch_event_id", "touch_source", "touch_at", "department",
                  "channel", "campaign", "actor", "first_touch", "last_touch", "linear", "time_decay",
                  "position_based", "settled_at")
CREDIT_TYPES = ["text", "int8", "text", "text", "timestamptz", "text", "numeric", "int8", "text", "text", "timestamptz",
                "text", "text", "text", "text", "numeric", "numeric", "numeric", "numeric", "numeric", "timestamptz"]


@dataclass
class AttributionWrites:
    """An account's attribution rows of one step: settled conversions (once), and the live rows and journey."""

    settled: list[tuple[datetime, CreditRow]] = field(default_factory=list)
    live: list[CreditRow] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)  # folded in this step


def attribution_writes(credited: Sequence[Credited], live: Sequence[Converted], facts: Iterable[Fact],
                       settings: AttributionSettings) -> AttributionWrites:
    """The rows of an account's settled conversions, its conversions not settled, and the touches among `facts`."""
    return AttributionWrites([(settled_at, row) for settled_at, converted in credited
                              for row in credit_rows(converted, settings)],
                             [row for converted in live for row in credit_rows(converted, settings)],
                             [touch for fact in facts if (touch := touch_of(fact)) is not None])


def create_statements(name: str) -> list[Composed]:
    credits, touches = Identifier(f"{name}{CREDITS}"), Identifier(f"{name}{TOUCHES}")
    return [
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text NOT NULL, conversion_position bigint NOT NULL,"
            " conversion_event_id text NOT NULL, conversion_kind text NOT NULL, occurred_at timestamptz NOT NULL,"
            " currency text NOT NULL, amount numeric NOT NULL, touch_position bigint, touch_event_id text,"
            " touch_source text, touch_at timestamptz, department text, channel text, campaign text, actor text,"
            " first_touch numeric NOT NULL, last_touch numeric NOT NULL, linear numeric NOT NULL,"
            " time_decay numeric NOT NULL, position_based numeric NOT NULL, settled_at timestamptz)").format(credits),
        SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (occurred_at)").format(Identifier(f"{name}{CREDITS}_at"), credits),
        SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (account_id, occurred_at)").format(
            Identifier(f"{name}{CREDITS}_account"), credits),
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text NOT NULL, position bigint NOT NULL,"
            " occurred_at timestamptz NOT NULL, source text NOT NULL, event_id text NOT NULL, department text NOT NULL,"
            " channel text NOT NULL)").format(touches),
        SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (occurred_at)").format(Identifier(f"{name}{TOUCHES}_at"), touches),
        SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (account_id, occurred_at)").format(
            Identifier(f"{name}{TOUCHES}_account"), touches),
    ]


class AttributionTables:
    """The statements of one view's attribution tables (`cx360_view` live, a rebuild's shadow beside it)."""

    def __init__(self, name: str) -> None:
        credits, touches = Identifier(f"{name}{CREDITS}"), Identifier(f"{name}{TOUCHES}")
        self.delete_settled_after = SQL(
            "DELETE FROM {0} c USING unnest(%b::text[], %b::timestamptz[]) AS d (account_id, after)"
            " WHERE c.account_id = d.account_id AND c.settled_at > d.after").format(credits)
        self.delete_live = SQL("DELETE FROM {0} WHERE account_id = ANY(%b::text[]) AND settled_at IS NULL").format(credits)
        self.copy_credits = SQL("COPY {0} ({1}) FROM STDIN (FORMAT BINARY)").format(
            credits, SQL(", ").join(Identifier(column) for column in CREDIT_COLUMNS))
        self.delete_touches_after = SQL(
            "DELETE FROM {0} t USING unnest(%b::text[], %b::timestamptz[]) AS d (account_id, after)"
            " WHERE t.account_id = d.account_id AND t.occurred_at > d.after").format(touches)
        self.copy_touches = SQL("COPY {0} (account_id, position, occurred_at, source, event_id, department, channel)"
                                " FROM STDIN (FORMAT BINARY)").format(touches)

    def write(self, curs: Cursor[DictRow], writes: Mapping[str, AttributionWrites],
              reopened: Mapping[str, datetime | None]) -> None:
        """Drop the rows the refolded accounts write again; write the accounts' settled rows, live rows, touches."""
        if reopened:
            afters = (list(reopened), [EARLIEST if after is None else after for after in reopened.values()])
            curs.execute(self.delete_settled_after, afters)
            curs.execute(self.delete_touches_after, afters)
        if not writes:
            return
        accounts = list(writes)
        curs.execute(self.delete_live, (accounts,))
        with curs.copy(self.copy_credits) as copy:
            copy.set_types(CREDIT_TYPES)
            for account_id, each in writes.items():
                for settled_at, row in each.settled:
                    copy.write_row(credit_row(account_id, row, settled_at))
                for row in each.live:
                    copy.write_row(credit_row(account_id, row, None))
        with curs.copy(self.copy_touches) as copy:
            copy.set_types(["text", "int8", "timestamptz", "text", "text", "text", "text"])
            for account_id, each in writes.items():
                for touch in each.touches:
                    copy.write_row((account_id, touch.fact.position, touch.at, touch.fact.source, touch.fact.event_id,
                                    touch.department, touch.channel))


def credit_row(account_id: str, row: CreditRow, settled_at: datetime | None) -> tuple[Any, ...]:
    conversion, touch = row.conversion, row.touch
    touched = (None,) * 8 if touch is None else (
        touch.fact.position, touch.fact.event_id, touch.fact.source, touch.at, touch.department, touch.channel,
        touch.campaign, touch.actor)
    return (account_id, conversion.fact.position, conversion.fact.event_id, conversion.kind, conversion.at,
            conversion.currency, conversion.amount, *touched, *row.credits, settled_at)
