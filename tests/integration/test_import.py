"""`cx360 import FILE` in processes of its own on the real database: JSONL and CSV, rejections by line,
a CSV with a missing column, a killed import resumed (nothing doubled, nothing missing), bar and plain lines."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from service.producers.import_command import SOME_NOT_STORED
from service.store.tables import EVENTS_TABLE
from tests.support import event, unique


def import_cli(database_url: str, *arguments: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "service.cli", "import", *map(str, arguments)], env=environment,
                          capture_output=True, text=True, timeout=300, **options)


def stored(database_url: str, source: str) -> list[str]:
    """The ids stored under a source, with repeats if there were any."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(f"SELECT event_id FROM {EVENTS_TABLE} WHERE source = %s ORDER BY event_id",
                                  (source,)).fetchall()
    return [row[0] for row in rows]


def test_a_jsonl_file_is_imported_with_its_rejections_by_line_and_a_second_run_finds_duplicates(
        database_url: str, tmp_path: Path) -> None:
    source, account = unique("src"), unique()
    good = [event(account_id=account, source=source, id=f"e-{i}") for i in range(5)]
    lines = [json.dumps(good[0]), "{broken", json.dumps(good[1]), "", json.dumps({**good[2], "occurredAt": "soon"}),
             json.dumps(good[3]), json.dumps({**good[0], "actor": "someone"}), json.dumps(good[4])]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = import_cli(database_url, path, "--batch", "2")
    assert done.returncode == SOME_NOT_STORED, done.stderr  # done, with lines not stored: a script can tell
    assert "4 new, 0 duplicates, 1 conflicts, 2 rejected (see events.jsonl.rejections)" in done.stdout
    assert "through line 8" in done.stdout
    rejections = (tmp_path / "events.jsonl.rejections").read_text().splitlines()
    assert [line.split(":")[0] for line in rejections] == ["line 2", "line 5", "line 7"]
    assert rejections[0].startswith("line 2: line: is not JSON")
    assert rejections[1].startswith("line 5: occurredAt: must be an RFC 3339 date-time")
    assert rejections[2].startswith("line 7: conflict: event 'e-0'") and "(actor differ)" in rejections[2]
    assert stored(database_url, source) == ["e-0", "e-1", "e-3", "e-4"]
    assert not (tmp_path / "events.jsonl.checkpoint").exists()
    again = import_cli(database_url, path)
    assert again.returncode == SOME_NOT_STORED and "0 new, 4 duplicates, 1 conflicts, 2 rejected" in again.stdout
    assert (tmp_path / "events.jsonl.rejections").read_text().splitlines() == rejections  # written anew, once


def test_a_csv_is_mapped_by_a_toml_file_and_flags_with_typed_cells(database_url: str, tmp_path: Path) -> None:
    source, account = unique("csv"), unique()
    path = tmp_path / "dunning.csv"
    path.write_text("ref,customer,when,invoice,lvl,note\n"
                    f"d-1,{account},2026-03-02T09:14:00Z,INV-1,2,\"first, polite\"\n"
                    f"d-2,{account},2026-03-03T09:14:00Z,INV-1,7,\n"
                    f"d-3,{account},not a time,INV-1,1,\n"
                    f"d-4,{account},2026-03-04T09:14:00Z,INV-2,3,final\n")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\nid = "ref"\naccountId = "customer"\noccurredAt = "when"\n'
                       '"data.invoiceId" = "invoice"\n"data.level" = "lvl"\n\n[constants]\ntype = "billing.dunning.sent"\n')
    done = import_cli(database_url, path, "--mapping", mapping, "--set", f"source={source}", "--map", "data.channel=note")
    assert done.returncode == SOME_NOT_STORED, done.stderr
    assert "2 new, 0 duplicates, 0 conflicts, 2 rejected" in done.stdout
    rejections = (tmp_path / "dunning.csv.rejections").read_text().splitlines()
    assert rejections == ["line 3: data.level: must be at least 1 and at most 3 (got 7)",
                          "line 4: occurredAt: must be an RFC 3339 date-time such as 2026-03-02T09:14:00Z (got 'not a time')"]
    assert stored(database_url, source) == ["d-1", "d-4"]


def test_a_csv_with_a_missing_column_stops_before_storing_anything_naming_it(database_url: str, tmp_path: Path) -> None:
    source, account = unique("csv"), unique()
    path = tmp_path / "tickets.csv"
    path.write_text(f"id,type,accountId,occurredAt,ticket\nt-1,support.ticket.opened,{account},2026-03-02T09:14:00Z,T\n")
    done = import_cli(database_url, path, "--set", f"source={source}", "--map", "data.ticketId=ticket",
                      "--map", "data.priority=prio")
    assert done.returncode == 2
    assert done.stderr.startswith("cx360: column 'prio' (for data.priority) is not in the CSV header; the header has 'id'")
    done = import_cli(database_url, path, "--map", "data.ticketId=ticket")
    assert done.returncode == 2 and "column 'source' (for source) is not in the CSV header" in done.stderr
    assert stored(database_url, source) == []


