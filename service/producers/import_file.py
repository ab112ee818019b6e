"""`cx360 import FILE`: a JSONL or CSV file of events into the store, resumable.

Every line (JSONL: one envelope per line, as events.md has it) or row (CSV, through a
column mapping) goes through the same validation, sources-free, and the same append as
`recordEvents`, in batches of `--batch` events, each one transaction. Rejections and
conflicts go to a file, one per line with the line number. After each batch, a
checkpoint file records how far the import got (written whole, then renamed, so a kill
never leaves half of one) and how long the rejections file was then.

A killed import run again resumes after its checkpoint: the rejections file is cut back
to where the checkpoint found it, and the batch that was stored but not yet checkpointed
is sent again and comes back as duplicates, by the idempotency key. So nothing is stored
twice, nothing is missed, and no rejection is written twice. A finished import removes
its checkpoint.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Protocol

from domain.validation import Limits, Rejection
from service.producers.csv_mapping import ColumnMapping, MappingError
from service.producers.envelopes import Item, ndjson_items
from service.store.event_store import Encoded, EventStore
from service.store.ingest import checked_batch

FINGERPRINT_BYTES = 64 * 1024
PLAIN_EVERY_SECONDS = 5.0


class ImportFailed(Exception):
    """An import that cannot start or go on; the message names the file, flag or column and the reason."""


@dataclass
class Progress:
    """How far an import got; the checkpoint file holds it as JSON."""

    file: str
    size: int
    fingerprint: str
    line: int = 0  # the last line processed (stored, rejected or found already there)
    offset: int = 0  # the byte after it (JSONL)
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    rejections_bytes: int = 0

    @property
    def events(self) -> int:
        return self.accepted + self.duplicates + self.conflicts + self.rejected


@dataclass
class ImportPlan:
    path: Path
    format: str  # "jsonl" or "csv"
    batch: int
    rejections: Path
    checkpoint: Path
    restart: bool = False
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    limits: Limits = field(default_factory=Limits)


class Meter(Protocol):
    def advance(self, progress: Progress) -> None: ...
    def close(self) -> None: ...


def fingerprint(path: Path) -> str:
    """The file's first 64 KiB, hashed: a checkpoint of another file is not resumed from."""
    with path.open("rb") as source:
        return hashlib.sha256(source.read(FINGERPRINT_BYTES)).hexdigest()


