"""The whole mdmflow stack for end-to-end tests: bridge + worker + simulated MDM server.

Everything is real and talks over loopback HTTP: the simulator's devices post their reports
to the bridge's ``/webhook``, the bridge signals the workflow on the Temporal server, the
worker's activities enqueue and push to the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from mdmflow.bridge.intake import IntakeTiming
from mdmflow.bridge.server import running_bridge
from mdmflow.config import Settings
from mdmflow.simulator import Simulator, SimulatorConfig, run_simulator
from mdmflow.simulator.simulator import SessionHold
from mdmflow.store.database import Database
from mdmflow.store.intake import IntakeStore
from mdmflow.worker import build_fleet_worker, build_worker, worker_activities
from mdmflow.workflows.event_handlers import MDMEventHandler
from mdmflow.workflows.registry import EVENT_HANDLERS
from tests.support.codec import TEST_CODEC_KEY
from tests.support.started import StartRecorder, recording_client

API_KEY = "test-api-key"
MDM_KEY = "test-mdm-key"
DRAIN_TIMEOUT_S = 60.0


@dataclass
class Stack:
    client: Client
    settings: Settings
    sim: Simulator
    bridge_url: str
    db: Database
    worker: Worker
    started: StartRecorder
    """Every workflow started through ``client``, the bridge's event deliveries included."""

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue

    def api(self) -> httpx.AsyncClient:
        """An HTTP client for the bridge, authenticated for the /v1 API."""
        return httpx.AsyncClient(base_url=self.bridge_url, auth=("nanocmd", API_KEY), timeout=30)


class ClockHold:
    """Keeps the time-skipping test server from skipping time while simulated devices talk.

    Between a push and the device's answer nothing runs in Temporal, so the test server would
    jump straight to the next timer (a re-push a day later) while the answer is still in flight
    on loopback; the engine would then ask the query again. The server counts locks, and time
    skips only while none is held (``handle.result()`` releases the SDK's own).
    """

    def __init__(self, env: WorkflowEnvironment) -> None:
        self._service = env.client.test_service

    async def acquire(self) -> None:
        await self._service.lock_time_skipping(LockTimeSkippingRequest())

    async def release(self) -> None:
        await self._service.unlock_time_skipping(UnlockTimeSkippingRequest())


@contextlib.asynccontextmanager
async def running_stack(
    client: Client,
    database_url: str,
    *,
    mode: str = "nanomdm",
    devices: int = 3,
    extra_workflows: Sequence[type] = (),
    extra_event_handlers: Sequence[type[MDMEventHandler]] = (),
    settings: dict[str, Any] | None = None,
    simulator: dict[str, Any] | None = None,
    hold: SessionHold | None = None,
    intake_store: Callable[[Database], IntakeStore] = IntakeStore,
    intake_timing: IntakeTiming | None = None,
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
        "codec_key": TEST_CODEC_KEY,
    }
    base = Settings(**{**values, **(settings or {})})
    started = StartRecorder()
    client = recording_client(client, started)
    async with contextlib.AsyncExitStack() as stack:
        bridge_url = await stack.enter_async_context(
            running_bridge(
                base,
                client,
                (*EVENT_HANDLERS, *extra_event_handlers),
                intake_timing,
                intake_store=intake_store,
            )
        )
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
        sim.hold = hold
        full = base.model_copy(
            update={"enqueue_url": sim.enqueue_url(sim_url), "push_url": sim.push_url(sim_url)}
        )
        db = await Database.open(database_url)
        stack.push_async_callback(db.close)
        activities = await stack.enter_async_context(worker_activities(full, db))
        worker = build_worker(client, full, activities, (*extra_workflows, *extra_event_handlers))
        await stack.enter_async_context(worker)
        await stack.enter_async_context(build_fleet_worker(client, full, activities))
        handlers = (*EVENT_HANDLERS, *extra_event_handlers)
        stack.push_async_callback(_drain_event_handlers, client, sim, started, handlers)
        yield Stack(
            client=client,
            settings=full,
            sim=sim,
            bridge_url=bridge_url,
            db=db,
            worker=worker,
            started=started,
        )


async def _drain_event_handlers(
    client: Client,
    sim: Simulator,
    started: StartRecorder,
    handlers: Sequence[type[MDMEventHandler]],
) -> None:
    """Let the event-handler workflows the bridge started end while the worker still runs.

    One left behind with a workflow task nobody polls would stop the time-skipping test server
    from ever skipping time again, for every later test of the session.
    """

    async def closed(workflow_id: str) -> None:
        with contextlib.suppress(WorkflowFailureError):
            await client.get_workflow_handle(workflow_id).result()

    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            await sim.wait_until_quiet()
            ids = [wid for handler in handlers for wid in started.ids(handler.config.name)]
            await asyncio.gather(*(closed(wid) for wid in ids))
    except TimeoutError:
        raise AssertionError(
            f"event-handler workflows or device sessions still running {DRAIN_TIMEOUT_S:.0f} s "
            "after the test"
        ) from None
