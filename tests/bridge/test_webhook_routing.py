"""Routing of device reports by recorded route through the real bridge: whose workflow a
report reaches, and which reports are ignored. Both app databases, because the route store
decides. Its runs are started under a workflow ID of the test's choosing, so their command
UUIDs are bare and their routes recorded, as for runs started by earlier code. UUIDs that
carry their route: ``tests/bridge/test_intake.py``, ``tests/workflows/test_carried_route.py``."""

from __future__ import annotations

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from mdmflow.activities.models import REPORT_VIEW_ACTIVITY, EngineSettings
from mdmflow.mdm.reports import CommandStatus
from mdmflow.store.intake import IntakeStore
from mdmflow.store.payloads import PayloadStore
from mdmflow.store.routes import RouteStore
from mdmflow.workflows.carried_route import carried_route
from mdmflow.workflows.devinfolog import QUERIES
from mdmflow.workflows.models import STATUS_QUERY, CommandReport, WorkflowStart, WorkflowStatus
from mdmflow.workflows.results import DeviceInfoLog
from tests.bridge.helpers import (
    DEVINFOLOG,
    SIGNALED,
    acknowledged_body,
    enqueued_uuids,
    push,
    seed_for,
    signal_count,
)
from tests.support.history import events, wait_for_event
from tests.support.stack import Stack, running_stack

WAITING = {"not_now_rate": 1.0}


def workflow_id(enrollment_id: str) -> str:
    """Not the starter's ``{name}/{enrollment_id}``: the bridge could not rebuild it."""
    return f"routed-by-record/{DEVINFOLOG}/{enrollment_id}"


async def start(stack: Stack, eid: str) -> None:
    await stack.client.start_workflow(
        DEVINFOLOG,
        WorkflowStart(enrollment_id=eid, engine=EngineSettings.for_new_start()),
        id=workflow_id(eid),
        task_queue=stack.settings.task_queue,
    )


async def post_webhook(stack: Stack, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.bridge_url, timeout=30) as http:
        return await http.post("/webhook", content=body)


async def waiting_on_not_now(client: Client, stack: Stack, eid: str) -> str:
    """Start devinfolog on ``eid`` and return its command UUID once NotNow reached it."""
    await start(stack, eid)
    handle = client.get_workflow_handle(workflow_id(eid))
    await wait_for_event(handle, SIGNALED)
    await stack.sim.wait_until_quiet()
    [command_uuid] = enqueued_uuids(stack.sim, eid)
    assert carried_route(command_uuid) is None
    return command_uuid


async def routes_gone(stack: Stack, eid: str, command_uuid: str) -> bool:
    return await RouteStore(stack.db).lookup(eid, command_uuid) is None


