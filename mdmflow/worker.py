"""Build and run the Temporal worker with every MDM workflow and the engine's activities."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from mdmflow.activities.mdm import MDMActivities
from mdmflow.activities.mdm_client import MDMClient, MDMServer
from mdmflow.activities.models import EngineSettings
from mdmflow.config import Settings
from mdmflow.store.database import Database
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.routes import RouteStore
from mdmflow.store.starts import WorkflowStartStore
from mdmflow.workflows.registry import EVENT_HANDLERS, WORKFLOWS

MDM_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def build_worker(
    client: Client,
    settings: Settings,
    activities: MDMActivities,
    extra_workflows: Sequence[type] = (),
) -> Worker:
    """The worker caches up to 2,000 workflows: a fleet's waiting devices stay in memory."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[*WORKFLOWS.values(), *EVENT_HANDLERS, *extra_workflows],
        activities=activities.all(),
        max_cached_workflows=2000,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


@contextlib.asynccontextmanager
async def worker_activities(settings: Settings, db: Database) -> AsyncIterator[MDMActivities]:
    """The activities with a pooled HTTP client to the MDM server, closed on exit."""
    settings.require_mdm_server()
    server = MDMServer(
        enqueue_url=settings.enqueue_url,
        push_url=settings.push_url,
        user=settings.mdm_user,
        api_key=settings.enqueue_api_key,
        micromdm=settings.micromdm,
    )
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
    async with httpx.AsyncClient(timeout=MDM_HTTP_TIMEOUT, limits=limits) as http:
        yield MDMActivities(
            client=MDMClient(server, http),
            routes=RouteStore(db),
            payloads=PayloadStore(db),
            starts=WorkflowStartStore(db),
            engine_settings=EngineSettings(
                step_timeout_s=settings.step_timeout,
                repush_interval_s=settings.repush_interval,
            ),
        )


async def run_worker(settings: Settings, client: Client) -> None:
    """Run until cancelled (Ctrl-C in ``mdmflow worker`` or ``mdmflow dev``)."""
    db = await Database.open(settings.resolved_database_url)
    try:
        async with worker_activities(settings, db) as activities:
            await build_worker(client, settings, activities).run()
    finally:
        await db.close()
