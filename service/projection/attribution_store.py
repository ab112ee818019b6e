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

`_attribution_daily` sums the credit rows per UTC day, currency and group of each
grouping (department, channel, campaign, actor), with the conversions and touches they
are made of, so a total over a long range reads a few rows per day instead of every
credit row. Triggers on the credit table keep it: every statement that adds or removes
credit rows adds or subtracts its rows' sums, in the same transaction. A conversion's
rows are always added by one statement and removed by one (the live rows of an account
go together, settled ones by their conversion's `settled_at`), so counting a statement's
distinct conversions per day and group adds up across statements. A database whose
credit rows predate the table gets it filled from them when the table is created.

Every write happens in the projector's transaction, with its checkpoints and tracking
position, so a crash neither loses nor doubles a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from itertools import groupby
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from projections.account_state import Credited
from projections.attribution.fold import Converted
from projections.attribution.journeys import Touch, touch_of
from projections.attribution.rows import STORED_MODELS, CreditRow, credit_rows
from projections.attribution.settings import DEFAULT_ATTRIBUTION, AttributionSettings
from projections.facts import Fact
from service.projection.learning import MARKS, Learning, credits_of, month_of, months_changed
from service.store.ddl import columns_if_missing, index_on, trigger_if_missing

EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
CREDITS, TOUCHES, DAILY = "_attribution_credits", "_attribution_touches", "_attribution_daily"
EFFECTS, STALE = "_attribution_effects", "_attribution_stale"  # the data-driven model's months (`learning`)
GROUPINGS = ("department", "channel", "campaign", "actor")
MODEL_COLUMNS = (*STORED_MODELS, "data_driven")
CREDIT_COLUMNS = ("account_id", "conversion_position", "conversion_event_id", "conversion_kind", "occurred_at",
                  "currency", "amount", "touch_position", "touch_event_id", "touch_source", "touch_at", "department",
                  "channel", "campaign", "actor", *MODEL_COLUMNS, "settled_at")
CREDIT_TYPES = ["text", "int8", "text", "text", "timestamptz", "text", "numeric", "int8", "text", "text", "timestamptz",
                "text", "text", "text", "text", *["numeric"] * len(MODEL_COLUMNS), "timestamptz"]


@dataclass
class AttributionWrites:
    """An account's attribution rows of one step: settled conversions (once), and the live rows and journey."""

    settled: list[tuple[datetime, CreditRow]] = field(default_factory=list)
    live: list[CreditRow] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)  # folded in this step
    live_before: bool = True  # whether the account may have live rows written before (False: known to have none)
    lookback_days: int = DEFAULT_ATTRIBUTION.lookback_days  # the settings' window: how far a touch or conversion changes later months' journeys


def attribution_writes(credited: Sequence[Credited], live: Sequence[Converted], facts: Iterable[Fact],
                       settings: AttributionSettings) -> AttributionWrites:
    """The rows of an account's settled conversions, its conversions not settled, and the touches among `facts`."""
    return AttributionWrites([(settled_at, row) for settled_at, converted in credited
                              for row in credit_rows(converted, settings)],
                             [row for converted in live for row in credit_rows(converted, settings)],
                             [touch for fact in facts if (touch := touch_of(fact)) is not None],
                             lookback_days=settings.lookback_days)


def daily_sums(source: str) -> str:
    """The rows of `source` (credit rows) summed per day, currency, grouping, group and unattributed."""
    models = ", ".join(f"sum({column}) AS {column}" for column in MODEL_COLUMNS)
    groups = ", ".join(f"('{grouping}', c.{grouping})" for grouping in GROUPINGS)
    return (f"SELECT (c.occurred_at AT TIME ZONE 'UTC')::date AS day, c.currency, g.grouping, g.grp,"
            f" c.touch_position IS NULL AS unattributed, {models},"
            f" count(DISTINCT c.conversion_position) AS conversions, count(c.touch_position) AS touches"
            f" FROM {source} c CROSS JOIN LATERAL (VALUES {groups}) AS g (grouping, grp) GROUP BY 1, 2, 3, 4, 5")


DAILY_COLUMNS = f"day, currency, grouping, grp, unattributed, {', '.join(MODEL_COLUMNS)}, conversions, touches"
ADD_SIGNED = ", ".join(f"{column} = d.{column} + excluded.{column}" for column in (*MODEL_COLUMNS, "conversions",
                                                                                    "touches"))
