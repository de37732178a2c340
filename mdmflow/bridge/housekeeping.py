"""The bridge's hourly clean-up of what ended workflows leave in the app database.

Every replica runs it; each deletion is idempotent, so replicas need no coordination.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from temporalio.client import Client

from mdmflow.bridge.fleet_pages import prune_orphaned_pages
from mdmflow.bridge.start_secrets import prune_ended_start_secrets
from mdmflow.store.fleet_ids import FleetIdStore
from mdmflow.store.secrets import InventorySecretStore

log = logging.getLogger(__name__)

EVERY = dt.timedelta(hours=1)


async def run_housekeeping(
    pages: FleetIdStore, secrets: InventorySecretStore, client: Client
) -> None:
    """Delete ended fleet starts' IDs and ended certprof starts' secrets every :data:`EVERY`
    until cancelled; a failed round is logged and tried again at the next."""
    while True:
        try:
            ended_fleets = await prune_orphaned_pages(pages, client)
            ended_certprofs = await prune_ended_start_secrets(secrets, client)
        except Exception:
            log.exception("housekeeping failed; tried again in an hour")
        else:
            if ended_fleets or ended_certprofs:
                log.info(
                    "deleted what ended starts left in the app database",
                    extra={"fleet_ids_of": ended_fleets, "sealed_replacements_of": ended_certprofs},
                )
        await asyncio.sleep(EVERY.total_seconds())
