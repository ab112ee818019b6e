"""The data-driven model's credits, kept as the other models' are: learnt per calendar month, written with the rows.

A conversion is credited by the removal effects (`projections.attribution.markov`) learnt
from the journeys of its own UTC calendar month: the conversions of the month (their
touches in the window, from the credit rows) and every account's touches since its last
conversion within the lookback window before the month's end (its journey not converted
as of then, from the touches table), as `projections.attribution.journeys` defines them.
So a conversion's credit does not depend on the range a reader asks for: months tile, a
quarter is the sum of its months, and a range's total is read from the daily sums like
every other model's.

- The projector credits a conversion as it writes its rows, by its month's effects as
  last learnt (none learnt yet: its touches share equally, as when no touch has an
  effect), and marks **stale** every month whose journeys its rows change: a touch or a
  conversion at D changes the journeys of the months from D's through the one holding
  D + lookback (the journeys not converted as of those months' ends); a conversion a
  refold removes, too.
- A thread of the projector (`Follower.learn`, `Projector.relearn`) learns each stale
  month again: `Learning.learn` reads its journeys with no lock while the projector keeps
  writing; `Learning.store`, under the view's write lock, stores the effects and, where
  they changed, credits the month's conversions anew: their rows deleted and inserted
  again with the new credits by one statement, so the daily sums' triggers keep them. A
  month over is learnt within a second or so; the month still running at most every
  `CX360_ATTRIBUTION_RELEARN_SECONDS`, as its journeys grow with each event.

A stale mark carries a version, a new one from one sequence (`MARKS`) at every write that
marks the month: `store` unmarks only the version it learnt, so rows written while a month
was read are learnt from next time, and meanwhile credited, with the rest, by the effects
stored; and it stores nothing over effects learnt at a version as high, nor into a view
other than the one it read (a rebuild's swap), so several projectors' learnings never put
older effects over newer ones. A month's rows are always credited by the effects stored
for it.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier, Literal

from domain.currencies import DEFAULT_MINOR_UNIT, MINOR_UNITS, NO_MINOR_UNIT
from projections.account_state import attribution_settings
from projections.attribution.allocation import split
from projections.attribution.journeys import Key
from projections.attribution.markov import CONVERSION, NULL, START, State, removal_effects_of
from projections.attribution.models import effect_units, weights_of_units
from projections.attribution.settings import DEFAULT_ATTRIBUTION
from projections.thresholds import thresholds_from

MARKS = "cx360_attribution_marks"  # the sequence of stale marks' versions, one for every view
Units = dict[Key, int]  # a month's removal effects in trillionths (`models.effect_units`)
JUST_BEFORE = timedelta(microseconds=1)

# $1, $2: the month's first and last instants; $3: the lookback window in days.
STEPS = """WITH converted AS (
  SELECT department, channel, touch_position, row_number() OVER walk AS place,
         lead(department) OVER walk AS next_department, lead(channel) OVER walk AS next_channel
  FROM {credits} WHERE occurred_at >= $1 AND occurred_at <= $2
  WINDOW walk AS (PARTITION BY conversion_position
                  ORDER BY touch_at, touch_source COLLATE "C", touch_event_id COLLATE "C")),
recent AS (
  SELECT account_id, occurred_at, source, event_id, department, channel FROM {touches}
  WHERE occurred_at > $2::timestamptz - $3::int * interval '24 hours' AND occurred_at <= $2),
last_conversion AS MATERIALIZED (
  SELECT a.account_id, (SELECT max(c.occurred_at) FROM {credits} c
                        WHERE c.account_id = a.account_id AND c.occurred_at <= $2) AS at
  FROM (SELECT DISTINCT account_id FROM recent) AS a),
open AS (
  SELECT r.department, r.channel, row_number() OVER walk AS place,
         lead(r.department) OVER walk AS next_department, lead(r.channel) OVER walk AS next_channel
  FROM recent r JOIN last_conversion l USING (account_id) WHERE l.at IS NULL OR r.occurred_at > l.at
  WINDOW walk AS (PARTITION BY r.account_id COLLATE "C"
                  ORDER BY r.occurred_at, r.source COLLATE "C", r.event_id COLLATE "C"))