# One function for every view's credit table: the daily table is named after the table that fired, so a
# rebuild's shadow, renamed live at the swap, keeps writing its own.
ROLLUP_FUNCTION = f"""CREATE OR REPLACE FUNCTION cx360_attribution_daily_rollup() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  daily text := left(TG_TABLE_NAME, length(TG_TABLE_NAME) - length('{CREDITS}')) || '{DAILY}';
  changed text := CASE TG_OP WHEN 'INSERT' THEN 'added_rows' ELSE 'removed_rows' END;
  sign text := CASE TG_OP WHEN 'INSERT' THEN '' ELSE '-' END;
BEGIN
  EXECUTE format('INSERT INTO %I AS d ({DAILY_COLUMNS}) SELECT day, currency, grouping, grp, unattributed, '
                 || '{", ".join(f"%2$s{column}" for column in (*MODEL_COLUMNS, "conversions", "touches"))} FROM ('
                 || '{daily_sums("%3$I").replace("'", "''")}'
                 || ') AS s (day, currency, grouping, grp, unattributed, {", ".join(MODEL_COLUMNS)}, conversions, touches)'
                 || ' ON CONFLICT (day, currency, grouping, grp, unattributed) DO UPDATE SET {ADD_SIGNED}',
                 daily, sign, changed);
  RETURN NULL;
END $fn$"""


# The least common multiple of whole numbers (PostgreSQL has `lcm` of two): the data-driven credits' weights
# (`service.projection.learning`).
LCM_AGGREGATE = "CREATE OR REPLACE AGGREGATE cx360_lcm (int8) (SFUNC = lcm, STYPE = int8, INITCOND = '1')"


def create_statements(name: str) -> list[Composed]:
    credits, touches = Identifier(f"{name}{CREDITS}"), Identifier(f"{name}{TOUCHES}")
    daily, effects, stale = (Identifier(f"{name}{suffix}") for suffix in (DAILY, EFFECTS, STALE))
    models = ", ".join(f"{column} numeric NOT NULL" for column in MODEL_COLUMNS)
    return [
        SQL("CREATE SEQUENCE IF NOT EXISTS {0}").format(Identifier(MARKS)),
        SQL("CREATE TABLE IF NOT EXISTS {0} (month date PRIMARY KEY, learnt_at timestamptz NOT NULL,"
            " effects jsonb NOT NULL, version int8 NOT NULL)").format(effects),
        SQL("CREATE TABLE IF NOT EXISTS {0} (month date PRIMARY KEY, version int8 NOT NULL)").format(stale),
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text NOT NULL, conversion_position bigint NOT NULL,"
            " conversion_event_id text NOT NULL, conversion_kind text NOT NULL, occurred_at timestamptz NOT NULL,"
            " currency text NOT NULL, amount numeric NOT NULL, touch_position bigint, touch_event_id text,"
            " touch_source text, touch_at timestamptz, department text, channel text, campaign text, actor text,"
            " first_touch numeric NOT NULL, last_touch numeric NOT NULL, linear numeric NOT NULL,"
            " time_decay numeric NOT NULL, position_based numeric NOT NULL, data_driven numeric NOT NULL,"
            " settled_at timestamptz)").format(credits),
        # Credit rows of a release before data-driven credits were kept: 0 until their months are learnt (all stale).
        columns_if_missing(f"{name}{CREDITS}", ["data_driven"], SQL(
            "ALTER TABLE {0} ADD COLUMN data_driven numeric NOT NULL DEFAULT 0; INSERT INTO {1} (month, version)"
            " SELECT month, nextval({2}) FROM (SELECT DISTINCT " + MONTH_OF_CONVERSION + " AS month FROM {0}) AS m"
            " ON CONFLICT DO NOTHING").format(credits, stale, Literal(MARKS))),
        index_on(f"{name}{CREDITS}_at", credits, "occurred_at"),
        index_on(f"{name}{CREDITS}_account", credits, "account_id, occurred_at"),
        SQL("CREATE TABLE IF NOT EXISTS {0} (account_id text NOT NULL, position bigint NOT NULL,"
            " occurred_at timestamptz NOT NULL, source text NOT NULL, event_id text NOT NULL, department text NOT NULL,"
            " channel text NOT NULL)").format(touches),
        index_on(f"{name}{TOUCHES}_at", touches, "occurred_at"),
        index_on(f"{name}{TOUCHES}_account", touches, "account_id, occurred_at"),
        SQL("CREATE TABLE IF NOT EXISTS {0} (day date NOT NULL, currency text NOT NULL, grouping text NOT NULL,"
            " grp text, unattributed boolean NOT NULL, " + models + ", conversions int8 NOT NULL,"
            " touches int8 NOT NULL)").format(daily),
        columns_if_missing(f"{name}{DAILY}", ["data_driven"], SQL(
            "ALTER TABLE {0} ADD COLUMN data_driven numeric NOT NULL DEFAULT 0").format(daily)),
        index_on(f"{name}{DAILY}_key", daily, "day, currency, grouping, grp, unattributed", unique=True,
                 options=" NULLS NOT DISTINCT"),
        SQL("{0}").format(SQL(LCM_AGGREGATE)),
        *rollup_statements(name),
    ]


