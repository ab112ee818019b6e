"""The data-driven model in SQL: the steps its chain learns from, and a range's credits summed per group.

Its removal effects depend on the journeys of the range asked for, so its credits cannot be
kept as the other models' are. Both halves run in PostgreSQL, so a year of a large tenant's
conversions never crosses into Python row by row:

- `STEPS` counts the steps of the journeys (`projections.attribution.markov`): of the
  conversions in the range (their touches, from the credit rows) and of every account's
  touches since its last conversion within the lookback window before the range's end
  (those not converted yet, from the touches table), as `projections.attribution.journeys`
  defines them. Python solves the chain from these counts (a few dozen rows).
- `TOTALS` credits every conversion of the range by the effects, exactly as
  `projections.attribution.allocation.split` does with `data_driven_weights`: in the
  currency's minor unit (or the amount's own, where finer), each touch's exact share
  rounded down, the units left over one each to the touches that lost most in rounding,
  the earliest first among equals. Weights are whole numbers: a touch's key's effect in
  trillionths (`models.effect_units`) times the least common multiple of the conversion's
  per-key touch counts, over its key's count. Sums are per currency and group.

Touches of one instant are ordered by source and id in code-point order (`COLLATE "C"`), as
Python orders facts, whatever the database's collation.
`tests/integration/test_attribution_data_driven.py` checks both against the Python
reference over random ranges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from domain.currencies import DEFAULT_MINOR_UNIT, MINOR_UNITS, NO_MINOR_UNIT
from projections.attribution.journeys import Key
from projections.attribution.markov import CONVERSION, NULL, START, State
from projections.attribution.models import effect_units

# $1, $2: the range, both ends included; $3: the lookback window in days.
STEPS = """WITH converted AS (
  SELECT department, channel, touch_position, row_number() OVER walk AS place,
         lead(department) OVER walk AS next_department, lead(channel) OVER walk AS next_channel
  FROM {credits} WHERE occurred_at >= $1 AND occurred_at <= $2
  WINDOW walk AS (PARTITION BY conversion_position
                  ORDER BY touch_at, touch_source COLLATE "C", touch_event_id COLLATE "C")),
recent AS (
  SELECT account_id, occurred_at, source, event_id, department, channel FROM {touches}
  WHERE occurred_at > $2::timestamptz - make_interval(days => $3::int) AND occurred_at <= $2),
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

# $1, $2: the range [from, to); $3-$5: the effects (department, channel, numerator over a common denominator);
# $6, $7: the currencies whose minor unit is not the default, and their decimals; $8: the default's decimals.
# cx360_lcm is created with the views' tables (service.projection.attribution_store).
TOTALS = """WITH effect (department, channel, numerator) AS (SELECT * FROM unnest($3::text[], $4::text[], $5::numeric[])),
minor (currency, digits) AS (SELECT * FROM unnest($6::text[], $7::int[])),
touched AS (
  SELECT c.conversion_position, c.currency, c.{group} AS grp,
         greatest(coalesce(m.digits, $8::int), scale(c.amount)) AS digits,
         row_number() OVER (PARTITION BY c.conversion_position
                            ORDER BY c.touch_at, c.touch_source COLLATE "C", c.touch_event_id COLLATE "C")
           AS place,
         coalesce(e.numerator, 0) AS effect,
         count(*) OVER (PARTITION BY c.conversion_position, c.department, c.channel) AS same,
         c.amount
  FROM {credits} c
  LEFT JOIN minor m ON m.currency = upper(c.currency)
  LEFT JOIN effect e ON e.department = c.department AND e.channel = c.channel
  WHERE c.occurred_at >= $1 AND c.occurred_at < $2 AND c.touch_position IS NOT NULL),
weighed AS (
  SELECT conversion_position, currency, grp, digits, place, round(amount * power(10::numeric, digits)) AS units,
         CASE WHEN sum(effect) OVER conversion = 0 THEN 1
              ELSE effect * (cx360_lcm(same) OVER conversion / same) END AS weight
  FROM touched WINDOW conversion AS (PARTITION BY conversion_position)),
shared AS (
  SELECT conversion_position, currency, grp, digits, place, units,
         div(units * weight, sum(weight) OVER conversion) AS share,
         mod(units * weight, sum(weight) OVER conversion) AS lost
  FROM weighed WINDOW conversion AS (PARTITION BY conversion_position)),
credited AS (
  SELECT conversion_position, currency, grp, digits, share
         + CASE WHEN row_number() OVER (PARTITION BY conversion_position ORDER BY lost DESC, place)
                     <= units - sum(share) OVER (PARTITION BY conversion_position) THEN 1 ELSE 0 END AS units
  FROM shared)
SELECT currency, grp, false AS unattributed, sum(round(units / power(10::numeric, digits), digits)) AS amount,
       count(DISTINCT conversion_position) AS conversions, count(*) AS touches
FROM credited GROUP BY 1, 2
UNION ALL
SELECT currency, NULL, true, sum(amount), count(DISTINCT conversion_position), 0
FROM {credits} WHERE occurred_at >= $1 AND occurred_at < $2 AND touch_position IS NULL GROUP BY 1"""

OTHER_MINOR_UNITS = {**MINOR_UNITS, **dict.fromkeys(NO_MINOR_UNIT, 0)}  # no minor unit: the amount's own decimals


def steps_of_rows(rows: Iterable[Any]) -> dict[State, Counter[State]]:
    """The chain's step counts from `STEPS`' rows (a missing key is the start, or the journey's end)."""
    steps: dict[State, Counter[State]] = {}
    for row in rows:
        here = START if row["from_department"] is None else (row["from_department"], row["from_channel"])
        end = CONVERSION if row["converted"] else NULL
        there = end if row["to_department"] is None else (row["to_department"], row["to_channel"])
        steps.setdefault(here, Counter())[there] += row["steps"]
    return steps


def totals_arguments(effects: Mapping[Key, Fraction]) -> tuple[Any, ...]:
    """`TOTALS`' arguments after the range: the effects in trillionths (as `data_driven_weights` counts them),
    and the minor units."""
    keys = sorted(effects)
    numerators = [Decimal(effect_units(effects[key])) for key in keys]
    currencies = sorted(OTHER_MINOR_UNITS)
    return ([department for department, _ in keys], [channel for _, channel in keys], numerators, currencies,
            [OTHER_MINOR_UNITS[currency] for currency in currencies], DEFAULT_MINOR_UNIT)
