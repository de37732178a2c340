"""The bridge deletes the stored IDs of fleet starts whose fan-out ended without deleting them
(terminated, or never started), and keeps those of fan-outs still running or just saved: real
workflows on the dev server stand for the fan-outs, on both app database backends."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from temporalio.client import Client

from mdmflow.activities.fleet_models import fleet_workflow_id
from mdmflow.bridge.fleet_pages import prune_orphaned_pages
from mdmflow.store.database import Database
from mdmflow.store.fleet_ids import FleetIdStore, MissingPageError

NOBODY_POLLS = "test-fleet-pages-no-worker"
"""A task queue without a worker: a workflow started on it stays running."""


async def stand_in_fan_out(client: Client, instance_id: str) -> None:
    """A running workflow under the instance's fan-out workflow ID."""
    await client.start_workflow(
        "test.fan-out.stand-in", id=fleet_workflow_id(instance_id), task_queue=NOBODY_POLLS
    )


async def stored(store: FleetIdStore, instance_id: str) -> bool:
    try:
        await store.page(instance_id, 0)
    except MissingPageError:
        return False
    return True


async def test_only_the_pages_of_ended_or_never_started_fan_outs_are_deleted(
    client: Client, database: Database
) -> None:
    store = FleetIdStore(database)
    never, running, terminated = (f"inst-{n}-{uuid.uuid4()}" for n in range(3))
    for instance_id in (never, running, terminated):
        await store.save(instance_id, ["dev-1", "dev-2", "dev-3"], page_size=2)
    await stand_in_fan_out(client, running)
    await stand_in_fan_out(client, terminated)
    await client.get_workflow_handle(fleet_workflow_id(terminated)).terminate("stopped by hand")
    try:
        pruned = await prune_orphaned_pages(store, client, min_age=dt.timedelta(0))

        assert pruned == [never, terminated]
        assert [await stored(store, i) for i in (never, running, terminated)] == [
            False,
            True,
            False,
        ]
        with pytest.raises(MissingPageError):
            await store.page(terminated, 1)  # every page of it
    finally:
        await client.get_workflow_handle(fleet_workflow_id(running)).terminate("test done")


async def test_pages_younger_than_the_minimum_age_are_kept(
    client: Client, database: Database
) -> None:
    store = FleetIdStore(database)
    instance_id = f"inst-{uuid.uuid4()}"
    await store.save(instance_id, ["dev-1"], page_size=2)  # its fan-out may be about to start

    assert await prune_orphaned_pages(store, client, min_age=dt.timedelta(hours=1)) == []
    assert await stored(store, instance_id)
