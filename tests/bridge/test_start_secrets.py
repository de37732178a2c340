"""The bridge deletes the replacement secrets a certprof start sealed for its devices once no
workflow of the start runs, as visibility counts them, and keeps every other sealed value:
real workflows on the dev server stand for the starts' device workflows, on both app
database backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from temporalio.client import Client

from mdmflow.bridge.start_secrets import prune_ended_start_secrets
from mdmflow.crypto.sealed import SecretBox
from mdmflow.store.database import Database
from mdmflow.store.secrets import InventorySecretStore
from mdmflow.visibility import RUNNING
from mdmflow.workflows import search
from mdmflow.workflows.certprof_decide import CERTPROF, replacement_secret
from tests.support.codec import TEST_KEYRING

DEVICES = ["dev-1", "dev-2"]
NOBODY_POLLS = "test-start-secrets-no-worker"
"""A task queue without a worker: a workflow started on it stays running."""
PATIENCE_S = 30.0
"""A safety net only: the wait ends as soon as visibility shows the run."""


async def running_device_workflow(client: Client, instance_id: str) -> str:
    """A running certprof-named workflow of the start, once visibility counts it."""
    workflow_id = f"{CERTPROF}/{DEVICES[0]}/{uuid.uuid4()}"
    await client.start_workflow(
        CERTPROF,
        id=workflow_id,
        task_queue=NOBODY_POLLS,
        search_attributes=search.start_attributes(CERTPROF, DEVICES[0], instance_id),
    )
    query = f"{search.INSTANCE_ID.name} = '{instance_id}' AND {RUNNING}"
    async with asyncio.timeout(PATIENCE_S):
        while not (await client.count_workflows(query)).count:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return workflow_id


async def test_only_the_secrets_of_starts_with_nothing_running_are_deleted(
    client: Client, database: Database
) -> None:
    secrets = InventorySecretStore(database, SecretBox(TEST_KEYRING))
    ended, running, uncomparable = f"ended-{uuid.uuid4()}", f"run-{uuid.uuid4()}", 'a"b'
    for instance_id in (ended, running, uncomparable):
        await secrets.seal(DEVICES, {replacement_secret(instance_id, "%CHALLENGE%"): "s3cret"})
    await secrets.put(DEVICES[0], {"fv_prk": "ABCD-EFGH"})  # not a start's: never touched
    workflow_id = await running_device_workflow(client, running)
    try:
        pruned = await prune_ended_start_secrets(secrets, client, min_age=dt.timedelta(0))

        assert pruned == [ended]
        kept = {
            replacement_secret(running, "%CHALLENGE%"): "s3cret",
            replacement_secret(uncomparable, "%CHALLENGE%"): "s3cret",
        }
        assert await secrets.get(DEVICES) == {
            DEVICES[0]: {**kept, "fv_prk": "ABCD-EFGH"},
            DEVICES[1]: kept,
        }
    finally:
        await client.get_workflow_handle(workflow_id).terminate("test done")


async def test_secrets_younger_than_the_minimum_age_are_kept(
    client: Client, database: Database
) -> None:
    secrets = InventorySecretStore(database, SecretBox(TEST_KEYRING))
    key = replacement_secret(f"young-{uuid.uuid4()}", "%CHALLENGE%")
    await secrets.seal(DEVICES, {key: "s3cret"})  # its workflows may not be visible yet

    assert await prune_ended_start_secrets(secrets, client, min_age=dt.timedelta(hours=1)) == []
    assert await secrets.get_one(DEVICES[1], key) == "s3cret"
