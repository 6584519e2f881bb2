"""A circuit breaker for PostgreSQL: fail fast while the database is unreachable.

In a network partition packets are dropped, not refused: a connection attempt or a
statement hears nothing back, and only its own deadline (asyncpg's connect `timeout` and
`command_timeout`, DB_CONNECT_TIMEOUT_SECONDS and DB_COMMAND_TIMEOUT_SECONDS) ends the
wait. Without a breaker every new request would queue for the pool behind the hung
connections and wait out those deadlines in turn.

So once the database is known unreachable (a connection attempt refused or timed out, a
statement timed out), the breaker opens: every checkout from the pool fails at once
with `ServiceUnavailable` (503 with Retry-After, `extensions.retryAfter`), and a
background probe connects on its own every DB_PROBE_INTERVAL_SECONDS, outside the pool,
until one attempt gets an answer to `SELECT 1`; that closes the breaker, and the pool
serves again. A connection lost otherwise (a restarted server) only asks for a probe
now: the breaker opens if that probe fails too.

Work that committed is never answered 503 because of the breaker: it only refuses new
checkouts, and the web layer's status choice honours commits (`web/outcomes.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from errors import ServiceUnavailable

logger = logging.getLogger("taskql.database")

Probe = Callable[[], Awaitable[None]]


class DatabaseBreaker:
    """Open while the database is unreachable; `check()` raises ServiceUnavailable then."""

    def __init__(self, probe: Probe, *, interval_seconds: float, timeout_seconds: float) -> None:
        self._probe = probe
        self.interval_seconds = interval_seconds
        self.timeout_seconds = timeout_seconds
        self.is_open = False
        self._task: asyncio.Task[None] | None = None

    def check(self) -> None:
        if self.is_open:
            raise ServiceUnavailable

    def trip(self, reason: str) -> None:
        """The database is unreachable: refuse checkouts until a probe gets through."""
        if not self.is_open:
            logger.warning("database unreachable (%s): failing fast until it answers", reason)
            self.is_open = True
        self._start(self._probe_until_answered)

    def suspect(self, reason: str) -> None:
        """A connection was lost: probe once now, and open if the database does not answer."""
        if not self.is_open:
            self._start(lambda: self._probe_once(reason))

    def _start(self, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(run(), name="taskql-database-probe")

    async def _answers(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._probe()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    async def _probe_once(self, reason: str) -> None:
        if not await self._answers():
            self.is_open = True
            logger.warning("database unreachable (%s): failing fast until it answers", reason)
            await self._probe_until_answered()

    async def _probe_until_answered(self) -> None:
        while True:
            if await self._answers():
                break
            await asyncio.sleep(self.interval_seconds)
        self.is_open = False
        logger.warning("database answers again")

    async def close(self) -> None:
        """Stop probing (at shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class GuardedQueuePool(AsyncAdaptedQueuePool):
    """The engine's pool: a checkout asks the breaker first, so an open one fails at once
    instead of waiting for a connection that hung."""

    breaker: DatabaseBreaker | None = None

    def _do_get(self) -> ConnectionPoolEntry:
        breaker = self.breaker
        if breaker is not None:
            breaker.check()
        return super()._do_get()

    def recreate(self) -> GuardedQueuePool:
        pool = super().recreate()
        assert isinstance(pool, GuardedQueuePool)
        pool.breaker = self.breaker
        return pool


def asyncpg_probe(dsn: str, *, timeout_seconds: float) -> Probe:
    """Connect on a fresh connection (outside the pool), `SELECT 1`, close."""

    async def probe() -> None:
        connection = await asyncpg.connect(dsn, timeout=timeout_seconds)
        try:
            await connection.fetchval("SELECT 1", timeout=timeout_seconds)
        finally:
            connection.terminate()

    return probe


def guard_engine(
    engine: AsyncEngine,
    breaker: DatabaseBreaker,
    *,
    connection_failure: Callable[[BaseException], bool],
) -> None:
    """Put `breaker` in front of `engine`'s pool and feed it what the engine sees.

    `connection_failure(error)`: whether an error means the connection failed
    (`db.engine.lost_connection`).
    """
    pool = engine.sync_engine.pool
    if not isinstance(pool, GuardedQueuePool):
        raise TypeError("the engine must be created with poolclass=GuardedQueuePool")
    pool.breaker = breaker

    def connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as error:
            if connection_failure(error):  # refused, timed out, server not accepting
                breaker.trip(f"connecting: {type(error).__name__}")
            raise

    def failed(context: ExceptionContext) -> None:
        error = context.original_exception
        if isinstance(error, TimeoutError):  # asyncpg's command_timeout
            breaker.trip("a statement timed out")
        elif context.is_disconnect or connection_failure(error):
            breaker.suspect(f"connection lost: {type(error).__name__}")

    event.listen(engine.sync_engine, "do_connect", connect)
    event.listen(engine.sync_engine, "handle_error", failed)


__all__ = ["DatabaseBreaker", "GuardedQueuePool", "asyncpg_probe", "guard_engine"]
