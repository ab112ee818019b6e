"""The data-driven model: each (department, channel)'s removal effect in a Markov chain of journeys.

Every journey, converted or not, is a walk `start -> touch -> ... -> touch -> end`, where
the end is `conversion` or `null`. Counting the steps of all journeys gives a first-order
Markov chain; the probability of reaching `conversion` from `start` is its conversion
rate. Removing a state (every step into it goes to `null` instead) lowers that rate; the
share it loses is the state's removal effect, in [0, 1]. A state only unconverted
journeys pass through has none; one every conversion needs has 1.

Arithmetic is exact (whole numbers, solving the chain's linear equations by elimination), so
the effects, and the credits made from them, never depend on float error or on the
order in which journeys are given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from fractions import Fraction

from projections.attribution.journeys import Journey, Key

START, CONVERSION, NULL = ("", "start"), ("", "conversion"), ("", "null")
State = tuple[str, str]
Steps = Mapping[State, Counter[State]]  # state -> the states the journeys went to next, counted


def removal_effects(journeys: Iterable[Journey]) -> dict[Key, Fraction]:
    """Each touch key's removal effect over the journeys (all zero if none converted)."""
    return removal_effects_of(steps_of(journeys))


def removal_effects_of(steps: Steps) -> dict[Key, Fraction]:
    """Each touch key's removal effect in the chain of the steps the journeys took (counted where they are kept)."""
    keys = sorted(state for state in steps if state != START)
    rate = conversion_rate(steps, None)
    if rate == 0:
        return {key: Fraction(0) for key in keys}
    return {key: 1 - conversion_rate(steps, key) / rate for key in keys}


def steps_of(journeys: Iterable[Journey]) -> dict[State, Counter[State]]:
    steps: dict[State, Counter[State]] = {}
    for journey in journeys:
        walk = (START, *journey.path, CONVERSION if journey.converted else NULL)
        for here, there in zip(walk, walk[1:]):
            steps.setdefault(here, Counter())[there] += 1
    return steps


def conversion_rate(steps: Steps, removed: State | None) -> Fraction:
    """The probability of reaching `conversion` from `start`, with `removed` leading to `null`.

    The chance p(s) of converting from each transient state s solves
    n(s) p(s) - sum over t of n(s -> t) p(t) = n(s -> conversion), with n counting the
    steps and p(null) = p(removed) = 0: a linear system in whole numbers.
    """
    if START not in steps:
        return Fraction(0)
    states = sorted(state for state in steps if state not in (removed, START)) + [START]  # start last: solved first
    place = {state: index for index, state in enumerate(states)}
    rows = []
    for state in states:
        row = [0] * (len(states) + 1)
        row[place[state]] += sum(steps[state].values())
        for there, count in steps[state].items():
            if there == CONVERSION:
                row[-1] += count
            elif there in place:
                row[place[there]] -= count
        rows.append(row)
    return last_unknown(rows)


def last_unknown(rows: list[list[int]]) -> Fraction:
    """The last unknown of a non-singular system of whole numbers, given as augmented rows (changed in place).

    Bareiss' elimination keeps every entry a whole number (each division is exact), so the
    answer is exact without the cost of fractions; once the rows are triangular, the last
    unknown is the last row's right side over its pivot.
    """
    size, previous = len(rows), 1
    for column in range(size - 1):
        pivot = next(index for index in range(column, size) if rows[index][column] != 0)
        rows[column], rows[pivot] = rows[pivot], rows[column]
        top = rows[column]
        for row in rows[column + 1:]:
            lead = row[column]
            for index in range(column + 1, size + 1):
                row[index] = (top[column] * row[index] - lead * top[index]) // previous
            row[column] = 0
        previous = top[column]
    return Fraction(rows[-1][-1], rows[-1][-2])