MONTH_OF_CONVERSION = "date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date"
SPANS = f"SELECT min(occurred_at) AS first, max(occurred_at) AS last FROM gone GROUP BY {MONTH_OF_CONVERSION}"


def rollup_statements(name: str) -> list[Composed]:
    """Fill the daily table from the credit rows if it is empty, and keep it from then on (the triggers)."""
    credits, daily = Identifier(f"{name}{CREDITS}"), Identifier(f"{name}{DAILY}")
    return [
        SQL("INSERT INTO {0} (" + DAILY_COLUMNS + ") " + daily_sums("{1}").replace(
            " GROUP BY", " WHERE NOT EXISTS (SELECT FROM {0}) GROUP BY")).format(daily, credits),
        SQL("{0}").format(SQL(ROLLUP_FUNCTION)),
        *(trigger_if_missing(trigger, f"{name}{CREDITS}", SQL(
            "CREATE TRIGGER {0} AFTER " + operation + " ON {1} REFERENCING " + rows + " TABLE AS " + changed +
            " FOR EACH STATEMENT EXECUTE FUNCTION cx360_attribution_daily_rollup()").format(Identifier(trigger), credits))
          for trigger, operation, rows, changed in (("credits_added", "INSERT", "NEW", "added_rows"),
                                                    ("credits_removed", "DELETE", "OLD", "removed_rows"))),
    ]


def drop_rollup_statements(name: str) -> list[Composed]:
    """The triggers off, and the daily table emptied: a rebuild's bulk load sums the credit rows once, at its end
    (`rollup_statements`), instead of a statement at a time (a third of its time at 200,000 events)."""
    credits, daily = Identifier(f"{name}{CREDITS}"), Identifier(f"{name}{DAILY}")
    return [SQL("DROP TRIGGER IF EXISTS credits_added ON {0}").format(credits),
            SQL("DROP TRIGGER IF EXISTS credits_removed ON {0}").format(credits),
            SQL("TRUNCATE {0}").format(daily)]


