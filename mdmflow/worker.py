"""Build and run the Temporal worker with every MDM workflow and every activity."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from mdmflow.activities.content import ContentActivities
from mdmflow.activities.filevault_keys import FileVaultActivities
from mdmflow.activities.fleet import FleetActivities
from mdmflow.activities.fleet_models import fleet_task_queue
from mdmflow.activities.inventory import InventoryActivities
from mdmflow.activities.lock import LockActivities
from mdmflow.activities.mdm import MDMActivities
from mdmflow.activities.mdm_client import MDMClient, MDMServer, mdm_session
from mdmflow.activities.models import EngineSettings
from mdmflow.activities.stored_values import StoredValueReader
from mdmflow.config import Settings
from mdmflow.crypto.sealed import SecretBox
from mdmflow.requirements import RequirementChecker
from mdmflow.store.database import Database
from mdmflow.store.escrow_identity import EscrowIdentityStore
from mdmflow.store.fleet_ids import FleetIdStore
from mdmflow.store.inventory import InventoryStore
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.profiles import ProfileStore
from mdmflow.store.routes import RouteStore
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.workflow_runner import CompactWorkflowRunner
from mdmflow.workflows.fleet_start import FleetStartWorkflow
from mdmflow.workflows.registry import EVENT_HANDLERS, WORKFLOWS


@dataclass(frozen=True)
class WorkerActivities:
    """Every activity object of one worker: the engine's and the subsystems'."""

    mdm: MDMActivities
    inventory: InventoryActivities
    content: ContentActivities
    filevault: FileVaultActivities
    lock: LockActivities
    fleet: FleetActivities

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity, for the worker's registration."""
        return [
            *self.mdm.all(),
            *self.inventory.all(),
            *self.content.all(),
            *self.filevault.all(),
            *self.lock.all(),
            *self.fleet.all(),
        ]


def build_worker(
    client: Client,
    settings: Settings,
    activities: WorkerActivities,
    extra_workflows: Sequence[type] = (),
) -> Worker:
    """The worker, sized for a fleet of waiting devices on one process.

    - ``max_cached_workflows`` 2,000: a device's workflow waits days for answers; out of the
      cache, each signal replays its history (measured here: throughput falls about 80 % with
      the cache off). A cached parked devinfolog cost the worker 76 to 83 KiB of RSS (bare
      Temporal's one-signal workflow 55 KiB, measured with 1,500 parked and cached) before
      ``CompactWorkflowRunner``; past the cache the oldest are evicted and replayed on their
      next signal, which is correct, only slower.
    - Slots and pollers stay at the SDK's defaults (100 per kind, 5 pollers): on two cores the
      Temporal server, not the worker, is the limit (the bench's CPU per process shows it).
    - ``sticky_queue_schedule_to_start_timeout`` 3 s: a task for a workflow cached on a dead
      worker waits this long on that worker's own queue before any worker may take it (the
      SDK's default is 10 s; the fault suite measured a killed worker's waiting step resume
      after 10.1 s with it).
    - Workflows run without the SDK's sandbox (``CompactWorkflowRunner``, the SDK's
      ``UnsandboxedWorkflowRunner`` holding less per cached run). The sandbox
      re-imports the workflow module for every run and, with the payload codec, compiles and
      runs a snippet for every payload it encodes; measured with the bench's CPU per round
      (separate processes, 200 start → step → complete rounds), the worker spent 20.7 to 21.1 ms
      per round sandboxed and 15.3 to 16.6 ms without. What the sandbox guards against (a
      non-deterministic call in workflow code) is still caught before it ships: the replay
      test runs every recorded history through the SDK's ``Replayer``, which keeps the
      sandbox and its restrictions. Workflow modules still import their models and helpers
      through the pass-through, so they read the same either way.
    """
    return Worker(
        client,
        task_queue=settings.task_queue,
        # FleetStartWorkflow and its activities for fan-outs begun before they had their own
        # queue (their continued runs stay on this one).
        workflows=[*WORKFLOWS.values(), *EVENT_HANDLERS, FleetStartWorkflow, *extra_workflows],
        activities=activities.all(),
        max_cached_workflows=2000,
        graceful_shutdown_timeout=timedelta(seconds=10),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
        workflow_runner=CompactWorkflowRunner(),
    )


@contextlib.asynccontextmanager
async def worker_activities(settings: Settings, db: Database) -> AsyncIterator[WorkerActivities]:
    """Every activity, with a pooled HTTP client to the MDM server, closed on exit."""
    settings.require_mdm_server()
    box = SecretBox(settings.keyring())
    inventory = InventoryStore(db)
    secrets = InventorySecretStore(db, box)
    server = MDMServer(
        enqueue_url=settings.enqueue_url,
        push_url=settings.push_url,
        user=settings.mdm_user,
        api_key=settings.enqueue_api_key,
        micromdm=settings.micromdm,
    )
    async with mdm_session() as http:
        mdm = MDMActivities(
            client=MDMClient(server, http),
            routes=RouteStore(db),
            payloads=PayloadStore(db),
            starts=WorkflowStartStore(db),
            engine_settings=EngineSettings(
                step_timeout_s=settings.step_timeout,
                repush_interval_s=settings.repush_interval,
            ),
            stored=StoredValueReader(ProfileStore(db), secrets),
        )
        yield WorkerActivities(
            mdm=mdm,
            inventory=InventoryActivities(inventory),
            content=ContentActivities(RequirementChecker.of(db)),
            filevault=FileVaultActivities(
                EscrowIdentityStore(db, box), ProfileStore(db), inventory, secrets
            ),
            lock=LockActivities(inventory, secrets),
            fleet=FleetActivities(FleetIdStore(db)),
        )


def build_fleet_worker(client: Client, settings: Settings, activities: WorkerActivities) -> Worker:
    """The fan-outs' worker, on their own task queue in the same process: a fan-out's next
    page then never waits behind the device tasks it created. Few fan-outs run at once, and
    each page is one long activity, so the SDK's slot defaults are ample and the cache small."""
    return Worker(
        client,
        task_queue=fleet_task_queue(settings.task_queue),
        workflows=[FleetStartWorkflow],
        activities=activities.fleet.all(),
        max_cached_workflows=100,
        graceful_shutdown_timeout=timedelta(seconds=10),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
        workflow_runner=CompactWorkflowRunner(),
    )


async def run_worker(
    settings: Settings, client: Client, extra_workflows: Sequence[type] = ()
) -> None:
    """Run both workers until cancelled (Ctrl-C in ``mdmflow worker`` or ``mdmflow dev``);
    if one fails, the other is stopped too. ``extra_workflows`` are registered beside
    mdmflow's (the bench's worker process adds its K-step workflow)."""
    db = await Database.open(settings.resolved_database_url)
    try:
        async with worker_activities(settings, db) as activities, asyncio.TaskGroup() as group:
            worker = build_worker(client, settings, activities, extra_workflows)
            group.create_task(worker.run())
            group.create_task(build_fleet_worker(client, settings, activities).run())
    finally:
        await db.close()
