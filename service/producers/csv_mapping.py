"""A CSV file's columns mapped onto event envelopes: `--map FIELD=COLUMN`, `--set FIELD=VALUE`, or a TOML file.

    [columns]            # envelope field (or data.<key>) = CSV column
    id = "event_id"
    accountId = "customer"
    "data.ticketId" = "ticket"
    [constants]          # envelope field = the same value on every row
    source = "legacy-helpdesk"

Without a mapping, a column named as an envelope field (id, source, type, accountId,
contactId, occurredAt, actor) is that field, and a column `data` holds the data as a JSON
object. A mapped column missing from the header stops the import before anything is
stored, naming the column; so does a required field with neither a column nor a constant.
Cells are text; a data cell under a catalogue field that takes a number or a flag is read
as one (`3`, `12.50`, `true`), so that it is checked as recordEvents would check it. An
empty cell is an absent value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from domain.catalogue import CATALOGUE
from domain.fields import Amount, Flag, Integer, Percent
from service.exact_json import loads

ENVELOPE = ("id", "source", "type", "accountId", "contactId", "occurredAt", "actor")
REQUIRED = ("id", "source", "type", "accountId", "occurredAt")


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the field or column and the reason."""


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str] = field(default_factory=dict)  # envelope field or data.<key> -> column
    constants: dict[str, str] = field(default_factory=dict)  # envelope field -> value

    def resolved(self, header: Sequence[str]) -> ColumnMapping:
        """The mapping for a file with this header: defaults filled in, every column checked (MappingError)."""
        columns = dict(self.columns)
        for name in (*ENVELOPE, "data"):
            if name not in columns and name not in self.constants and name in header:
                columns[name] = name
        for name, column in columns.items():
            if column not in header:
                raise MappingError(f"column {column!r:.80} (for {name}) is not in the CSV header; the header has "
                                   f"{', '.join(repr(each) for each in header) or 'no columns'}")
        for name in REQUIRED:
            if name not in columns and name not in self.constants:
                raise MappingError(f"column {name!r} (for {name}) is not in the CSV header, and no mapping names "
                                   f"another for it (--map {name}=COLUMN, or --set {name}=VALUE)")
        return ColumnMapping(columns, dict(self.constants))

    def envelope(self, row: Mapping[str, str]) -> dict[str, Any]:
        """A row as an envelope (validation judges it)."""
        envelope: dict[str, Any] = dict(self.constants)
        data: dict[str, Any] = {}
        for name, column in self.columns.items():
            cell = row.get(column)
            if cell is None or cell == "":
                continue
            if name == "data":
                try:
                    data_cell = loads(cell)
                except ValueError:
                    data_cell = cell  # validation says it must be an object
                envelope["data"] = data_cell
            elif name.startswith("data."):
                data[name[5:]] = cell
            else:
                envelope[name] = cell
        if data or "data" not in envelope:
            given = envelope.get("data")
            base: dict[str, Any] = given if isinstance(given, dict) else {}
            typed = CATALOGUE.get(envelope.get("type", ""))
            envelope["data"] = {**base, **{key: typed_cell(typed.fields.get(key) if typed else None, cell)
                                           for key, cell in data.items()}}
        return envelope


def typed_cell(spec: Any, cell: str) -> Any:
    """A cell as the catalogue field takes it: a number or a flag where the field wants one; else the text."""
    if isinstance(spec, Flag):
        return {"true": True, "false": False}.get(cell.strip().lower(), cell)
    if isinstance(spec, Integer | Percent | Amount):
        try:
            number = Decimal(cell.strip())
        except InvalidOperation:
            return cell
        if isinstance(spec, Amount):
            return cell.strip()
        return int(number) if number.is_finite() and number == number.to_integral_value() else number
    return cell


def pairs(given: Iterable[str], flag: str) -> dict[str, str]:
    """`FIELD=VALUE` flags as a dict."""
    chosen = {}
    for each in given:
        name, equals, value = each.partition("=")
        if not equals or not name.strip():
            raise MappingError(f"{flag}: must be FIELD=VALUE (got {each!r:.80})")
        chosen[name.strip()] = value
    return chosen


def mapping_of(toml_file: Path | None, maps: Iterable[str], sets: Iterable[str]) -> ColumnMapping:
    """The mapping of a TOML file and flags (the flags win)."""
    columns: dict[str, str] = {}
    constants: dict[str, str] = {}
    if toml_file is not None:
        try:
            document = tomllib.loads(toml_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise MappingError(f"mapping: cannot read {toml_file.name}: {error}") from None
        unknown = set(document) - {"columns", "constants"}
        if unknown:
            raise MappingError(f"mapping: unknown table {sorted(unknown)[0]!r}; the tables are columns and constants")
        for table, target in (("columns", columns), ("constants", constants)):
            for name, value in document.get(table, {}).items():
                if not isinstance(value, str):
                    raise MappingError(f"mapping: {table}.{name} must be a string (got {type(value).__name__})")
                target[name] = value
    columns.update(pairs(maps, "--map"))
    constants.update(pairs(sets, "--set"))
    for name in columns:
        if name not in ENVELOPE and name != "data" and not (name.startswith("data.") and len(name) > 5):
            raise MappingError(f"mapping: {name!r:.80} is not an envelope field ({', '.join(ENVELOPE)}), data, "
                               "or data.<key>")
    for name in constants:
        if name not in ENVELOPE:
            raise MappingError(f"mapping: a constant must be an envelope field ({', '.join(ENVELOPE)}), not {name!r:.80}")
    return ColumnMapping(columns, constants)
