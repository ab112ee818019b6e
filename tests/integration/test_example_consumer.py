"""`examples/follow_findings.py` as a user runs it: killed with SIGKILL, started again, it resumes from its file."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.integration.test_findings import account_findings, ago, eventually
from tests.support import record, unique

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "follow_findings.py"


class Consumer:
    """The example in a process of its own; threads collect its stdout lines and its stderr."""

    def __init__(self, base_url: str, position_file: Path, account: str) -> None:
        arguments = ["--url", base_url, "--position-file", str(position_file), "--account", account, "--from-start"]
        self.process = subprocess.Popen([sys.executable, str(EXAMPLE), *arguments], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self.readers = [threading.Thread(target=self.collect, args=(self.process.stdout, self.lines), daemon=True),
                        threading.Thread(target=self.collect, args=(self.process.stderr, self.errors), daemon=True)]
        for reader in self.readers:
            reader.start()

    def collect(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self.changed:
                into.append(line.rstrip("\n"))
                self.changed.notify_all()

    def printed(self, count: int, timeout: float = 10.0) -> list[str]:
        """Its first `count` lines, once printed; fails (with its stderr) if they do not come in time."""
        with self.changed:
            arrived = self.changed.wait_for(lambda: len(self.lines) >= count or self.process.poll() is not None,
                                            timeout)
            lines = list(self.lines)
        assert arrived and len(lines) >= count, (lines, self.errors, self.process.poll())
        return lines[:count]

    def kill(self) -> None:
        """SIGKILL: no chance to tidy up, as after a crash or a power cut."""
        self.process.kill()
        self.process.wait(10)
        for reader in self.readers:
            reader.join(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def parsed(line: str) -> dict[str, str]:
    """`CHANGE rule account finding-id position: summary`, the example's line, as a dict."""
    head, _, summary = line.partition(": ")
    change, rule, account, finding, position = head.split(" ")
    return {"change": change, "rule": rule, "account": account, "id": finding, "position": position, "summary": summary}


def one_finding(client: httpx.Client, account: str, evidence: int, resolved: bool) -> dict[str, Any]:
    """The account's single finding once the projector has judged it so (it runs asynchronously)."""

    def judged() -> dict[str, Any] | None:
        findings = account_findings(client, account, state="ALL")
        if len(findings) == 1 and len(findings[0]["evidence"]) == evidence:
            if (findings[0]["resolvedAt"] is not None) == resolved:
                return findings[0]
        return None

    finding: dict[str, Any] | None = eventually(judged)
    assert finding is not None, account_findings(client, account, state="ALL")
    return finding


def test_a_killed_consumer_resumes_from_its_position_file_with_no_gap_and_no_duplicate(
    client: httpx.Client, base_url: str, tmp_path: Path
) -> None:
    account = unique()
    positions = tmp_path / "findings.pos"
    ticket = {"id": f"{account}-t", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(days=3), "data": {"ticketId": "T-1", "priority": "urgent"}}
    push = {"id": f"{account}-p", "source": "crm", "type": "sales.outreach.sent", "accountId": account,
            "occurredAt": ago(days=2), "data": {"channel": "email", "intent": "renewal"}}

    first = Consumer(base_url, positions, account)  # --from-start: no race with its subscription
    try:
        record(client, [ticket, push])
        [opened] = first.printed(1)
        # The line is printed before the position is stored; wait for the file, then kill.
        assert eventually(lambda: positions.exists() and positions.read_text().strip() == parsed(opened)["position"])
    finally:
        first.kill()
    assert first.process.returncode == -9 and first.errors == [], first.errors

    # While it is down: the finding gains evidence, then closes (one projector step each).
    record(client, [{**push, "id": f"{account}-p2", "occurredAt": ago(days=1)}])
    one_finding(client, account, evidence=3, resolved=False)
    record(client, [{"id": f"{account}-r", "source": "zendesk", "type": "support.ticket.resolved",
                     "accountId": account, "occurredAt": ago(seconds=60), "data": {"ticketId": "T-1"}}])
    one_finding(client, account, evidence=3, resolved=True)

    second = Consumer(base_url, positions, account)
    try:
        replayed = second.printed(2)
        # And live after the replay: the ticket reopens and sales pushes again.
        record(client, [{"id": f"{account}-o", "source": "zendesk", "type": "support.ticket.reopened",
                         "accountId": account, "occurredAt": ago(seconds=30), "data": {"ticketId": "T-1"}},
                        {**push, "id": f"{account}-p3", "occurredAt": ago(seconds=10)}])
        lines = second.printed(3)
        final = one_finding(client, account, evidence=5, resolved=False)
        assert eventually(lambda: positions.read_text().strip() == parsed(lines[-1])["position"])
    finally:
        second.kill()
    assert second.errors == [], second.errors

    changes = [parsed(line) for line in [opened, *second.lines]]
    assert [change["change"] for change in changes] == ["OPENED", "EVIDENCE_ADDED", "RESOLVED", "OPENED"]
    assert lines[:2] == replayed and len(second.lines) == 3  # nothing repeated, nothing missing, in order
    assert {(change["id"], change["account"], change["rule"]) for change in changes} == {
        (final["id"], account, "sales-pressure-during-escalation")}
    position_numbers = [int(change["position"]) for change in changes]
    assert position_numbers == sorted(set(position_numbers))
    assert "T-1" in changes[0]["summary"]
