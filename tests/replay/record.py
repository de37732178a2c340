"""Record workflow histories for the replay test: ``python -m tests.replay.record``.

Each scenario runs a shipped workflow on the real stack (dev server, bridge, simulator) and
writes its history to ``tests/replay/histories/<name>.json``. Re-record only when a workflow
change is *meant* to be incompatible; otherwise the replay test is what catches it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from mdmflow.workflows import search
from mdmflow.workflows.models import WorkflowStart
from tests.support.stack import Stack, running_stack
from tests.support.temporal import DEV_SERVER_ARGS, binary

HISTORIES = Path(__file__).parent / "histories"
DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
INVENTORY = "io.micromdm.wf.inventory.v1"

Scenario = Callable[[Stack], Awaitable[WorkflowHandle[object, object]]]


async def devinfolog_acknowledged(stack: Stack) -> WorkflowHandle[object, object]:
    eid = stack.sim.enrollment_ids()[0]
    handle = await stack.client.start_workflow(
        DEVINFOLOG,
        WorkflowStart(enrollment_id=eid, instance_id="replay-1"),
        id=f"{DEVINFOLOG}/{eid}",
        task_queue=stack.task_queue,
    )
    await handle.result()
    return handle


async def devinfolog_notnow_then_repush(stack: Stack) -> WorkflowHandle[object, object]:
    """NotNow first; the re-push timer fires and the device then answers."""
    stack.sim.not_now_rate = 1.0
    eid = stack.sim.enrollment_ids()[1]
    handle = await stack.client.start_workflow(
        DEVINFOLOG,
        WorkflowStart(enrollment_id=eid, instance_id="replay-2"),
        id=f"{DEVINFOLOG}/{eid}",
        task_queue=stack.task_queue,
    )
    await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
    stack.sim.not_now_rate = 0.0
    await handle.result()
    return handle


async def inventory_acknowledged(stack: Stack) -> WorkflowHandle[object, object]:
    eid = stack.sim.enrollment_ids()[0]
    handle = await stack.client.start_workflow(
        INVENTORY,
        WorkflowStart(enrollment_id=eid, instance_id="replay-3"),
        id=f"{INVENTORY}/{eid}",
        task_queue=stack.task_queue,
    )
    await handle.result()
    return handle


SCENARIOS: dict[str, Scenario] = {
    "devinfolog-acknowledged": devinfolog_acknowledged,
    "devinfolog-notnow-repush": devinfolog_notnow_then_repush,
    "inventory-acknowledged": inventory_acknowledged,
}


async def record() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(search.ALL),
        dev_server_extra_args=DEV_SERVER_ARGS,
    )
    client: Client = env.client
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack(
            client,
            f"sqlite+aiosqlite:///{tmp}/app.db",
            devices=2,
            settings={"repush_interval": 2},
        ) as stack:
            for name, scenario in SCENARIOS.items():
                handle = await scenario(stack)
                history = await handle.fetch_history()
                path = HISTORIES / f"{name}.json"
                path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
                print(f"wrote {path}")
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
    sys.stdout.flush()
    os._exit(0)
