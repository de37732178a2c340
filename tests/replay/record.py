"""Record workflow histories for the replay test: ``python -m tests.replay.record [NAME…]``
(names are history-name prefixes, such as ``fleetstart``; none records all).

Each scenario runs a shipped workflow on the real stack (dev server, bridge, simulator) and
writes its history to ``tests/replay/histories/<GENERATION>-<name>.json``. Re-record only when a
workflow change is *meant* to be incompatible; otherwise the replay test is what catches it.

Histories are recorded with the payload codec and the tests' key ring, as a deployment stores
them. The FileVault scenarios poll every two minutes, so they run on the time-skipping server.
``pre-codec-*.json`` were recorded before payloads were encrypted and are never rewritten: they
show that workflows started before the codec still replay.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from mdmflow.activities.lock_models import LOCK_WORKFLOW
from mdmflow.starter.fleet import start_fleet
from mdmflow.starter.start import prepare_start
from mdmflow.store.fleet_ids import FleetIdStore
from mdmflow.workflows import search
from mdmflow.workflows.fvenable_poll import FVENABLE, POLLS_PER_RUN
from mdmflow.workflows.fvrotate import FVROTATE
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.registry import workflow_class
from tests.replay.content_scenarios import (
    certprof_renewed,
    cmdplan_enrollment,
    profile_install_and_remove,
)
from tests.replay.starts import started
from tests.support.codec import codec_converter
from tests.support.runs import runs
from tests.support.stack import ClockHold, Stack, running_stack
from tests.support.temporal import DEV_SERVER_ARGS, binary

HISTORIES = Path(__file__).parent / "histories"
GENERATION = "v8"
"""Prefix of the histories this code records. Older ones are never rewritten: they show that
workflows started by earlier code replay:

- ``v7-`` and before: bare command UUIDs, each with a recorded route, as engine settings
  without ``routes_in_uuids`` still say;
- ``v6-`` and before: a timer started and cancelled for every step's wait, as engine settings
  without ``step_alarm`` still say;
- ``v5-`` and before: ``MdmStep`` upserted on every step, repeats included, as engine settings
  without ``step_upsert_on_change`` still say;
- ``v3-``: the enqueue a regular activity, as engine settings without ``local_enqueue`` still
  say;
- ``v2-``: the lean first task behind its patch marker on every run;
- unprefixed: before the lean first task, the re-ask and references for bulk and secrets;
- ``pre-codec-``: before payloads were encrypted.
"""
WORKFLOW_ID_KEY = "workflowId"
"""Where a history file keeps its run's workflow ID (``v8-`` on; older files hold none)."""
DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
INVENTORY = "io.micromdm.wf.inventory.v1"

Scenario = Callable[[Stack], Awaitable[WorkflowHandle[object, object]]]
Recorded = dict[str, WorkflowHandle[object, object]]


async def devinfolog_acknowledged(stack: Stack) -> WorkflowHandle[object, object]:
    eid = stack.sim.enrollment_ids()[0]
    handle = await started(stack, DEVINFOLOG, WorkflowStart(enrollment_id=eid))
    await handle.result()
    return handle


async def devinfolog_notnow_then_repush(stack: Stack) -> WorkflowHandle[object, object]:
    """NotNow first; the re-push timer fires and the device then answers."""
    stack.sim.not_now_rate = 1.0
    eid = stack.sim.enrollment_ids()[1]
    handle = await started(stack, DEVINFOLOG, WorkflowStart(enrollment_id=eid))
    await stack.sim.wait_for(lambda: stack.sim.stats.reports["NotNow"] >= 1)
    stack.sim.not_now_rate = 0.0
    await handle.result()
    return handle


async def devinfolog_lost_report_reasked(stack: Stack) -> WorkflowHandle[object, object]:
    """The device's answer is lost before any bridge sees it; the re-push asks again."""
    stack.sim.reports_to_lose = 1
    eid = stack.sim.enrollment_ids()[0]
    handle = await started(stack, DEVINFOLOG, WorkflowStart(enrollment_id=eid))
    await handle.result()
    return handle


async def inventory_acknowledged(stack: Stack) -> WorkflowHandle[object, object]:
    eid = stack.sim.enrollment_ids()[0]
    handle = await started(stack, INVENTORY, WorkflowStart(enrollment_id=eid))
    await handle.result()
    return handle


async def lock_acknowledged(stack: Stack) -> WorkflowHandle[object, object]:
    eid = stack.sim.enrollment_ids()[1]
    handle = await started(stack, LOCK_WORKFLOW, WorkflowStart(enrollment_id=eid))
    await handle.result()
    return handle


