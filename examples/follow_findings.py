"""Follow cx360's finding changes, one line each, and resume after a kill or a restart.

A small consumer of `Subscription.findingChanged` over graphql-transport-ws: it prints
each change (opened, evidence added, resolved, withdrawn) as

    OPENED sales-pressure-during-escalation acct-1 <finding id> <changePosition>: <summary>

and keeps the `changePosition` of the last change it handled in a file. Started again
with the same file, it subscribes with `after` set to that position: the server replays
every change since then and goes live, with no gap and no duplicate.

Try it against the demo:

    .venv/bin/cx360 serve --demo                    # in one terminal
    .venv/bin/python examples/follow_findings.py --url http://127.0.0.1:8000 \\
        --position-file findings.pos --from-start   # in another: the demo's changes, then live

Kill it (Ctrl-C, or `kill -9`), record events (`recordEvents`), start it again with the
same command: it prints only what changed meanwhile. `--account ID` follows one account.
With no position file, it starts from now, or from the first change with `--from-start`.
(Starting from now, it has no position until the first change arrives: a drop before
then starts from now again. `--from-start` never misses one.)

Delivery: the position is written after the line is printed (a temporary file in the
same folder, fsync, then an atomic rename), so a kill at any moment loses nothing and at
worst prints again the one change it was handling: at-least-once. Make your handling
idempotent by `changePosition` and it is exactly-once.

It reconnects by itself when the connection drops or the server restarts (close 1001),
waiting 0.5 s, then twice as long each time up to 10 s. A server that ends the
subscription because it read too slowly (SUBSCRIBER_TOO_SLOW) names where to resume; it
subscribes again from there. Anything else the server refuses (a bad URL, a position the
server did not issue, a corrupted position file) is printed to stderr and ends it with
status 2.

Needs Python 3.11+ and `websockets` (>= 13), nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)
from websockets.typing import Subprotocol

SUBSCRIPTION = """
subscription FollowFindings($accountId: ID, $after: String) {
  findingChanged(accountId: $accountId, after: $after) {
    id accountId rule severity summary change changePosition detectedAt resolvedAt
  }
}"""
PROTOCOL = Subprotocol("graphql-transport-ws")
START = "0" * 19  # the position before the first change
FIRST_WAIT, LONGEST_WAIT = 0.5, 10.0  # reconnection backoff, in seconds
ACK_TIMEOUT = 10.0


class Fatal(Exception):
    """Something retrying will not fix: print it and stop with status 2."""


class Resubscribe(Exception):
    """The server cut the subscription off for reading too slowly; subscribe again at once from the position."""


class Dropped(Exception):
    """The connection or the subscription ended: connect again after a wait."""


def websocket_url(url: str) -> str:
    """ws(s)://host[:port]/graphql from an http(s) or ws(s) URL; the path defaults to /graphql."""
    parts = urlsplit(url.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise Fatal(f"--url {url!r}: expected http(s)://host:port or ws(s)://host:port[/graphql]")
    try:
        _ = parts.port  # raises on a port that is not a number
    except ValueError as error:
        raise Fatal(f"--url {url!r}: {error}") from None
    path = parts.path if parts.path not in ("", "/") else "/graphql"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class PositionFile:
    """The last handled `changePosition`, replaced atomically so a kill never leaves it half-written."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        folder = os.path.dirname(self.path)
        if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):  # say so now, not at the first change
            raise Fatal(f"position file {self.path}: its folder {folder} does not exist or is not writable")

    def read(self) -> str | None:
        try:
            with open(self.path, encoding="ascii") as file:
                text = file.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise Fatal(f"position file {self.path}: cannot read it ({error}); fix or delete it") from None
        position = text.strip()
        if not position or not position.isprintable() or " " in position:
            raise Fatal(f"position file {self.path} is corrupted: {text!r:.60} is not a position; "
                        "fix or delete it (deleting it starts from now, or from the start with --from-start)")
        return position

    def write(self, position: str) -> None:
        try:
            self.replace(position)
        except OSError as error:  # not a connection problem: retrying would print the same change again and again
            raise Fatal(f"position file {self.path}: cannot write it ({error})") from None

    def replace(self, position: str) -> None:
        folder = os.path.dirname(self.path)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(self.path)}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="ascii") as file:
                file.write(position + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable (POSIX; not possible on Windows)
            folder_handle = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(folder_handle)
            finally:
                os.close(folder_handle)


def line_of(change: dict[str, Any]) -> str:
    return (f"{change['change']} {change['rule']} {change['accountId']} {change['id']} "
            f"{change['changePosition']}: {change['summary']}")


def messages_of(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(str(error.get("message", error)) if isinstance(error, dict) else str(error) for error in errors)
    return str(errors)


class Follower:
    """Subscribes from the position, prints and remembers each change, and reconnects when dropped."""

    def __init__(self, url: str, positions: PositionFile, account: str | None, from_start: bool) -> None:
        self.url = url
        self.positions = positions
        self.account = account
        self.position = positions.read()
        self.from_file = self.position is not None
        if self.position is None and from_start:
            self.position = START
        self.operations = 0
        self.alive = False

    async def run(self) -> None:
        wait = FIRST_WAIT
        while True:
            self.alive = False  # set when a change arrives: a drop after that waits 0.5 s again
            began = time.monotonic()
            try:
                await self.connected()
            except Dropped as dropped:
                reason = str(dropped)
            except ConnectionClosed as closed:
                code, text = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd is not None else (None, "")
                if code is not None and 4400 <= code <= 4499 and code != 4408:  # the protocol says we erred
                    raise Fatal(f"{self.url}: the server closed the connection: {code} {text}") from None
                if code is None:  # no close frame from the server: the connection broke, or we gave up on it
                    code, text = (closed.sent.code, f"{closed.sent.reason}, here") if closed.sent else (None, "")
                reason = f"connection closed ({f'{code} {text}'.strip() if code is not None else 'abruptly'})"
            except InvalidStatus as refused:
                response = refused.response
                if 400 <= response.status_code < 500:  # wrong path, or not a WebSocket endpoint
                    body = response.body.decode(errors="replace").strip()[:200] if response.body else ""
                    raise Fatal(f"{self.url}: HTTP {response.status_code} {response.reason_phrase} {body}".rstrip()
                                + " (is the URL the cx360 server's, with the path /graphql?)") from None
                reason = f"HTTP {response.status_code} from {self.url}"
            except InvalidURI as error:
                raise Fatal(f"{self.url}: {error}") from None
            except (OSError, TimeoutError, InvalidHandshake) as error:
                reason = f"cannot connect to {self.url} ({error or type(error).__name__})"
            if self.alive or time.monotonic() - began > 2 * LONGEST_WAIT:
                wait = FIRST_WAIT
            self.note(f"{reason}; connecting again in {wait:g}s")
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)

    async def connected(self) -> None:
        """Connect, subscribe from the position, and handle messages until the connection ends."""
        async with connect(self.url, subprotocols=[PROTOCOL], open_timeout=10) as socket:
            if socket.subprotocol != PROTOCOL:
                raise Fatal(f"{self.url}: the server does not speak {PROTOCOL} (is this cx360's /graphql?)")
            await self.start(socket)
            while True:
                try:
                    await self.follow(socket)
                except Resubscribe:
                    if not self.alive:  # cut off before anything arrived: do not spin
                        raise Dropped("the server cut the subscription off at once") from None

    async def start(self, socket: ClientConnection) -> None:
        await socket.send(json.dumps({"type": "connection_init"}))
        async with asyncio.timeout(ACK_TIMEOUT):
            while True:
                message = await self.receive(socket)
                if message.get("type") == "connection_ack":
                    return
                if message.get("type") == "ping":
                    await socket.send(json.dumps({"type": "pong"}))

    async def follow(self, socket: ClientConnection) -> None:
        """Subscribe from the position and handle its messages until the subscription or the connection ends."""
        self.operations += 1
        operation = str(self.operations)
        variables: dict[str, Any] = {"accountId": self.account, "after": self.position}
        payload = {"query": SUBSCRIPTION, "variables": variables, "operationName": "FollowFindings"}
        await socket.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))
        while True:
            message = await self.receive(socket)
            kind = message.get("type")
            if kind == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif kind == "pong" or message.get("id") != operation:
                continue  # an answer to nothing we asked, or an ended operation's late message
            elif kind == "next":
                self.handle(message.get("payload") or {})
            elif kind == "error":
                self.ended(message.get("payload"))
            elif kind == "complete":
                raise Dropped("the server completed the subscription")

    def handle(self, payload: dict[str, Any]) -> None:
        if payload.get("errors"):
            self.refused(payload["errors"])
        change = (payload.get("data") or {}).get("findingChanged")
        if not isinstance(change, dict) or not change.get("changePosition"):
            raise Fatal(f"unexpected message from the server: {json.dumps(payload)[:300]}")
        print(line_of(change), flush=True)  # handled first, then remembered: at-least-once
        self.positions.write(change["changePosition"])
        self.position, self.from_file, self.alive = change["changePosition"], True, True

    def ended(self, errors: Any) -> None:
        if isinstance(errors, list):
            for error in errors:
                extensions = (error.get("extensions") or {}) if isinstance(error, dict) else {}
                if extensions.get("code") == "SUBSCRIBER_TOO_SLOW" and extensions.get("resumeAfter"):
                    self.note(f"the server cut the subscription off (too slow); resuming after {extensions['resumeAfter']}")
                    self.positions.write(extensions["resumeAfter"])
                    self.position, self.from_file = extensions["resumeAfter"], True
                    raise Resubscribe
        self.refused(errors)

    def refused(self, errors: Any) -> None:
        message = messages_of(errors)
        if self.from_file and self.position is not None and "after" in message:
            raise Fatal(f"the server refused the position {self.position!r} of position file {self.positions.path} "
                        f"(corrupted, or from another database?): {message}")
        raise Fatal(f"the server refused the subscription: {message}")

    async def receive(self, socket: ClientConnection) -> dict[str, Any]:
        frame = await socket.recv()
        try:
            message = json.loads(frame)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise Fatal(f"{self.url}: not a graphql-transport-ws message: {str(frame)[:200]!r}")
        return message

    @staticmethod
    def note(text: str) -> None:
        print(f"follow_findings: {text}", file=sys.stderr, flush=True)


async def main_async(arguments: argparse.Namespace) -> None:
    follower = Follower(websocket_url(arguments.url), PositionFile(arguments.position_file),
                        arguments.account, arguments.from_start)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        with contextlib.suppress(NotImplementedError):  # not on Windows: Ctrl-C still works there
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    await follower.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print cx360 finding changes as they happen; resume from a position file.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the cx360 server (http, https, ws or wss)")
    parser.add_argument("--position-file", required=True, help="where the last handled changePosition is kept")
    parser.add_argument("--account", help="follow this account only (default: every account)")
    parser.add_argument("--from-start", action="store_true",
                        help="with no position file, replay every change from the first (default: from now)")
    arguments = parser.parse_args(argv)
    try:
        asyncio.run(main_async(arguments))
    except Fatal as error:
        print(f"follow_findings: {error}", file=sys.stderr, flush=True)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    except BrokenPipeError:  # stdout closed (e.g. piped into head)
        with contextlib.suppress(OSError):  # so the interpreter's last flush of stdout is quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
