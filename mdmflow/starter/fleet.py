"""Large starts: store the IDs, start the fan-out workflow, answer at once.

NanoCMD answers a start once every device workflow is started, about a minute for 10,000 IDs
here. Past a threshold mdmflow answers as soon as the start is checked and durable (its IDs
in the app database, its fan-out workflow started) and the fan-out does the rest; its
progress is in the instance status.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.client import Client

from mdmflow.activities.fleet_models import (
    FLEET_PAGE_SIZE,
    FLEET_PAGES_PER_RUN,
    FleetProgress,
    FleetStartInput,
    fleet_task_queue,
    fleet_workflow_id,
)
from mdmflow.starter.start import PreparedStart
from mdmflow.store.fleet_ids import FleetIdStore
from mdmflow.workflows.fleet_start import FleetStartWorkflow
from mdmflow.workflows.workflow_config import WORKFLOW_TASK_TIMEOUT


class FleetStartAccepted(BaseModel):
    """The answer to a large start: where to follow it."""

    instance_id: str
    workflow: str
    total: int
    fan_out_workflow_id: str


async def start_fleet(
    client: Client,
    task_queue: str,
    store: FleetIdStore,
    prepared: PreparedStart,
    rate: float = 0.0,
    page_size: int = FLEET_PAGE_SIZE,
    pages_per_run: int = FLEET_PAGES_PER_RUN,
) -> FleetStartAccepted:
    """Store the IDs and start the fan-out on its own queue (the devices go on ``task_queue``);
    if Temporal refuses it, the IDs are deleted again and the error raised, so nothing is left
    half-started."""
    ids = prepared.ids
    pages = await store.save(prepared.instance_id, ids, page_size)
    first = prepared.starts[0]
    fan_out = FleetStartInput(
        instance_id=prepared.instance_id,
        workflow=prepared.name,
        exclusive=prepared.cls.config.exclusive,
        device_summary=prepared.cls.config.summary,
        first_step=prepared.cls.config.first_step,
        context=first.context,
        engine=first.engine,
        pages=pages,
        rate=rate,
        progress=FleetProgress(workflow=prepared.name, total=len(ids)),
        pages_per_run=pages_per_run,
        task_queue=task_queue,
    )
    workflow_id = fleet_workflow_id(prepared.instance_id)
    try:
        await client.start_workflow(
            FleetStartWorkflow.run,
            fan_out,
            id=workflow_id,
            task_queue=fleet_task_queue(task_queue),
            task_timeout=WORKFLOW_TASK_TIMEOUT,
            static_summary=f"Start {prepared.name} on {len(ids):,} devices",
            static_details=f"Instance `{prepared.instance_id}`; context `{first.context or '-'}`",
        )
    except BaseException:
        await store.forget(prepared.instance_id)
        raise
    return FleetStartAccepted(
        instance_id=prepared.instance_id,
        workflow=prepared.name,
        total=len(ids),
        fan_out_workflow_id=workflow_id,
    )
