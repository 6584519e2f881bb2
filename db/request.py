"""A request's way to the database: an ORM session for writes, a connection for reads.

Both are opened on first use, so a request that touches the database only through
its dataloaders pays for no ORM session, and one answered from caches (a live login
remembered, `{ __typename }`) pays for nothing at all.

- A mutation's reads and writes share one transactional session: reads see what the
  mutation wrote, and everything commits or rolls back together.
- A query reads on a bare `AsyncConnection` in autocommit mode (under READ COMMITTED
  each statement sees its own snapshot, so a transaction around reads only adds the
  BEGIN and ROLLBACK round trips). An ORM session, with its identity map, snapshots
  and transaction bookkeeping, costs a query three times the connection it wraps
  (`bench/hot_path.py`); its `session` is still there, opened on first use.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker


class Reads(Protocol):
    """Where reads run: `connection()` opens (once) and returns the request's connection;
    `statements` is held around each statement, as a connection runs one at a time;
    `ending()` says the request is being cancelled (timed out, client gone)."""

    statements: asyncio.Lock

    async def connection(self) -> AsyncConnection: ...

    def ending(self) -> bool: ...


class RequestDatabase:
    """One request's session and read connection, each opened on first use; `close` ends both.

    Not safe for concurrent first use: the dataloaders take their lock before reading.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        read_engine: AsyncEngine | None = None,
    ) -> None:
        """`read_engine`: where reads get their own connection; None reads on the session."""
        self._session_factory = session_factory
        self._read_engine = read_engine
        self._session: AsyncSession | None = None
        self._connection: AsyncConnection | None = None
        self._closed = False
        self.statements = asyncio.Lock()
        self._owner = asyncio.current_task()

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._refuse_if_closed()
            self._session = self._session_factory()
        return self._session

    async def connection(self) -> AsyncConnection:
        if self._read_engine is None:
            session = self.session
            connection = await session.connection()
            if self._closed:  # the request ended while this waited: give it back
                await session.close()
                self._refuse_if_closed()
            return connection
        if self._connection is None:
            self._refuse_if_closed()
            connection = await self._read_engine.connect()
            if self._closed:  # the request ended while this connected: give it back
                await connection.close()
                self._refuse_if_closed()
            self._connection = connection
        return self._connection

    def _refuse_if_closed(self) -> None:
        """A dataloader batch still running after its request ended (timed out, or its
        fields cancelled because a sibling failed) must not take a pooled connection that
        nothing would return, even one it was already waiting for when `close` ran."""
        if self._closed:
            raise RuntimeError("the request's database access has been closed")

    def ending(self) -> bool:
        """Whether the request this belongs to is being cancelled: then nothing waits for
        a statement to end (the time limit, or a client that went away, comes first)."""
        owner = self._owner
        return owner is not None and owner.cancelling() > 0

    async def close(self) -> None:
        """End both, once the statement running (a dataloader batch that outlived its
        fields, say) has ended: a connection is never handed back mid-statement. A
        request being cancelled closes at once, as its statements are cancelled too."""
        self._closed = True
        if self.ending():
            await self._close()
            return
        async with self.statements:
            await self._close()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        session, self._session = self._session, None
        try:
            if connection is not None:
                await connection.close()
        finally:
            if session is not None:
                await session.close()

    async def __aenter__(self) -> RequestDatabase:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