SCENARIOS: dict[str, Scenario] = {
    "devinfolog-acknowledged": devinfolog_acknowledged,
    "devinfolog-notnow-repush": devinfolog_notnow_then_repush,
    "devinfolog-lost-report-reasked": devinfolog_lost_report_reasked,
    "inventory-acknowledged": inventory_acknowledged,
    "lock-acknowledged": lock_acknowledged,
    "profile-install-and-remove": profile_install_and_remove,
    "cmdplan-enrollment": cmdplan_enrollment,
    "certprof-renewed": certprof_renewed,
}


async def filevault_enable_then_rotate(stack: Stack) -> Recorded:
    """FileVault turns on after one run of polls: the first run ends in continue-as-new."""
    eid = stack.sim.enrollment_ids()[0]
    device = stack.sim.device(eid)
    device.fde_enabled, device.filevault.recovery_key = False, None
    device.filevault.enable_after_polls = POLLS_PER_RUN + 1
    recorded: Recorded = {}
    for name, short in ((FVENABLE, "fvenable"), (FVROTATE, "fvrotate")):
        # Started on the client itself: only its handle's result() lets the time-skipping
        # server skip time (one from get_workflow_handle would wait in real time). As the
        # starter would: engine settings and search attributes with the start.
        instance_id = str(uuid.uuid4())
        handle = await stack.client.start_workflow(
            name,
            WorkflowStart(enrollment_id=eid, instance_id=instance_id, engine=stack.settings.engine),
            id=f"{name}/{eid}",
            task_queue=stack.task_queue,
            search_attributes=search.start_attributes(
                name, eid, instance_id, workflow_class(name).config.first_step
            ),
        )
        await handle.result()
        chain = await runs(stack.client, handle.id)
        if len(chain) > 1:
            recorded[f"{short}-continued-as-new"] = chain[0]
        recorded[f"{short}-escrowed"] = chain[-1]
    return recorded


async def fleet_start_three_pages(stack: Stack) -> Recorded:
    """A fleet start of three devices, one page each, two pages a run: the first run starts
    two pages at once and continues as new. (The ``fleetstart-*`` histories are the first
    design's, which started children; ``fleetstart-page-activity-*`` one page a run.)"""
    prepared = await prepare_start(DEVINFOLOG, stack.sim.enrollment_ids()[:3])
    store = FleetIdStore(stack.db)
    accepted = await start_fleet(
        stack.client, stack.task_queue, store, prepared, page_size=1, pages_per_run=2
    )
    handle = stack.client.get_workflow_handle(accepted.fan_out_workflow_id)
    await handle.result()
    chain = await runs(stack.client, handle.id)
    return {
        "fleetstart-window-continued-as-new": chain[0],
        "fleetstart-window-done": chain[-1],
    }


async def write(name: str, handle: WorkflowHandle[object, object]) -> None:
    """The history as ``WorkflowHistory.to_json`` gives it, with the run's workflow ID beside
    its events (``workflowId``): a run that mints UUIDs carrying their route checks its own
    ID, so its replay must see the ID it ran under."""
    history = await handle.fetch_history()
    path = HISTORIES / f"{GENERATION}-{name}.json"
    recorded = {WORKFLOW_ID_KEY: history.workflow_id, **json.loads(history.to_json())}
    path.write_text(json.dumps(recorded, indent=1) + "\n")
    print(f"wrote {path}")


async def record(only: set[str]) -> None:
    """Record every scenario, or only those named in ``only`` (by history name prefix)."""

    def wanted(name: str) -> bool:
        return not only or any(name.startswith(prefix) for prefix in only)

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=codec_converter(),
        search_attributes=list(search.ALL),
        dev_server_extra_args=DEV_SERVER_ARGS,
    )
    client: Client = env.client
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack(
            client,
            f"sqlite+aiosqlite:///{tmp}/app.db",
            devices=3,
            settings={"repush_interval": 2},
        ) as stack:
            for name, scenario in SCENARIOS.items():
                if wanted(name):
                    await write(name, await scenario(stack))
            if wanted("fleetstart"):
                for name, handle in (await fleet_start_three_pages(stack)).items():
                    await write(name, handle)
    await env.shutdown()
    if not wanted("fvenable") and not wanted("fvrotate"):
        return
    skipping = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=codec_converter()
    )
    await skipping.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=skipping.client.namespace,
            search_attributes={
                key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in search.ALL
            },
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack(
            skipping.client,
            f"sqlite+aiosqlite:///{tmp}/app.db",
            devices=1,
            hold=ClockHold(skipping),
        ) as stack:
            for name, handle in (await filevault_enable_then_rotate(stack)).items():
                if wanted(name):
                    await write(name, handle)
    await skipping.shutdown()


if __name__ == "__main__":
    asyncio.run(record(set(sys.argv[1:])))
    sys.stdout.flush()
    os._exit(0)
