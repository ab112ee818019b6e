"""uvicorn's server, closing subscriptions with 1001 (going away) before it stops.

uvicorn itself fails open WebSockets with 1012 when it shuts down; subscribers are told
first, with the code the protocol reserves for a server going away, and a reason.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import uvicorn


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.before_shutdown()
        await super().shutdown(sockets=sockets)