SELECT converted, from_department, from_channel, to_department, to_channel, count(*) AS steps FROM (
  SELECT true AS converted, NULL AS from_department, NULL AS from_channel, department AS to_department,
         channel AS to_channel FROM converted WHERE place = 1
  UNION ALL SELECT true, department, channel, next_department, next_channel FROM converted
            WHERE touch_position IS NOT NULL
  UNION ALL SELECT false, NULL, NULL, department, channel FROM open WHERE place = 1
  UNION ALL SELECT false, department, channel, next_department, next_channel FROM open) AS walked
GROUP BY 1, 2, 3, 4, 5"""

# The month's credit rows deleted and inserted again with their data-driven credits, exactly as `split` shares with
# `weights_of_units`: in the currency's minor unit (or the amount's own, where finer), each touch's exact share
# rounded down, the units left over one each to the touches that lost most in rounding, the earliest first among
# equals. A touch's weight is its key's effect times the least common multiple of the conversion's per-key touch
# counts, over its key's count; all weights zero: equal. One statement, so the daily sums' triggers see the rows
# removed and added. $1, $2: the month [first, end); $3-$5: the effects (department, channel, trillionths);
# $6, $7: the currencies whose minor unit is not the default, and their decimals; $8: the default's decimals.
RECREDIT = """WITH effect (department, channel, numerator) AS (SELECT * FROM unnest($3::text[], $4::text[], $5::int8[])),
minor (currency, digits) AS (SELECT * FROM unnest($6::text[], $7::int[])),
old AS (DELETE FROM {credits} WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *),
touched AS (
  SELECT o.*, greatest(coalesce(m.digits, $8::int), scale(o.amount)) AS digits,
         row_number() OVER (PARTITION BY o.conversion_position
                            ORDER BY o.touch_at, o.touch_source COLLATE "C", o.touch_event_id COLLATE "C") AS place,
         coalesce(e.numerator, 0)::numeric AS effect,
         count(*) OVER (PARTITION BY o.conversion_position, o.department, o.channel) AS same
  FROM old o
  LEFT JOIN minor m ON m.currency = upper(o.currency)
  LEFT JOIN effect e ON e.department = o.department AND e.channel = o.channel),
weighed AS (
  SELECT t.*, round(t.amount * power(10::numeric, t.digits)) AS units,
         CASE WHEN sum(t.effect) OVER conversion = 0 THEN 1
              ELSE t.effect * (cx360_lcm(t.same) OVER conversion / t.same) END AS weight
  FROM touched t WINDOW conversion AS (PARTITION BY t.conversion_position)),
shared AS (
  SELECT w.*, div(w.units * w.weight, sum(w.weight) OVER conversion) AS share,
         mod(w.units * w.weight, sum(w.weight) OVER conversion) AS lost
  FROM weighed w WINDOW conversion AS (PARTITION BY w.conversion_position)),
credited AS (
  SELECT s.*, s.share + CASE WHEN row_number() OVER (PARTITION BY s.conversion_position ORDER BY s.lost DESC, s.place)
                                  <= s.units - sum(s.share) OVER (PARTITION BY s.conversion_position)
                             THEN 1 ELSE 0 END AS credit_units
  FROM shared s)
INSERT INTO {credits} ({columns})
SELECT {kept}, CASE WHEN touch_position IS NULL THEN amount
                    ELSE round(credit_units / power(10::numeric, digits), digits) END, settled_at
