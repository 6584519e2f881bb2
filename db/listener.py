"""A process's one LISTEN connection to PostgreSQL, shared by everything that listens.

Ended sessions (`auth/live_sessions.py`) and task changes (`db/events.py`) arrive as
NOTIFY on their channels; each channel has one handler. Whoever must know whether
notifications can be missed registers a state handler: it hears `True` once the
connection listens on every channel and `False` the moment it is lost (a
termination, a failed keepalive), before the listener reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import asyncpg

logger = logging.getLogger("taskql.listener")

RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0)
KEEPALIVE_SECONDS = 5.0

NotificationHandler = Callable[[str], None]
StateHandler = Callable[[bool], None]


class NotificationListener:
    def __init__(self, dsn: str, *, connect_timeout: float) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._channels: dict[str, NotificationHandler] = {}
        self._state_handlers: list[StateHandler] = []
        self._listening = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def wait_listening(self, seconds: float) -> bool:
        """Whether the listener is (or within `seconds` becomes) connected."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._listening.wait()
        return self.listening

    def on(self, channel: str, handler: NotificationHandler) -> None:
        """Call `handler(payload)` for each notification on `channel` (before `run`)."""
        self._channels[channel] = handler

    def on_state(self, handler: StateHandler) -> None:
        self._state_handlers.append(handler)

    def _set_state(self, listening: bool) -> None:
        if listening:
            self._listening.set()
        else:
            self._listening.clear()
        for handler in self._state_handlers:
            handler(listening)

    async def run(self) -> None:
        """Run until cancelled: keep a LISTEN connection, reconnecting after any loss."""
        attempt = 0
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                attempt += 1
                logger.warning(
                    "listener cannot connect (%s); retrying in %.1fs", type(error).__name__, delay
                )
                await asyncio.sleep(delay)
                continue
            attempt = 0
            try:
                connection.add_termination_listener(partial(_set_on_termination, lost))
                for channel, handler in self._channels.items():
                    await connection.add_listener(channel, partial(_dispatch, handler))
                self._set_state(True)
                while not lost.is_set():
                    await self._keep_alive(connection, lost)
                logger.warning("listener lost its connection; reconnecting")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                logger.warning("listener failed (%s); reconnecting", type(error).__name__)
            finally:
                if self.listening:
                    self._set_state(False)
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self._connect_timeout):
                        await connection.close()

    async def _keep_alive(self, connection: Any, lost: asyncio.Event) -> None:
        """Wait for the connection's loss, and notice one that died silently (no FIN).

        `asyncio.timeout`, not `wait_for`: Python 3.11's `wait_for` can swallow a
        cancellation that arrives as its awaitable finishes, and the listener would
        then never stop.
        """
        try:
            async with asyncio.timeout(KEEPALIVE_SECONDS):
                await lost.wait()
        except TimeoutError:
            async with asyncio.timeout(self._connect_timeout):
                await connection.fetchval("SELECT 1")


def _dispatch(
    handler: NotificationHandler, _connection: Any, _pid: int, _channel: str, payload: str
) -> None:
    try:
        handler(payload)
    except Exception:
        logger.exception("a notification handler failed")


def _set_on_termination(lost: asyncio.Event, _connection: Any) -> None:
    lost.set()
