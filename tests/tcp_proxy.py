"""A TCP forwarder on 127.0.0.1 that a test can cut and restore, to play a database outage.

Two kinds of outage:
- `stop()`: the server is gone; connections are reset and new ones refused, so clients
  learn at once.
- `blackhole()`: a network partition; packets are dropped, not refused. Connections
  are still accepted, but nothing is forwarded either way until `restore()`, so clients
  hear nothing and must rely on their own deadlines. What was sent meanwhile is held
  and delivered on `restore()`, as TCP's retransmissions would deliver it.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    def blackhole(self) -> None:
        """Drop every packet (see the module docstring) until `restore()`."""
        self._flowing.clear()

    def restore(self) -> None:
        """End a `blackhole()`: what was held flows on."""
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection, as a dead server would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.abort_connections()
        self._flowing.set()  # connections held by a blackhole find their client gone

    def abort_connections(self) -> None:
        """Reset every open connection at once (synchronous: usable inside an event hook)."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._flowing.wait()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)
