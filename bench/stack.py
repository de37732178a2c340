"""mdmflow's own processes for the bench, composed in this process as in production.

Bridge, simulator and worker talk over loopback HTTP exactly as ``mdmflow dev`` wires them,
but without the test harness's extras (the tests' stack adds a start-recording interceptor and
a drain at exit), so only production code sits on the measured path. The worker also runs the
bench-only ``bench.steps`` workflow (K steps in one run), registered as tests register theirs.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from bench.steps_workflow import BenchStepsWorkflow
from bench.timed_simulator import TimedSimulator
from mdmflow.bridge.server import running_bridge
from mdmflow.config import Settings
from mdmflow.crypto.keyring import new_key_entry
from mdmflow.httpserver import serve_app
from mdmflow.simulator import SimulatorConfig, create_app
from mdmflow.store.database import Database
from mdmflow.store.intake import IntakeStore
from mdmflow.temporal_client import connect
from mdmflow.worker import build_fleet_worker, build_worker, worker_activities


@dataclass(frozen=True)
class MDMStack:
    client: Client
    settings: Settings
    sim: TimedSimulator
    bridge_url: str
    """The bridge's base URL (loopback); its ``/v1`` API takes ``settings.api_key``."""

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue


def bench_settings(address: str, data_dir: Path, database_url: str) -> Settings:
    """Fresh secrets, a fresh task queue and every file in the run's temp dir."""
    return Settings(
        listen="127.0.0.1:0",
        api_key=secrets.token_urlsafe(16),
        enqueue_api_key=secrets.token_urlsafe(16),
        codec_key=new_key_entry(),
        data_dir=data_dir,
        database_url=database_url,
        task_queue=f"bench-mdmflow-{uuid.uuid4()}",
        temporal_address=address,
        temporal_namespace="default",
    )


@contextlib.asynccontextmanager
async def running_mdmflow(
    base: Settings,
    devices: int,
    intake_store: Callable[[Database], IntakeStore] = IntakeStore,
    seed: int = 0,
) -> AsyncIterator[MDMStack]:
    """Bridge, simulator with ``devices`` devices and worker, on a client built by ``connect``.
    Stacks that share a server and app database need their own ``seed``: it makes the
    simulated devices' enrollment IDs, so their workflow IDs."""
    client = await connect(base)
    async with contextlib.AsyncExitStack() as stack:
        bridge_url = await stack.enter_async_context(
            running_bridge(base, client, intake_store=intake_store)
        )
        sim = await stack.enter_async_context(
            TimedSimulator(
                SimulatorConfig(
                    api_key=base.enqueue_api_key,
                    webhook_url=f"{bridge_url}/webhook",
                    devices=devices,
                    seed=seed,
                )
            )
        )
        sim_url = await stack.enter_async_context(serve_app(create_app(sim)))
        settings = base.model_copy(
            update={"enqueue_url": sim.enqueue_url(sim_url), "push_url": sim.push_url(sim_url)}
        )
        db = await Database.open(settings.resolved_database_url)
        stack.push_async_callback(db.close)
        activities = await stack.enter_async_context(worker_activities(settings, db))
        await stack.enter_async_context(
            build_worker(client, settings, activities, extra_workflows=[BenchStepsWorkflow])
        )
        await stack.enter_async_context(build_fleet_worker(client, settings, activities))
        yield MDMStack(client=client, settings=settings, sim=sim, bridge_url=bridge_url)
