"""The whole mdmflow stack for end-to-end tests: bridge + worker + simulated MDM server.

Everything is real and talks over loopback HTTP: the simulator's devices post their reports
to the bridge's ``/webhook``, the bridge signals the workflow on the Temporal server, the
worker's activities enqueue and push to the simulator.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from mdmflow.bridge.server import running_bridge
from mdmflow.config import Settings
from mdmflow.simulator import Simulator, SimulatorConfig, run_simulator
from mdmflow.store.database import Database
from mdmflow.worker import build_worker, worker_activities

API_KEY = "test-api-key"
MDM_KEY = "test-mdm-key"


@dataclass
class Stack:
    client: Client
    settings: Settings
    sim: Simulator
    bridge_url: str
    db: Database
    worker: Worker

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue

    def api(self) -> httpx.AsyncClient:
        """An HTTP client for the bridge, authenticated for the /v1 API."""
        return httpx.AsyncClient(base_url=self.bridge_url, auth=("nanocmd", API_KEY), timeout=30)


@contextlib.asynccontextmanager
async def running_stack(
    client: Client,
    database_url: str,
    *,
    mode: str = "nanomdm",
    devices: int = 3,
    extra_workflows: Sequence[type] = (),
    settings: dict[str, Any] | None = None,
    simulator: dict[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    """Start bridge, simulator and worker on a fresh task queue; stop them on exit.

    Each stack gets a fresh fleet (a new seed) unless the caller fixes one, so tests sharing
    the session's Temporal server never meet each other's workflow IDs.
    """
    values: dict[str, Any] = {
        "listen": "127.0.0.1:0",
        "api_key": API_KEY,
        "database_url": database_url,
        "task_queue": f"test-{uuid.uuid4()}",
        "micromdm": mode == "micromdm",
        "enqueue_api_key": MDM_KEY,
    }
    base = Settings(**{**values, **(settings or {})})
    async with contextlib.AsyncExitStack() as stack:
        bridge_url = await stack.enter_async_context(running_bridge(base, client))
        sim, sim_url = await stack.enter_async_context(
            run_simulator(
                SimulatorConfig(
                    mode="micromdm" if mode == "micromdm" else "nanomdm",
                    api_key=MDM_KEY,
                    webhook_url=f"{bridge_url}/webhook",
                    devices=devices,
                    **{"seed": uuid.uuid4().int % 2**32, **(simulator or {})},
                ),
                "127.0.0.1",
                0,
            )
        )
        full = base.model_copy(
            update={"enqueue_url": sim.enqueue_url(sim_url), "push_url": sim.push_url(sim_url)}
        )
        db = await Database.open(database_url)
        stack.push_async_callback(db.close)
        activities = await stack.enter_async_context(worker_activities(full, db))
        worker = build_worker(client, full, activities, extra_workflows)
        await stack.enter_async_context(worker)
        yield Stack(
            client=client, settings=full, sim=sim, bridge_url=bridge_url, db=db, worker=worker
        )
