"""``io.micromdm.wf.inventory.v1`` end to end on the real stack (dev server, bridge, simulator):
started over HTTP, the device's own values land in the inventory and come back from the API;
SecurityInfo of any workflow is stored by the event handler; failures are clear.

Event-handler workflows get random IDs, so the tests await them through ``stack.started``
(:class:`tests.support.started.StartRecorder`; see there why that needs no polling).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from mdmflow.activities.models import REPORT_VIEW_ACTIVITY
from mdmflow.mdm.reports import CommandStatus
from mdmflow.mdm.responses import SecurityInfoResponse
from mdmflow.store.inventory import InventoryStore
from mdmflow.workflows.inventory_values import (
    INVENTORY,
    INVENTORY_EVENTS,
    InventoryEventResult,
    InventoryResult,
)
from mdmflow.workflows.models import StepResult, WorkflowStart
from tests.bridge.helpers import seed_for
from tests.support.history import events, wait_for_event
from tests.support.runs import terminate_if_running
from tests.support.stack import Stack, running_stack
from tests.workflows.securityinfo_probe import SECURITY_INFO_PROBE, SecurityInfoProbeWorkflow

SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


async def handler_results(stack: Stack, eid: str) -> list[InventoryEventResult]:
    """The results of the event-handler workflows the bridge started for ``eid`` so far."""
    return await stack.started.results(
        stack.client, INVENTORY_EVENTS, InventoryEventResult, f"{INVENTORY_EVENTS}/{eid}/"
    )


async def inventory_of(stack: Stack, *ids: str, path: str = "/v1/inventory") -> Any:
    async with stack.api() as api:
        reply = await api.get(path, params={"id": list(ids)})
    assert reply.status_code == 200, reply.text
    return reply.json()


async def start_probe(stack: Stack, eid: str) -> Any:
    return await stack.client.start_workflow(
        SECURITY_INFO_PROBE,
        WorkflowStart(enrollment_id=eid),
        id=SecurityInfoProbeWorkflow.config.workflow_id(eid, ""),
        task_queue=stack.task_queue,
        result_type=StepResult,
    )


async def test_inventory_over_http_stores_the_devices_values(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        database_url,
        devices=2,
        simulator={"seed": seed_for(request)},
    ) as stack:
        ids = stack.sim.enrollment_ids()
        async with stack.api() as api:
            reply = await api.post(f"/v1/workflow/{INVENTORY}/start", params={"id": ids})
        assert reply.status_code == 200, reply.text
        assert reply.json()["started"] == ids

        for eid in ids:
            handle = client.get_workflow_handle(f"{INVENTORY}/{eid}", result_type=InventoryResult)
            result = await handle.result()
            [event] = await handler_results(stack, eid)
            device = stack.sim.device(eid)
            assert result.enrollment_id == eid
            assert result.stored is not None
            assert event.status is CommandStatus.ACKNOWLEDGED
            assert event.stored is not None
            stored = (await inventory_of(stack, eid))[eid]
            # The workflow (DeviceInformation) and the handler (SecurityInfo) write concurrently;
            # each write sets last_source and modified together, and the later one wins.
            written_by = (stored.pop("last_source"), stored.pop("modified"))
            assert written_by in {
                ("DeviceInformation", result.stored.stored()["modified"]),
                ("SecurityInfo", event.stored.stored()["modified"]),
            }
            assert stored == {
                "serial_number": device.serial_number,
                "model": device.model,
                "model_name": device.model_name,
                "device_name": device.device_name,
                "build_version": device.build_version,
                "os_version": device.os_version,
                "ethernet_mac": device.ethernet_mac,
                "supervised": device.supervised,
                "apple_silicon": device.is_apple_silicon,
                "has_battery": device.has_battery,
                "supports_lom": False,
                "is_multiuser": False,
                "sip_enabled": device.sip_enabled,
                "fde_enabled": device.fde_enabled,
            }

        both = await inventory_of(stack, "unknown-id", *ids)
        assert set(both) == set(ids)
        assert await inventory_of(stack, *ids, "unknown-id", path="/inventory") == both


@pytest.mark.parametrize("inline_result_bytes", [64 * 1024, 1], ids=["inline", "stored-aside"])
async def test_security_info_of_another_workflow_updates_the_inventory(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest, inline_result_bytes: int
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=[SecurityInfoProbeWorkflow],
        settings={"inline_result_bytes": inline_result_bytes},
        simulator={"seed": seed_for(request)},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        device = stack.sim.device(eid)
        await InventoryStore(stack.db).merge(
            eid,
            {
                "serial_number": "KEPT",
                "sip_enabled": not device.sip_enabled,
                "fde_enabled": not device.fde_enabled,
            },
        )

        step = await (await start_probe(stack, eid)).result()
        [event] = await handler_results(stack, eid)

        reported = step.of_type("SecurityInfo").response(SecurityInfoResponse).security_info
        assert reported.fde_enabled is device.fde_enabled
        assert event.status is CommandStatus.ACKNOWLEDGED
        assert event.stored is not None
        assert await inventory_of(stack, eid) == {
            eid: {
                "serial_number": "KEPT",
                "sip_enabled": device.sip_enabled,
                "fde_enabled": device.fde_enabled,
                "last_source": "SecurityInfo",
                "modified": event.stored.stored()["modified"],
            }
        }
        [handler_id] = stack.started.ids(INVENTORY_EVENTS)
        loaded = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in await events(client.get_workflow_handle(handler_id))
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        assert (REPORT_VIEW_ACTIVITY in loaded) is (inline_result_bytes == 1)


@pytest.mark.parametrize(
    ("simulator", "status"),
    [({"not_now_rate": 1.0}, CommandStatus.NOT_NOW), ({"error_rate": 1.0}, CommandStatus.ERROR)],
    ids=["NotNow", "Error"],
)
async def test_security_info_not_acknowledged_stores_nothing(
    client: Client,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    simulator: dict[str, Any],
    status: CommandStatus,
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=[SecurityInfoProbeWorkflow],
        simulator={**simulator, "seed": seed_for(request)},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        handle = await start_probe(stack, eid)
        await wait_for_event(handle, SIGNALED)  # the report reached it: the handler started
        events_seen = await handler_results(stack, eid)
        assert [e.status for e in events_seen] == [status]
        assert events_seen[0].stored is None
        assert await inventory_of(stack, eid) == {}
        await terminate_if_running(handle, "test done: the device keeps answering NotNow")


async def test_device_information_error_fails_the_workflow_and_stores_nothing(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        simulator={"error_rate": 1.0, "seed": seed_for(request)},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        handle = await stack.client.start_workflow(
            INVENTORY,
            WorkflowStart(enrollment_id=eid, engine=stack.settings.engine),
            id=f"{INVENTORY}/{eid}",
            task_queue=stack.task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "StepError"
        assert cause.message.startswith("DeviceInformation answered Error: ")
        assert await inventory_of(stack, eid) == {}


async def test_step_timeout_fails_the_workflow_naming_the_unanswered_commands(
    client: Client, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        settings={"step_timeout": 1},
        simulator={"not_now_rate": 1.0, "seed": seed_for(request)},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        handle = await stack.client.start_workflow(
            INVENTORY,
            WorkflowStart(enrollment_id=eid, engine=stack.settings.engine),
            id=f"{INVENTORY}/{eid}",
            task_queue=stack.task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == "StepError"
        assert cause.message == (
            "the device did not answer DeviceInformation and SecurityInfo before the step timeout"
        )
