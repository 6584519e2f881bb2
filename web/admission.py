"""Admission: how many queries a worker executes at once, and in what order the rest start.

A worker is one thread: queries beyond a handful only interleave, each holding a
pooled connection and its half-built result while the others run. Past
`MAX_CONCURRENT_QUERIES`, queries wait their turn here, first come first served
(asyncio's Semaphore is FIFO), rather than inside the connection pool, whose
waiters can be overtaken by newcomers again and again. Under sustained overload
this kept W1's p99 latency near its median and raised its throughput
(bench/README.md). A query that waits longer than `DB_POOL_TIMEOUT_SECONDS`, the
wait the pool itself would have allowed, is answered 503 with `Retry-After`.

Mutations are not held back here: logins and signups spend most of their time
hashing a password without a connection, and must not keep queries waiting.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from errors import ServiceUnavailable


class Admission:
    """An async context manager: at most `limit` holders at once, the rest in arrival order."""

    __slots__ = ("_slots", "_timeout")

    def __init__(self, limit: int, *, timeout_seconds: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._timeout = timeout_seconds

    async def __aenter__(self) -> None:
        slots = self._slots
        if not slots.locked():  # a free slot and nobody queued for it: taken at once
            await slots.acquire()
            return
        try:
            async with asyncio.timeout(self._timeout):
                await slots.acquire()
        except TimeoutError:
            raise ServiceUnavailable() from None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._slots.release()
