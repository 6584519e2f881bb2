"""A process's open GraphQL WebSockets: who each belongs to, and closing them from outside.

A socket is closed, whatever it is doing, when
- its login ends (logout, logoutAll, changePassword, a reused refresh token, and any
  other path through `db/sessions.py`'s revocations): 4403, told by LiveSessions,
  which hears of every ended login in this process and, through LISTEN/NOTIFY, in
  every other one;
- its access token expires: 4403, by a timer at its `exp`;
- it falls too many events behind, or an event cannot be read (`TaskEventHub`): 1013;
- the process's listener loses the database, so events could be missed unseen: every
  socket, 1013, so that clients reconnect and refetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from auth.context import Services, Viewer
from db.events import TaskSubscriber

logger = logging.getLogger("taskql.websocket")

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_BAD_MESSAGE = 4400
CLOSE_FORBIDDEN = 4403


class SocketRefused(Exception):
    """Why a `connection_init` gets no ack: the socket closes with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def close_socket(websocket: WebSocket, code: int, reason: str) -> None:
    """Close once; later calls, and calls after the client left, do nothing."""
    if websocket.application_state is WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.close(code=code, reason=reason)


@dataclass(eq=False)
class SocketContext:
    """One WebSocket connection: the handler's context, before and after `connection_init`."""

    websocket: WebSocket
    services: Services
    client_address: str
    connection_params: dict[str, Any] = field(default_factory=dict)
    viewer: Viewer = field(default_factory=Viewer)
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _expiry: asyncio.TimerHandle | None = None

    def close_soon(self, code: int, reason: str) -> None:
        """Close from a callback, without waiting."""
        task = asyncio.get_running_loop().create_task(close_socket(self.websocket, code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close_at(self, timestamp: float, code: int, reason: str) -> None:
        """Close at a wall-clock `timestamp` (a token's `exp`)."""
        delay = max(0.0, timestamp - time.time())
        self._expiry = asyncio.get_running_loop().call_later(delay, self.close_soon, code, reason)

    def subscribe_task_events(self, user_id: int, parent_id: int | None) -> TaskSubscriber:
        """A subscriber whose falling behind closes this socket (RequestContext's hook)."""
        return self.services.task_events.subscribe(
            user_id,
            parent_id,
            on_behind=lambda: self.close_soon(CLOSE_TRY_AGAIN_LATER, "Too far behind"),
        )

    def release(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()


class SocketRegistry:
    """The authenticated sockets of this process, by user."""

    def __init__(self, *, max_per_user: int) -> None:
        self.max_per_user = max_per_user
        self._by_user: dict[int, set[SocketContext]] = {}

    def sockets_of(self, user_id: int) -> int:
        return len(self._by_user.get(user_id, ()))

    def add(self, socket: SocketContext) -> None:
        """Count `socket` for its user; 1008 when the user already has the most allowed."""
        user_id = socket.viewer.user_id
        assert user_id is not None
        sockets = self._by_user.setdefault(user_id, set())
        if len(sockets) >= self.max_per_user:
            raise SocketRefused(CLOSE_POLICY, "Too many sockets")
        sockets.add(socket)

    def remove(self, socket: SocketContext) -> None:
        socket.release()
        user_id = socket.viewer.user_id
        sockets = self._by_user.get(user_id) if user_id is not None else None
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_user[user_id]  # type: ignore[arg-type]

    def close_ended(self, session_id: str | None, user_id: int | None) -> None:
        """LiveSessions' observer: close the sockets of a login (or user) that ended."""
        if user_id is not None:
            targets = list(self._by_user.get(user_id, ()))
        else:
            targets = [
                socket
                for sockets in self._by_user.values()
                for socket in sockets
                if socket.viewer.session_id == session_id
            ]
        for socket in targets:
            socket.close_soon(CLOSE_FORBIDDEN, "Session ended")

    def listener_state(self, listening: bool) -> None:
        """The listener's observer: while it is down, events would be missed unseen."""
        if not listening:
            closing = [socket for sockets in self._by_user.values() for socket in sockets]
            if closing:
                logger.warning("event listener lost; closing %d sockets", len(closing))
            for socket in closing:
                socket.close_soon(CLOSE_TRY_AGAIN_LATER, "Event listener lost")