def start(plan: ImportPlan) -> Progress:
    """Where to begin: after the checkpoint, if there is one for this file (and not --restart)."""
    fresh = Progress(file=plan.path.name, size=plan.path.stat().st_size, fingerprint=fingerprint(plan.path))
    if plan.restart or not plan.checkpoint.exists():
        plan.rejections.write_bytes(b"")
        return fresh
    try:
        saved = Progress(**json.loads(plan.checkpoint.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise ImportFailed(f"checkpoint: {plan.checkpoint.name} cannot be read ({error}); pass --restart to import "
                           "from the first line (what is stored already comes back as duplicates)") from None
    if saved.fingerprint != fresh.fingerprint or saved.size > fresh.size:
        raise ImportFailed(f"checkpoint: {plan.checkpoint.name} was written for another file (or this one changed "
                           "since); pass --restart to import this one from its first line")
    with plan.rejections.open("ab") as rejections:  # cut back to what the checkpoint had: nothing written twice
        rejections.truncate(saved.rejections_bytes)
    return saved


def save(plan: ImportPlan, progress: Progress) -> None:
    """The checkpoint, written whole and renamed into place."""
    temporary = plan.checkpoint.with_name(plan.checkpoint.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(asdict(progress), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, plan.checkpoint)


def jsonl_batches(plan: ImportPlan, progress: Progress) -> Iterator[tuple[list[Item], int]]:
    """Items of the JSONL file after the checkpoint, `plan.batch` events at a time, with the offset after them."""
    start_line, start_offset = progress.line, progress.offset  # as the import starts: it moves them on meanwhile
    with plan.path.open("rb") as source:
        source.seek(start_offset)
        line = start_line
        offset = start_offset
        items: list[Item] = []
        for raw in source:
            line += 1
            offset += len(raw)
            for item in ndjson_items(raw):
                item.label = line
                items.append(item)
            if len(items) >= plan.batch:
                yield items, offset
                items = []
        if items or offset != start_offset:
            yield items, offset


def csv_header(plan: ImportPlan) -> tuple[list[str], ColumnMapping]:
    """The header and the mapping resolved against it (MappingError naming a missing column)."""
    with plan.path.open(encoding="utf-8-sig", newline="") as source:
        header = next(csv.reader(source), [])
    return header, plan.mapping.resolved(header)


def csv_batches(plan: ImportPlan, progress: Progress, mapping: ColumnMapping) -> Iterator[tuple[list[Item], int]]:
    """Items of the CSV rows after the checkpoint's line, `plan.batch` at a time (line numbers count the header)."""
    start_line = progress.line  # as the import starts: it moves them on meanwhile
    with plan.path.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        items: list[Item] = []
        for row in reader:
            if reader.line_num <= start_line:
                continue
            item = Item(reader.line_num)
            if None in row:
                item.faults["line"] = f"has more cells than the header has columns ({len(reader.fieldnames or [])})"
            else:
                item.envelope = mapping.envelope(row)
                item.event_id = item.envelope.get("id")
            items.append(item)
            if len(items) >= plan.batch:
                yield items, 0
                items = []
        if items:
            yield items, 0


@dataclass
class Prepared:
    """A batch read, validated and encoded, ready to store: made while the batch before it is stored."""

    items: list[Item]
    offset: int  # the byte after its last line (JSONL)
    readable: list[Item]  # its items that are JSON objects, in the order validation numbered them
    rejected: list[Rejection]
    encoded: Encoded | None


def prepared(store: EventStore, plan: ImportPlan, items: list[Item], offset: int) -> Prepared:
    readable = [item for item in items if not item.faults]
    valid, rejected = checked_batch([item.envelope for item in readable], plan.limits, None,
                                     webhook=True)  # with the database's rights: a provider's history may be backfilled
    return Prepared(items, offset, readable, rejected, store.encode(valid) if valid else None)


def record_batch(store: EventStore, batch: Prepared, progress: Progress, rejections: IO[bytes]) -> None:
    """Store one prepared batch; write its rejections and conflicts; count them in `progress`."""
    items, readable, rejected = batch.items, batch.readable, batch.rejected
    outcome = store.record_encoded(batch.encoded) if batch.encoded is not None else None
    lines = [(item.label, f"line {item.label}: {name}: {message}") for item in items
             for name, message in item.faults.items()]
    lines += [(readable[each.index].label, f"line {readable[each.index].label}: {each.field}: {each.message}")
              for each in rejected]
    if outcome is not None:
        for conflict in outcome.conflicts:
            label = readable[conflict.index].label
            earlier = f"line {readable[conflict.earlier].label}" if conflict.earlier is not None else None
            lines.append((label, f"line {label}: conflict: {conflict.message_with(earlier)}"))
        progress.accepted += outcome.accepted
        progress.duplicates += outcome.duplicates
        progress.conflicts += len(outcome.conflicts)
    progress.rejected += len({item.label for item in items if item.faults} | {readable[each.index].label
                                                                             for each in rejected})
    lines.sort(key=lambda each: each[0])
    text = "".join(f"{line}\n" for _, line in lines).encode()
    rejections.write(text)
    rejections.flush()
    os.fsync(rejections.fileno())
    progress.rejections_bytes += len(text)


def run_import(store: EventStore, plan: ImportPlan, meter_of: Callable[[Progress], Meter]) -> tuple[Progress, int]:
    """Import the file from its checkpoint on; the final progress (of the whole import, every run) and the line
    this run resumed after (0: from the start). The checkpoint goes once it is done.
    A CSV's mapping is checked against its header before anything is stored. Each batch is read, validated and
    encoded in a worker thread while the one before it is stored: storing waits on the database, so the two
    overlap. Batches are stored, and checkpointed, in order."""
    mapping = ColumnMapping()
    if plan.format == "csv":
        try:
            _, mapping = csv_header(plan)
        except MappingError as error:
            raise ImportFailed(str(error)) from None
    progress = start(plan)
    resumed = progress.line
    meter = meter_of(progress)
    batches = csv_batches(plan, progress, mapping) if plan.format == "csv" else jsonl_batches(plan, progress)

    def next_batch() -> Prepared | None:
        found = next(batches, None)
        return None if found is None else prepared(store, plan, *found)

    with plan.rejections.open("ab") as rejections, ThreadPoolExecutor(1, "cx360-import") as worker:
        ahead = worker.submit(next_batch)
        while (batch := ahead.result()) is not None:
            ahead = worker.submit(next_batch)  # the batch after it, read while this one is stored
            if batch.items:
                record_batch(store, batch, progress, rejections)
                progress.line = batch.items[-1].label
            if plan.format == "jsonl":
                progress.offset = batch.offset
            save(plan, progress)
            meter.advance(progress)
    meter.close()
    plan.checkpoint.unlink(missing_ok=True)
    return progress, resumed


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


class Bar:
    """A progress bar on a terminal (tqdm), by line."""

    def __init__(self, total: int, already: int, stream: IO[str]) -> None:
        from tqdm import tqdm

        columns, rows = size_of(stream)
        self.bar = tqdm(total=total, initial=already, unit=" lines", file=stream, ncols=columns, nrows=rows,
                        desc="importing")
        self.line = already

    def advance(self, progress: Progress) -> None:
        self.bar.update(progress.line - self.line)
        self.line = progress.line
        self.bar.set_postfix(new=progress.accepted, dup=progress.duplicates, conflicts=progress.conflicts,
                             rejected=progress.rejected, refresh=False)

    def close(self) -> None:
        self.bar.close()


def size_of(stream: IO[str]) -> tuple[int, int]:
    """The terminal's columns and rows; 100 and 24 where it says 0 (tqdm draws no bar on a terminal of 0 rows)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError):
        return 100, 24
    return size.columns or 100, size.lines or 24


class PlainLines:
    """Progress as plain lines (not a terminal: a log, a pipe), one every few seconds and at the end."""

    def __init__(self, total: int, stream: IO[str], every: float = PLAIN_EVERY_SECONDS) -> None:
        self.total, self.stream, self.every = total, stream, every
        self.last = time.monotonic()
        self.progress: Progress | None = None

    def advance(self, progress: Progress) -> None:
        self.progress = progress
        if time.monotonic() - self.last >= self.every:
            self.write(progress)

    def write(self, progress: Progress) -> None:
        self.last = time.monotonic()
        self.stream.write(f"import: line {progress.line:,} of {self.total:,}: {progress.accepted:,} new, "
                          f"{progress.duplicates:,} duplicates, {progress.conflicts:,} conflicts, "
                          f"{progress.rejected:,} rejected\n")
        self.stream.flush()

    def close(self) -> None:
        if self.progress is not None:
            self.write(self.progress)


def meter_for(plan: ImportPlan, progress: Progress, stream: IO[str] | None = None) -> Meter:
    """A bar on a terminal, plain lines elsewhere."""
    stream = stream if stream is not None else sys.stderr
    total = count_lines(plan.path)
    if stream.isatty():
        return Bar(total, progress.line, stream)
    return PlainLines(total, stream)
