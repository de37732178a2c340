"""End to end: a simulated device enrolls (Authenticate, then TokenUpdate with tally 1), the
Enrollment subscription starts the inventory workflow, the device answers, and the inventory
API then holds what the device reported; a later Idle re-runs it via IdleNotStartedSince."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from temporalio.client import Client

from mdmflow.store.starts import WorkflowStartStore
from tests.support.stack import running_stack

INVENTORY = "io.micromdm.wf.inventory.v1"


async def test_enrollment_subscription_drives_inventory_to_completion(
    client: Client, tmp_path: Path
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        simulator={"enrolled": False, "url_params": {"site": "lab"}},
    ) as stack:
        eid = stack.sim.enrollment_ids()[0]
        device = stack.sim.device(eid)
        async with stack.api() as api:
            sub = {"event": "Enrollment", "workflow": INVENTORY}
            assert (await api.put("/v1/event/inventory-on-enroll", json=sub)).status_code == 204

            assert await stack.sim.enroll(eid)
            handle = client.get_workflow_handle(f"{INVENTORY}/{eid}")
            await handle.result()

            inventory = (await api.get("/v1/inventory", params={"id": eid})).json()[eid]
        assert inventory["serial_number"] == device.serial_number
        assert inventory["model"] == device.model
        assert inventory["os_version"] == device.os_version
        assert inventory["last_source"] in {"DeviceInformation", "SecurityInfo"}
        started = await WorkflowStartStore(stack.db).last_started(eid, INVENTORY)
        assert started is not None


async def test_idle_not_started_since_reruns_inventory_for_a_stale_device(
    client: Client, tmp_path: Path
) -> None:
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=1) as stack:
        eid = stack.sim.enrollment_ids()[0]
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        await WorkflowStartStore(stack.db).record(eid, INVENTORY, f"{INVENTORY}/{eid}", long_ago)
        async with stack.api() as api:
            sub = {"event": "IdleNotStartedSince", "workflow": INVENTORY, "event_context": "86400"}
            assert (await api.put("/v1/event/stale-inventory", json=sub)).status_code == 204
            assert await stack.sim.idle(eid)
            await client.get_workflow_handle(f"{INVENTORY}/{eid}").result()
            inventory = (await api.get("/v1/inventory", params={"id": eid})).json()[eid]
        assert inventory["serial_number"] == stack.sim.device(eid).serial_number
        restarted = await WorkflowStartStore(stack.db).last_started(eid, INVENTORY)
        assert restarted is not None
        assert restarted > long_ago
