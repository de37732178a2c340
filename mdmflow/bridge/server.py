"""Run the bridge on ``MDMFLOW_LISTEN`` until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from temporalio.client import Client

from mdmflow.bridge.app import create_app
from mdmflow.bridge.housekeeping import run_housekeeping
from mdmflow.bridge.intake import IntakeTiming
from mdmflow.bridge.state import BridgeState
from mdmflow.config import Settings
from mdmflow.httpserver import serve_app
from mdmflow.store.database import Database
from mdmflow.store.intake import IntakeStore
from mdmflow.workflows.event_handlers import MDMEventHandler
from mdmflow.workflows.registry import EVENT_HANDLERS

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running_bridge(
    settings: Settings,
    client: Client,
    event_handlers: Sequence[type[MDMEventHandler]] = EVENT_HANDLERS,
    intake_timing: IntakeTiming | None = None,
    intake_store: Callable[[Database], IntakeStore] = IntakeStore,
) -> AsyncIterator[str]:
    """Serve the bridge, and run its intake relay and its housekeeping, for the duration of
    the block; yields its base URL. ``intake_store`` is for the bench, which measures the
    intake against a store that keeps nothing."""
    db = await Database.open(settings.resolved_database_url)
    try:
        app = create_app(settings, client, db, event_handlers, intake_timing, intake_store(db))
        state: BridgeState = app.state.bridge
        background = [
            asyncio.create_task(state.intake.run_relay(), name="intake relay"),
            asyncio.create_task(
                run_housekeeping(state.fleet_ids, state.secrets, client), name="housekeeping"
            ),
        ]
        try:
            async with serve_app(app, settings.listen_host, settings.listen_port) as url:
                yield url
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
    finally:
        await db.close()


async def run_bridge(settings: Settings, client: Client) -> None:
    async with running_bridge(settings, client) as url:
        log.info("bridge listening", extra={"url": url})
        await asyncio.Event().wait()
