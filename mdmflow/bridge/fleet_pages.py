"""Delete the stored IDs of fleet starts whose fan-out is over but could not delete them.

The fan-out deletes its instance's pages when it completes or is cancelled. One that was
terminated, failed or timed out leaves them, as does a start whose fan-out never began (its
bridge killed between saving the pages and starting the workflow): some 40 bytes an ID, for
good. Every bridge looks once an hour (``bridge/housekeeping.py``) for pages older than an
hour whose fan-out workflow is not running, and deletes them. Temporal says what runs: one
describe per instance found, and a fan-out that continued as new is described by its latest
run.
"""

from __future__ import annotations

import datetime as dt

from temporalio.client import Client

from mdmflow.bridge.fan_out import fan_out_running
from mdmflow.store.fleet_ids import FleetIdStore

MIN_AGE = dt.timedelta(hours=1)
"""Pages younger than this are left alone: their fan-out may be about to start."""


async def prune_orphaned_pages(
    store: FleetIdStore, client: Client, min_age: dt.timedelta = MIN_AGE
) -> list[str]:
    """Delete the pages of every instance stored over ``min_age`` ago whose fan-out is not
    running; return those instance IDs."""
    pruned = []
    for instance_id in await store.saved_before(dt.datetime.now(dt.UTC) - min_age):
        if await fan_out_running(client, instance_id):
            continue
        await store.forget(instance_id)
        pruned.append(instance_id)
    return pruned