FROM credited"""

OTHER_MINOR_UNITS = {**MINOR_UNITS, **dict.fromkeys(NO_MINOR_UNIT, 0)}  # no minor unit: the amount's own decimals
CURRENCIES = sorted(OTHER_MINOR_UNITS)


def month_of(moment: datetime) -> date:
    utc = moment.astimezone(timezone.utc)
    return date(utc.year, utc.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def first_instant(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=timezone.utc)


def months_changed(moment: datetime, lookback_days: int) -> list[date]:
    """The months whose journeys a touch or a conversion at `moment` changes: its own, and those whose end falls
    within the lookback window after it (its account's journey not converted as of their ends)."""
    months, last = [month_of(moment)], month_of(moment + timedelta(days=lookback_days))
    while months[-1] < last:
        months.append(next_month(months[-1]))
    return months


def units_of(stored: Any) -> Units:
    """A month's effects as `learnt_effects` stores them: [[department, channel, trillionths], ...]."""
    rows = orjson.loads(stored) if isinstance(stored, str | bytes) else stored
    return {(department, channel): int(units) for department, channel, units in rows}


def stored_units(units: Mapping[Key, int]) -> str:
    return orjson.dumps(sorted([department, channel, value] for (department, channel), value in units.items())).decode()


def credits_of(amount: Decimal, currency: str, keys: Sequence[Key | None], units: Mapping[Key, int]) -> list[Decimal]:
    """A conversion's data-driven credits, in touch order, from its touches' keys (None: unattributed, no touch)."""
    if keys == [None]:
        return [amount]
    return split(amount, currency, weights_of_units([key for key in keys if key is not None], units))


def steps_of_rows(rows: Iterable[Any]) -> dict[State, Counter[State]]:
    """The chain's step counts from `STEPS`' rows (a missing key is the start, or the journey's end)."""
    steps: dict[State, Counter[State]] = {}
    for row in rows:
        here = START if row["from_department"] is None else (row["from_department"], row["from_channel"])
        end = CONVERSION if row["converted"] else NULL
        there = end if row["to_department"] is None else (row["to_department"], row["to_channel"])
        steps.setdefault(here, Counter())[there] += row["steps"]
    return steps


class Learning:
    """One view's data-driven months: their effects as stored, learning the stale ones again."""

    def __init__(self, name: str, suffixes: Mapping[str, str], kept: Sequence[str]) -> None:
        """The view `name`'s tables by their suffixes (credits, touches, effects, stale, settings), and the credit
        rows' columns a re-crediting keeps as they are (all but `data_driven` and `settled_at`)."""
        # The view's tables are named by the service (`cx360_view`, a rebuild's `cx360_view_next`), never by a user.
        credits, touches = f"{name}{suffixes['credits']}", f"{name}{suffixes['touches']}"
        self.effects, self.stale, self.settings = (Identifier(f"{name}{suffixes[each]}")
                                                   for each in ("effects", "stale", "settings"))
        columns = ", ".join(kept)
        self.converted = SQL("SELECT 1 AS found FROM {0} WHERE occurred_at >= %s AND occurred_at < %s LIMIT 1").format(
            Identifier(credits))
        self.steps = psycopg_placeholders(STEPS.format(credits=credits, touches=touches))
        self.recredit = psycopg_placeholders(RECREDIT.format(credits=credits, kept=columns,
                                                             columns=f"{columns}, data_driven, settled_at"))
        self.learnt_at: dict[date, float] = {}  # when this process last learnt a month still running (monotonic)

    def units(self, curs: Cursor[DictRow], months: Iterable[date]) -> dict[date, Units]:
        """The stored effects of the months (a month never learnt is missing)."""
        wanted = sorted(set(months))
        if not wanted:
            return {}
        curs.execute(SQL("SELECT month, effects FROM {0} WHERE month = ANY(%s)").format(self.effects), (wanted,))
        return {row["month"]: units_of(row["effects"]) for row in curs.fetchall()}

    def mark(self, curs: Cursor[DictRow], months: Iterable[date]) -> None:
        """Mark months stale, each with a new version (`MARKS`, never reused, shared by every view): a learning
        begun before this write neither unmarks it nor outweighs one begun after (`store`)."""
        marked = sorted(set(months))
        if marked:
            curs.execute(SQL("INSERT INTO {0} (month, version) SELECT month, nextval({1}) FROM unnest(%s::date[])"
                             " AS m (month) ON CONFLICT (month) DO UPDATE SET version = excluded.version").format(
                self.stale, Literal(MARKS)), (marked,))

    def due(self, curs: Cursor[DictRow], now: datetime, every: timedelta) -> list[date]:
        """The stale months to learn now: those over, and the running ones not learnt for `every`."""
        curs.execute(SQL("SELECT month FROM {0} ORDER BY month").format(self.stale))
        running = month_of(now)
        wait = every.total_seconds()
        clock = time.monotonic()
        return [row["month"] for row in curs.fetchall()
                if row["month"] < running or clock - self.learnt_at.get(row["month"], -1e18) >= wait]

    def learn(self, curs: Cursor[DictRow], month: date, now: datetime) -> Learnt | None:
        """A stale month's effects learnt from its journeys as they are now, with the version of its stale mark and
        the view's generation (None: not stale any more). Reads only: no lock needed, the projector keeps writing
        meanwhile. The lookback window is the one the view's rows were folded with (its stored settings)."""
        curs.execute(SQL("SELECT version FROM {0} WHERE month = %s").format(self.stale), (month,))
        row = curs.fetchone()
        if row is None:
            return None
        generation, lookback_days = self.generation(curs)
        if month >= month_of(now):
            self.learnt_at[month] = time.monotonic()
        else:
            self.learnt_at.pop(month, None)
        first, end = first_instant(month), first_instant(next_month(month))
        curs.execute(self.converted, (first, end))
        if curs.fetchone() is None:  # no conversion in the month: nothing to credit, nothing to learn for it (yet)
            return Learnt(month, row["version"], None, generation)
        curs.execute(self.steps, arguments(first, end - JUST_BEFORE, lookback_days))
        return Learnt(month, row["version"], {key: effect_units(effect) for key, effect in
                                              removal_effects_of(steps_of_rows(curs.fetchall())).items()}, generation)

    def generation(self, curs: Cursor[DictRow]) -> tuple[str | None, int]:
        """The view's generation (a rebuild's swap brings another) and the lookback window its rows were folded with."""
        curs.execute(SQL("SELECT generation, thresholds FROM {0} WHERE id = 1").format(self.settings))
        row = curs.fetchone()
        if row is None:
            return None, DEFAULT_ATTRIBUTION.lookback_days
        table = row["thresholds"]
        return str(row["generation"]), attribution_settings(thresholds_from(dict(table), lenient=True)).lookback_days

    def store(self, curs: Cursor[DictRow], learnt: Learnt, now: datetime) -> bool:
        """Store what a learning found, under the view's write lock; True if the month's credits changed.

        - Nothing, if the view is another one now (a rebuild swapped its tables in) or a
          learning as recent (of a version as high) is stored already: several projectors'
          learnings, or one across a swap, never put older effects over newer ones.
        - The month is unmarked only if no write marked it again since it was learnt.
        - The effects are stored and, where they changed, the month's conversions credited
          anew: every row of the month, those written while it was learnt too, is credited by
          the effects stored. Under a steady flow of events the running month is written while
          it is learnt, so it stays marked and is learnt again in its turn.
        - A month learnt with no conversion loses its effects only if nothing was written since.
        """
        if self.generation(curs)[0] != learnt.generation:
            return False
        month, first, end = learnt.month, first_instant(learnt.month), first_instant(next_month(learnt.month))
        curs.execute(SQL("DELETE FROM {0} WHERE month = %s AND version = %s RETURNING month").format(self.stale),
                     (month, learnt.version))
        unmarked = curs.fetchone() is not None
        curs.execute(SQL("SELECT effects, version FROM {0} WHERE month = %s").format(self.effects), (month,))
        stored = curs.fetchone()
        if stored is not None and stored["version"] >= learnt.version:
            return False
        if learnt.units is None:
            if unmarked:
                curs.execute(SQL("DELETE FROM {0} WHERE month = %s").format(self.effects), (month,))
            return False
        units = learnt.units
        curs.execute(SQL("INSERT INTO {0} (month, learnt_at, effects, version) VALUES (%s, %s, %s::jsonb, %s)"
                         " ON CONFLICT (month) DO UPDATE SET learnt_at = excluded.learnt_at,"
                         " effects = excluded.effects, version = excluded.version").format(self.effects),
                     (month, now, stored_units(units), learnt.version))
        if stored is not None and units_of(stored["effects"]) == units:
            return False
        keys = sorted(units)
        curs.execute(self.recredit, arguments(
            first, end, [department for department, _ in keys], [channel for _, channel in keys],
            [units[key] for key in keys], CURRENCIES, [OTHER_MINOR_UNITS[each] for each in CURRENCIES],
            DEFAULT_MINOR_UNIT))
        return True


class Learnt(NamedTuple):
    month: date
    version: int  # of its stale mark when learnt
    units: Units | None  # None: no conversion in the month
    generation: str | None  # the view's, when learnt


def psycopg_placeholders(statement: str) -> SQL:
    """`$1`, `$2`, ... (PostgreSQL's own numbering, as the statements read best) as psycopg's named placeholders."""
    return SQL(re.sub(r"\$(\d+)", r"%(a\1)s", statement))


def arguments(*values: Any) -> dict[str, Any]:
    return {f"a{number}": value for number, value in enumerate(values, 1)}