async def test_report_for_an_unknown_command_is_ignored(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    simulator = {**WAITING, "seed": seed_for(request)}
    async with running_stack(client, database_url, devices=2, simulator=simulator) as stack:
        eid, other = stack.sim.enrollment_ids()
        command_uuid = await waiting_on_not_now(client, stack, eid)
        handle = client.get_workflow_handle(workflow_id(eid))
        routes = RouteStore(stack.db)
        try:
            before = await signal_count(handle)
            unknown = "00000000-1111-4222-8333-444444444444"
            reply = await post_webhook(stack, acknowledged_body(eid, unknown))
            assert reply.status_code == 200, reply.text
            assert reply.content == b""
            # The right UUID from another enrollment is not this workflow's report either.
            reply = await post_webhook(stack, acknowledged_body(other, command_uuid))
            assert reply.status_code == 200, reply.text

            assert await signal_count(handle) == before
            assert await routes.lookup(eid, unknown) is None
            assert await routes.lookup(other, command_uuid) is None
            assert await routes.lookup(eid, command_uuid) is not None
            status = await handle.query(STATUS_QUERY, result_type=WorkflowStatus)
            [outstanding] = status.outstanding
            assert outstanding.command_uuid == command_uuid
            assert outstanding.last_status is CommandStatus.NOT_NOW
        finally:
            await handle.terminate("test done")


async def test_a_final_report_drops_its_route_with_its_delivery(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    """Once the device's report is answered, its route is gone and nothing of it is left
    pending in the intake: both in the transaction that marked it delivered."""
    simulator = {"seed": seed_for(request)}
    async with running_stack(client, database_url, devices=1, simulator=simulator) as stack:
        [eid] = stack.sim.enrollment_ids()
        await start(stack, eid)
        await client.get_workflow_handle(workflow_id(eid), result_type=DeviceInfoLog).result()
        await stack.sim.wait_until_quiet()  # every webhook it posted has been answered
        [command_uuid] = enqueued_uuids(stack.sim, eid)

        assert await routes_gone(stack, eid, command_uuid)
        assert (await IntakeStore(stack.db).backlog()).pending == 0


async def test_report_after_the_workflow_completed_is_ignored(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    simulator = {"seed": seed_for(request)}
    async with running_stack(client, database_url, devices=1, simulator=simulator) as stack:
        [eid] = stack.sim.enrollment_ids()
        await start(stack, eid)
        handle = client.get_workflow_handle(workflow_id(eid), result_type=DeviceInfoLog)
        result = await handle.result()
        [command_uuid] = enqueued_uuids(stack.sim, eid)
        history = await events(handle)

        reply = await post_webhook(stack, acknowledged_body(eid, command_uuid))

        assert reply.status_code == 200, reply.text
        assert await routes_gone(stack, eid, command_uuid)
        assert len(await events(handle)) == len(history)
        assert await handle.result() == result


async def test_report_for_a_terminated_workflow_drops_its_route(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    """The route outlived its workflow: the signal finds no workflow, the route is dropped."""
    simulator = {**WAITING, "seed": seed_for(request)}
    async with running_stack(client, database_url, devices=1, simulator=simulator) as stack:
        [eid] = stack.sim.enrollment_ids()
        command_uuid = await waiting_on_not_now(client, stack, eid)
        handle = client.get_workflow_handle(workflow_id(eid))
        await handle.terminate("device retired")
        assert not await routes_gone(stack, eid, command_uuid)

        reply = await post_webhook(stack, acknowledged_body(eid, command_uuid))

        assert reply.status_code == 200, reply.text
        assert await routes_gone(stack, eid, command_uuid)
        backlog = await IntakeStore(stack.db).backlog()
        assert (backlog.pending, backlog.recorded.get("workflow_gone")) == (0, 1)


async def test_not_now_keeps_the_route_until_the_final_answer(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    simulator = {**WAITING, "seed": seed_for(request)}
    async with running_stack(client, database_url, devices=1, simulator=simulator) as stack:
        [eid] = stack.sim.enrollment_ids()
        command_uuid = await waiting_on_not_now(client, stack, eid)
        handle = client.get_workflow_handle(workflow_id(eid), result_type=DeviceInfoLog)
        assert await signal_count(handle) == 1
        assert not await routes_gone(stack, eid, command_uuid)
        status = await handle.query(STATUS_QUERY, result_type=WorkflowStatus)
        assert [c.last_status for c in status.outstanding] == [CommandStatus.NOT_NOW]

        stack.sim.not_now_rate = 0.0
        await push(stack, eid)
        result = await handle.result()
        await stack.sim.wait_until_quiet()  # the answer's webhook was delivered in full

        assert result.values["UDID"] == eid
        assert await signal_count(handle) == 2
        assert await routes_gone(stack, eid, command_uuid)


async def test_large_report_travels_by_reference(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    """A payload over ``inline_result_bytes`` is stored aside; the workflow reads a view of it
    (the whole answer, as it is small enough)."""
    async with running_stack(
        client,
        database_url,
        devices=1,
        settings={"inline_result_bytes": 200},
        simulator={"seed": seed_for(request)},
    ) as stack:
        [eid] = stack.sim.enrollment_ids()
        await start(stack, eid)
        handle = client.get_workflow_handle(workflow_id(eid), result_type=DeviceInfoLog)
        result = await handle.result()
        [command_uuid] = enqueued_uuids(stack.sim, eid)

        device = stack.sim.device(eid)
        assert set(result.values) == set(QUERIES)
        assert result.values["SerialNumber"] == device.serial_number
        assert result.values["DeviceName"] == device.device_name
        assert result.values["BuildVersion"] == device.build_version

        history = await events(handle)
        [signal] = [e for e in history if e.event_type == SIGNALED]
        [report] = await client.data_converter.decode(
            signal.workflow_execution_signaled_event_attributes.input.payloads, [CommandReport]
        )
        assert isinstance(report, CommandReport)
        assert report.payload is None
        assert report.payload_ref == PayloadStore.ref_for(eid, command_uuid)
        loads = [
            e
            for e in history
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name
            == REPORT_VIEW_ACTIVITY
        ]
        assert len(loads) == 1
        stored = await PayloadStore(stack.db).get(report.payload_ref)
        assert stored["QueryResponses"] == result.values


async def test_user_channel_reports_route_by_ids_id(
    client: Client, database_url: str, request: pytest.FixtureRequest
) -> None:
    """``ids.id`` (``UDID:UserID``) is the route key; the device channel's ID is not."""
    simulator = {**WAITING, "seed": seed_for(request)}
    async with running_stack(client, database_url, devices=1, simulator=simulator) as stack:
        [udid] = stack.sim.enrollment_ids()
        user_eid = stack.sim.device(udid).user_enrollment_id
        assert user_eid is not None
        assert user_eid.startswith(f"{udid}:")
        command_uuid = await waiting_on_not_now(client, stack, user_eid)
        handle = client.get_workflow_handle(workflow_id(user_eid), result_type=DeviceInfoLog)
        assert await signal_count(handle) == 1  # the user channel's NotNow reached it
        route = await RouteStore(stack.db).lookup(user_eid, command_uuid)
        assert route is not None
        assert route.workflow_id == workflow_id(user_eid)

        # Same command UUID, but reported on the device channel: not this workflow's.
        reply = await post_webhook(stack, acknowledged_body(udid, command_uuid, channel_id=udid))
        assert reply.status_code == 200, reply.text
        assert await signal_count(handle) == 1

        stack.sim.not_now_rate = 0.0
        await push(stack, user_eid)
        result = await handle.result()
        assert result.enrollment_id == user_eid
        assert result.values["UDID"] == udid
        assert await signal_count(handle) == 2