class AttributionTables:
    """The statements of one view's attribution tables (`cx360_view` live, a rebuild's shadow beside it)."""

    def __init__(self, name: str) -> None:
        credits, touches = Identifier(f"{name}{CREDITS}"), Identifier(f"{name}{TOUCHES}")
        # Each gives back the span of the conversions it removed, month by month: a conversion a refold does not
        # write again (an upgrade that no longer adds MRR) changes its months' journeys too.
        self.delete_settled_after = SQL(
            "WITH gone AS (DELETE FROM {0} c USING unnest(%b::text[], %b::timestamptz[]) AS d (account_id, after)"
            " WHERE c.account_id = d.account_id AND c.settled_at > d.after RETURNING c.occurred_at) " + SPANS
        ).format(credits)
        self.delete_live = SQL("WITH gone AS (DELETE FROM {0} WHERE account_id = ANY(%b::text[]) AND settled_at IS NULL"
                               " RETURNING occurred_at) " + SPANS).format(credits)
        self.copy_credits = SQL("COPY {0} ({1}) FROM STDIN (FORMAT BINARY)").format(
            credits, SQL(", ").join(Identifier(column) for column in CREDIT_COLUMNS))
        self.delete_touches_after = SQL(
            "DELETE FROM {0} t USING unnest(%b::text[], %b::timestamptz[]) AS d (account_id, after)"
            " WHERE t.account_id = d.account_id AND t.occurred_at > d.after").format(touches)
        self.learning = Learning(name, {"credits": CREDITS, "touches": TOUCHES, "effects": EFFECTS, "stale": STALE,
                                        "settings": "_settings"},
                                 [column for column in CREDIT_COLUMNS if column not in ("data_driven", "settled_at")])
        self.lookback_days = DEFAULT_ATTRIBUTION.lookback_days  # the settings' window, as the last writes told it
        self.copy_touches = SQL("COPY {0} (account_id, position, occurred_at, source, event_id, department, channel)"
                                " FROM STDIN (FORMAT BINARY)").format(touches)

    def write(self, curs: Cursor[DictRow], writes: Mapping[str, AttributionWrites],
              reopened: Mapping[str, datetime | None]) -> None:
        """Drop the rows the refolded accounts write again; write the accounts' settled rows, live rows, touches."""
        self.lookback_days = max((each.lookback_days for each in writes.values()), default=self.lookback_days)
        removed: list[datetime] = []  # the first and last conversion removed, of each month
        if reopened:
            afters = (list(reopened), [EARLIEST if after is None else after for after in reopened.values()])
            curs.execute(self.delete_settled_after, afters)
            removed += (moment for row in curs.fetchall() for moment in (row["first"], row["last"]))
            curs.execute(self.delete_touches_after, afters)  # facts: a refold writes every one of them again
        replaced = [account_id for account_id, each in writes.items() if each.live_before]
        if replaced:  # most accounts have no conversion waiting: no live rows to replace (and no trigger to run)
            curs.execute(self.delete_live, (replaced,))
            removed += (moment for row in curs.fetchall() for moment in (row["first"], row["last"]))
        self.learning.mark(curs, (month for moment in removed for month in months_changed(moment, self.lookback_days)))
        if not writes:
            return
        # A statement with no rows is skipped: the credit table's triggers would still run for it.
        rows = [(account_id, settled_at, row) for account_id, each in writes.items()
                for settled_at, row in (*each.settled, *((None, row) for row in each.live))]
        if rows:
            credits = self.data_driven(curs, [row for _, _, row in rows])
            with curs.copy(self.copy_credits) as copy:
                copy.set_types(CREDIT_TYPES)
                for (account_id, settled_at, row), credit in zip(rows, credits, strict=True):
                    copy.write_row(credit_row(account_id, row, credit, settled_at))
        if any(each.touches for each in writes.values()):
            with curs.copy(self.copy_touches) as copy:
                copy.set_types(["text", "int8", "timestamptz", "text", "text", "text", "text"])
                for account_id, each in writes.items():
                    for touch in each.touches:
                        copy.write_row((account_id, touch.fact.position, touch.at, touch.fact.source,
                                        touch.fact.event_id, touch.department, touch.channel))
        self.learning.mark(curs, (month for each in writes.values() for moment in changed_at(each)
                                  for month in months_changed(moment, each.lookback_days)))

    def data_driven(self, curs: Cursor[DictRow], rows: Sequence[CreditRow]) -> list[Decimal]:
        """The rows' data-driven credits (rows of one conversion together, in touch order), by the effects stored
        for each conversion's month (`service.projection.learning`)."""
        units = self.learning.units(curs, (month_of(row.conversion.at) for row in rows))
        credits: list[Decimal] = []
        for _, group in groupby(rows, key=lambda row: row.conversion.fact.position):
            conversion_rows = list(group)
            conversion = conversion_rows[0].conversion
            credits += credits_of(conversion.amount, conversion.currency,
                                  [None if row.touch is None else row.touch.key for row in conversion_rows],
                                  units.get(month_of(conversion.at), {}))
        return credits


def changed_at(writes: AttributionWrites) -> Iterator[datetime]:
    """The instants of the conversions and touches written: the journeys of their months change."""
    yield from (row.conversion.at for _, row in writes.settled)
    yield from (row.conversion.at for row in writes.live)
    yield from (touch.at for touch in writes.touches)


def credit_row(account_id: str, row: CreditRow, data_driven: Decimal, settled_at: datetime | None) -> tuple[Any, ...]:
    conversion, touch = row.conversion, row.touch
    touched = (None,) * 8 if touch is None else (
        touch.fact.position, touch.fact.event_id, touch.fact.source, touch.at, touch.department, touch.channel,
        touch.campaign, touch.actor)
    return (account_id, conversion.fact.position, conversion.fact.event_id, conversion.kind, conversion.at,
            conversion.currency, conversion.amount, *touched, *row.credits, data_driven, settled_at)
