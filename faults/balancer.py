"""A round-robin TCP load balancer in front of the bridge replicas.

The MDM server posts to one webhook URL; production puts a load balancer there. This one
does what a plain TCP balancer with passive health checks does: each new connection goes to
the next backend that accepts it, and when that backend dies the client's connection is cut
(the sender sees the failure, as it would). It adds no retries of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from faults.procs import free_port

_CHUNK = 65536


class Balancer:
    """Listen on a free loopback port; spread connections over ``backends`` (host, port)."""

    def __init__(self, backends: Sequence[tuple[str, int]]) -> None:
        self.backends = list(backends)
        self.port = free_port()
        self.connections = [0] * len(self.backends)
        """Connections handed to each backend so far."""
        self._next = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            _abort(writer)  # the pipes then end by themselves
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            await self._relay(reader, writer)
        finally:
            self._open.discard(writer)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for _ in range(len(self.backends)):
            index = self._next % len(self.backends)
            self._next += 1
            host, port = self.backends[index]
            try:
                upstream = await asyncio.open_connection(host, port)
            except OSError:
                continue
            self.connections[index] += 1
            break
        if upstream is None:
            _abort(writer)
            return
        up_reader, up_writer = upstream
        self._open.add(up_writer)
        pipes = [
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._open.discard(up_writer)
            _abort(up_writer)
            _abort(writer)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Cut the connection at once (no half-close): the peer sees it as a dead server."""
    transport = writer.transport
    with contextlib.suppress(Exception):
        transport.abort()