def test_bad_arguments_are_refused_by_name(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("")
    assert "--batch must be between 1" in import_cli(database_url, path, "--batch", "0").stderr
    assert "mappings are for CSV" in import_cli(database_url, path, "--set", "source=x").stderr
    assert "is not a file" in import_cli(database_url, tmp_path / "nope.jsonl").stderr
    (tmp_path / "e.csv").write_text("id\n")
    assert "--map: must be FIELD=VALUE (got 'x')" in import_cli(database_url, tmp_path / "e.csv", "--map", "x").stderr
    assert "'nope' is not an envelope field" in import_cli(database_url, tmp_path / "e.csv", "--map", "nope=id").stderr


def test_a_killed_import_resumed_stores_nothing_twice_and_misses_nothing(database_url: str, tmp_path: Path) -> None:
    source, account = unique("kill"), unique()
    count = 20_000
    path = tmp_path / "big.jsonl"
    with path.open("w") as out:
        for i in range(count):
            if i % 1000 == 7:
                out.write("not json\n")
            else:
                out.write(json.dumps(event(account_id=account, source=source, id=f"k-{i:05d}")) + "\n")
    checkpoint = tmp_path / "big.jsonl.checkpoint"
    environment = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "import", str(path), "--batch", "200"],
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists() and json.loads(checkpoint.read_text() or "{}").get("line", 0) >= count // 2:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the import ended before it could be killed halfway"
    halfway = json.loads(checkpoint.read_text())
    assert count // 2 <= halfway["line"] < count
    stored_before = len(stored(database_url, source))
    assert stored_before >= halfway["accepted"] and stored_before < count - 20

    resumed = import_cli(database_url, path, "--batch", "200")
    assert resumed.returncode == SOME_NOT_STORED, resumed.stderr  # 20 lines rejected
    ids = stored(database_url, source)
    valid = [f"k-{i:05d}" for i in range(count) if i % 1000 != 7]
    assert ids == valid  # nothing missing, nothing twice
    rejections = (tmp_path / "big.jsonl.rejections").read_text().splitlines()
    assert [line.split(":")[0] for line in rejections] == [f"line {i + 1}" for i in range(count) if i % 1000 == 7]
    assert "import: line" in resumed.stderr  # plain lines when not a terminal
    summary = resumed.stdout  # of the whole import: both runs
    assert f"through line {count:,}" in summary and "20 rejected" in summary and "0 conflicts" in summary
    assert f"resumed after line {halfway['line']:,}" in summary
    new = int(summary.split(" new,")[0].rsplit(" ", 1)[1].replace(",", ""))
    duplicates = int(summary.split(" duplicates")[0].rsplit(" ", 1)[1].replace(",", ""))
    # A kill between a batch's commit and its checkpoint leaves that batch stored but not counted: the
    # resumed run sends it again and counts it among the duplicates (docs/producers.md, "Resuming").
    assert new + duplicates == len(valid) and duplicates <= 200


def test_a_checkpoint_of_another_file_is_not_resumed(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(event(account_id=unique(), source=unique("cp"))) + "\n")
    (tmp_path / "a.jsonl.checkpoint").write_text(json.dumps({"file": "b.jsonl", "size": 1, "fingerprint": "0" * 64}))
    done = import_cli(database_url, path)
    assert done.returncode == 2 and "was written for another file" in done.stderr
    assert import_cli(database_url, path, "--restart").returncode == 0


def test_a_terminal_gets_a_progress_bar(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bar.jsonl"
    path.write_text("".join(json.dumps(event(account_id=unique(), source=unique("bar"))) + "\n" for _ in range(30)))
    leader, follower = pty.openpty()
    environment = {**os.environ, "DATABASE_URL": database_url}
    drawn = bytearray()

    def read() -> None:  # while the import runs: a terminal's unread output may go when its last writer closes
        with contextlib.suppress(OSError):
            while chunk := os.read(leader, 65536):
                drawn.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    done = subprocess.run([sys.executable, "-m", "service.cli", "import", str(path), "--batch", "10"], env=environment,
                          stdout=subprocess.PIPE, stderr=follower, timeout=120)
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    assert done.returncode == 0
    text = drawn.decode(errors="replace")
    assert "importing: 100%" in text and "30/30" in text and "import: line" not in text
