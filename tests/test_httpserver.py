"""Keep-alive of the served apps (bridge, simulator): an idle connection stays usable for the
whole keep-alive and is closed after it, the default outlasts every sender's idle timeout so
the sender always closes first, and a long keep-alive does not hold up shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mdmflow.httpserver import (
    GO_IDLE_CONN_TIMEOUT_S,
    GRACEFUL_SHUTDOWN_S,
    KEEP_ALIVE_S,
    serve_app,
)

WAIT_SECONDS = 10  # a safety net against hangs only


async def peer(request: Request) -> Response:
    """The client's port: two answers with the same port came over the same connection."""
    assert request.client is not None
    return PlainTextResponse(str(request.client.port))


APP = Starlette(routes=[Route("/peer", peer)])


class Connection:
    """One raw HTTP/1.1 connection, so the test sees exactly when the server closes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        return cls(*await asyncio.open_connection(parts.hostname, parts.port))

    async def get(self, path: str) -> str:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        await self.writer.drain()
        async with asyncio.timeout(WAIT_SECONDS):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status, *header_lines = head.decode().split("\r\n")
            assert status.startswith("HTTP/1.1 200"), status
            headers = dict(line.lower().split(": ", 1) for line in header_lines if line)
            assert headers.get("connection") != "close"
            body = await self.reader.readexactly(int(headers["content-length"]))
        return body.decode()

    async def closed_by_server(self) -> None:
        """Wait for the server's close (EOF); fails if it sends anything instead."""
        assert await asyncio.wait_for(self.reader.read(), WAIT_SECONDS) == b""

    def close(self) -> None:
        self.writer.close()


async def test_an_idle_connection_is_usable_for_the_whole_keep_alive_and_closed_after_it() -> None:
    keep_alive = 1
    loop = asyncio.get_running_loop()
    async with serve_app(APP, keep_alive_s=keep_alive) as url:
        conn = await Connection.open(url)
        try:
            first = await conn.get("/peer")
            # Idle for half the keep-alive: the server neither closes nor sends anything...
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(conn.reader.read(1), keep_alive / 2)
            # ...and the connection still carries the next request.
            assert await conn.get("/peer") == first
            idle_from = loop.time()
            await conn.closed_by_server()
            idle = loop.time() - idle_from
        finally:
            conn.close()
    # Measured from after the answer was read, so never longer than the server's wait.
    assert keep_alive * 0.8 <= idle < keep_alive + 2


async def test_shutdown_closes_idle_connections_at_once_despite_the_long_keep_alive() -> None:
    loop = asyncio.get_running_loop()
    conn: Connection | None = None
    try:
        async with contextlib.AsyncExitStack() as running:
            url = await running.enter_async_context(serve_app(APP))  # default keep-alive
            conn = await Connection.open(url)
            await conn.get("/peer")
            stopping = loop.time()
            await asyncio.wait_for(running.aclose(), WAIT_SECONDS)
            stopped = loop.time() - stopping
        await conn.closed_by_server()
    finally:
        if conn is not None:
            conn.close()
    assert stopped < GRACEFUL_SHUTDOWN_S / 2


def test_served_apps_keep_idle_connections_longer_than_every_sender() -> None:
    """The bridge and the simulator serve with the default, which must outlast NanoMDM's Go
    client (90 s) and httpx's pool (the simulator's webhook posts, the worker's MDM calls)."""
    assert inspect.signature(serve_app).parameters["keep_alive_s"].default == KEEP_ALIVE_S
    assert KEEP_ALIVE_S > GO_IDLE_CONN_TIMEOUT_S
    expiry = httpx.Limits().keepalive_expiry
    assert expiry is not None
    assert expiry < KEEP_ALIVE_S
