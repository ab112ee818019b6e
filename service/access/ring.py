"""Every process's copy of the active keys, refreshed on each `cx360 keys` change and polled besides.

The CLI announces each create and revoke with a NOTIFY, which wakes the refresh at once;
a poll every `POLL_SECONDS` catches what a lost notification or a dropped listening
connection missed, so a revocation takes effect within a second on every replica.
Whoever holds a connection open on a key (a WebSocket) watches it, and is told when the
key is revoked, or, for a client served without a key, when keys become required.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from service.access.keys import ActiveKey, active_keys, ensure_table_async
from service.access.scopes import LOCAL_ACTOR, Principal
from service.access.tokens import digest, matches, split
from service.read.pool import DATABASE_FAILURES
from service.stream.notifier import LogNotifier

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
NO_KEY = digest("no such key")  # compared against for an unknown id, so both cost the same
LOOPBACK_WARNING = ("no API key exists: serving only clients on this machine (loopback); "
                    "create one with `cx360 keys create --name NAME --scope SCOPE` to serve others")

Ended = Callable[[], None]


class KeyRing:
    def __init__(self, pool: asyncpg.Pool, notifier: LogNotifier, poll_seconds: float = POLL_SECONDS) -> None:
        self.pool = pool
        self.notifier = notifier
        self.poll_seconds = poll_seconds
        self.keys: dict[str, ActiveKey] = {}
        self.watchers: dict[str | None, set[Ended]] = {}
        self.task: asyncio.Task[None] | None = None
        self.failing = False

    @property
    def required(self) -> bool:
        """Whether every client needs a key: at least one key is active."""
        return bool(self.keys)

    async def start(self) -> None:
        await ensure_table_async(self.pool)
        await self.notifier.start()
        # Listening before the keys are read: a key created once the service is up is heard at once (NOTIFY),
        # not at the next poll. Bounded: without a listener the ring polls, as it does while one is down.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.notifier.connect_timeout):
                await self.notifier.up.wait()
        self.keys = await active_keys(self.pool)
        if self.required:
            log.info("API keys required: %d active", len(self.keys))
        else:
            log.warning(LOOPBACK_WARNING)
        self.task = asyncio.create_task(self.follow(), name="cx360-key-ring")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.notifier.stop()

    def holders(self) -> set[str]:
        """Who may be assigned a finding by key: the holders of the active keys (`local` while there is none)."""
        return {key.principal.holder for key in self.keys.values()} if self.required else {LOCAL_ACTOR}

    def verify(self, token: str) -> Principal | None:
        """The key's principal if the token is one of an active key, else None."""
        parts = split(token)
        if parts is None:
            return None
        key = self.keys.get(parts[0])
        if key is None:
            matches(parts[1], NO_KEY)
            return None
        return key.principal if matches(parts[1], key.secret_sha256) else None

    def watch(self, principal: Principal, ended: Ended) -> Callable[[], None]:
        """Call `ended` once the principal's key is revoked or expires (or, without a key, once keys are required)."""
        watchers = self.watchers.setdefault(principal.key_id, set())
        watchers.add(ended)
        return lambda: watchers.discard(ended)

    async def follow(self) -> None:
        while True:
            signal = self.notifier.signal()  # taken before reading: a change committed meanwhile wakes the next round
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await signal.wait()
            try:
                await self.refresh_or_keep()
            except Exception:  # a ring that stopped following would keep revoked keys working: log, go on
                log.exception("API keys: unexpected error while reading them; trying again")

    async def refresh_or_keep(self) -> None:
        """Refresh; while the database cannot be read, keep the keys known (nobody can revoke one then either)."""
        try:
            await self.refresh()
        except DATABASE_FAILURES as error:
            if not self.failing:
                log.warning("API keys: cannot read them (%s); keeping the %d known until it can", error, len(self.keys))
            self.failing = True
            return
        if self.failing:
            log.info("API keys: read again (%d active)", len(self.keys))
        self.failing = False

    async def refresh(self) -> None:
        keys = await active_keys(self.pool)
        gone, was_required = self.keys.keys() - keys.keys(), self.required
        self.keys = keys
        if self.required and not was_required:
            log.info("API keys required from now on: %d active", len(keys))
        elif was_required and not self.required:
            log.warning(LOOPBACK_WARNING)
        for key_id in sorted(gone):
            log.info("API key %s revoked or expired: ending its connections", key_id)
            self.end(key_id)
        if self.required and not was_required:
            self.end(None)

    def end(self, key_id: str | None) -> None:
        for ended in list(self.watchers.pop(key_id, ())):
            ended()
