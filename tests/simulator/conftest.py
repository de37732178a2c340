"""Fixtures: a webhook receiver on loopback and simulators (NanoMDM and MicroMDM) posting to it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mdmflow.httpserver import serve_app
from mdmflow.mdm.commands import MDMCommand
from mdmflow.simulator import Simulator, SimulatorConfig, run_simulator
from tests.simulator.receiver import WebhookReceiver

API_KEY = "sim-test-key"


@dataclass(frozen=True)
class Harness:
    """A running simulator, its base URL and an authenticated client for its API."""

    sim: Simulator
    url: str
    client: httpx.AsyncClient

    @property
    def udids(self) -> list[str]:
        return self.sim.enrollment_ids()

    async def enqueue(
        self, ids: list[str], command: MDMCommand, *, nopush: bool = False
    ) -> tuple[str, httpx.Response]:
        """Enqueue a fresh command the way mdmflow does; returns its UUID and the reply."""
        command_uuid = str(uuid.uuid4())
        url = self.sim.enqueue_url(self.url) + ",".join(ids)
        params = {"nopush": "1"} if nopush else {}
        reply = await self.client.put(url, content=command.to_plist(command_uuid), params=params)
        return command_uuid, reply

    async def push(self, ids: list[str]) -> httpx.Response:
        return await self.client.get(self.sim.push_url(self.url) + ",".join(ids))


@contextlib.asynccontextmanager
async def simulated(receiver: WebhookReceiver, **options: Any) -> AsyncIterator[Harness]:
    """A simulator reporting to ``receiver``; ``options`` override SimulatorConfig fields."""
    config = SimulatorConfig.model_validate(
        {"api_key": API_KEY, "webhook_url": receiver.url, **options}
    )
    auth = (config.auth_user, API_KEY)
    async with (
        run_simulator(config, "127.0.0.1", 0) as (sim, url),
        httpx.AsyncClient(auth=auth, timeout=20) as client,
    ):
        yield Harness(sim, url, client)


@pytest.fixture(scope="session")
async def shared_receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    async with serve_app(hook.app, "127.0.0.1", 0) as base:
        hook.url = f"{base}/webhook"
        yield hook


@pytest.fixture
def receiver(shared_receiver: WebhookReceiver) -> WebhookReceiver:
    """The shared receiver, emptied; each test's simulator is closed before the next test."""
    shared_receiver.reset()
    return shared_receiver


@pytest.fixture
async def nano(receiver: WebhookReceiver) -> AsyncIterator[Harness]:
    async with simulated(receiver) as harness:
        yield harness


@pytest.fixture
async def micro(receiver: WebhookReceiver) -> AsyncIterator[Harness]:
    async with simulated(receiver, mode="micromdm") as harness:
        yield harness
