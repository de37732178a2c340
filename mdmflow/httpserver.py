"""Serve an ASGI app with uvicorn inside the current event loop (bridge, simulator, tests).

Idle keep-alive connections are kept open longer than the clients that post to us keep theirs
(see ``KEEP_ALIVE_S``): whichever side closes an idle connection races the other side's next
request on it, and only the client knows when it is about to send. NanoMDM's Go client keeps
idle connections 90 s and does not replay a POST that died on a connection the server was
closing, so with uvicorn's 5 s default a device report could be lost between the two.

Requests are parsed by httptools (C), not h11 (pure Python): h11 was most of what uvicorn
cost the bridge per webhook (see ``mdmflow.event_loop`` for the figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp

GO_IDLE_CONN_TIMEOUT_S = 90
"""``http.DefaultTransport.IdleConnTimeout``: how long NanoMDM keeps an idle connection."""
KEEP_ALIVE_S = 120
"""Idle keep-alive connections outlive every sender's (Go's 90 s, httpx's 5 s), so the client
always closes first. Shutdown does not wait for them: uvicorn closes idle connections at once
and lets a connection in the middle of a request finish it, up to ``GRACEFUL_SHUTDOWN_S``."""
GRACEFUL_SHUTDOWN_S = 5


class ServerStartError(RuntimeError):
    """The HTTP server did not come up (port in use, bad host)."""


@contextlib.asynccontextmanager
async def serve_app(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, keep_alive_s: int = KEEP_ALIVE_S
) -> AsyncIterator[str]:
    """Run ``app`` until the block exits; yields its base URL (``port=0`` picks a free port).

    ``keep_alive_s`` is how long an idle connection stays open after its last response; only
    tests of that timeout should pass anything but the default.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections (else ~40 ms stalls).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerStartError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http="httptools",
        timeout_keep_alive=keep_alive_s,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise ServerStartError(f"HTTP server on {host}:{bound_port} stopped at start")
            await asyncio.sleep(0.01)
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{bound_port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
