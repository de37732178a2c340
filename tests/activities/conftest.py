"""A simulated MDM server with an ``MDMClient`` pointed at it; a webhook sink for its devices."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mdmflow.activities.mdm_client import MDMClient, MDMServer, mdm_session
from mdmflow.httpserver import serve_app
from mdmflow.simulator import Mode, Simulator, SimulatorConfig, run_simulator

MDM_KEY = "activities-mdm-key"


@dataclass(frozen=True)
class MDM:
    sim: Simulator
    url: str
    server: MDMServer
    client: MDMClient

    def requests(self, method: str, prefix: str) -> list[tuple[str, dict[str, str], bytes]]:
        """(path, query, body) of the API requests with this method under ``prefix``."""
        return [
            (r.path, r.query, r.body)
            for r in self.sim.requests
            if r.method == method and r.path.startswith(prefix)
        ]


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def webhook_url() -> AsyncIterator[str]:
    """Accepts every device report with 200, so simulated sessions end cleanly."""

    async def accept(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    app = Starlette(routes=[Route("/webhook", accept, methods=["POST"])])
    async with serve_app(app, "127.0.0.1", 0) as base:
        yield f"{base}/webhook"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with mdm_session(request_timeout_s=10.0) as client:
        yield client


@contextlib.asynccontextmanager
async def simulated_mdm(
    http: aiohttp.ClientSession,
    webhook_url: str,
    mode: Mode = "nanomdm",
    *,
    api_key: str = MDM_KEY,
    **options: Any,
) -> AsyncIterator[MDM]:
    """A simulator in ``mode`` and a client using ``api_key`` (the server's key is MDM_KEY)."""
    config = SimulatorConfig.model_validate(
        {"mode": mode, "api_key": MDM_KEY, "webhook_url": webhook_url, **options}
    )
    async with run_simulator(config, "127.0.0.1", 0) as (sim, url):
        server = MDMServer(
            enqueue_url=sim.enqueue_url(url),
            push_url=sim.push_url(url),
            user=config.auth_user,
            api_key=api_key,
            micromdm=mode == "micromdm",
        )
        yield MDM(sim, url, server, MDMClient(server, http))
        await sim.wait_until_quiet()
