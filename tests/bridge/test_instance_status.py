"""Instance status and cancel on the real Temporal dev server, with stand-in device workflows
whose ending the test chooses (complete, fail, wait), so every state occurs in one instance:
counts match visibility, a failure reads as a sentence, paging covers every device once, and
cancelling the instance ends the waiting ones with the reason in their history."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from mdmflow.bridge.instance_cancel import cancel_instance
from mdmflow.bridge.instance_query import UnknownInstanceError
from mdmflow.bridge.instances import instance_status
from mdmflow.workflows import search
from mdmflow.workflows.models import STATUS_QUERY, OutstandingCommand, WorkflowStatus
from tests.support.runs import terminate_if_running
from tests.support.visibility import counted, until_counted

NAME = "test.instance-status.device"
OUTCOMES = ["complete"] * 3 + ["fail"] * 2 + ["wait"] * 2


@workflow.defn(name=NAME)
class Device:
    """Ends as its input says; answers ``status`` as the engine does while it waits."""

    def __init__(self) -> None:
        self._eid = ""

    @workflow.run
    async def run(self, outcome: str, eid: str) -> None:
        self._eid = eid
        if outcome == "fail":
            raise ApplicationError("device answered Error to DeviceInformation", non_retryable=True)
        if outcome == "wait":
            await workflow.wait_condition(lambda: False)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> WorkflowStatus:
        return WorkflowStatus(
            workflow=NAME,
            enrollment_id=self._eid,
            instance_id="",
            step="ask",
            outstanding=[OutstandingCommand(command_uuid="c1", request_type="DeviceInformation")],
            waiting_for="the device to answer",
        )


@dataclass
class Instance:
    instance_id: str
    workflow_ids: dict[str, str]
    """outcome-tagged enrollment ID → workflow ID"""


@pytest.fixture
async def instance(client: Client, task_queue: str) -> AsyncIterator[Instance]:
    """One instance of seven devices: three completed, two failed, two running (its worker
    runs until the test ends, so a cancelled one can end)."""
    instance_id = str(uuid.uuid4())
    ids: dict[str, str] = {}
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Device],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        for index, outcome in enumerate(OUTCOMES):
            eid = f"{instance_id[:8]}-{outcome}-{index}"
            handle = await client.start_workflow(
                NAME,
                args=[outcome, eid],
                id=f"{NAME}/{eid}",
                task_queue=task_queue,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(search.ENROLLMENT_ID, eid),
                        SearchAttributePair(search.WORKFLOW_NAME, NAME),
                        SearchAttributePair(search.INSTANCE_ID, instance_id),
                        SearchAttributePair(search.STEP, "ask"),
                    ]
                ),
            )
            ids[eid] = handle.id
        query = f"MdmInstanceId = '{instance_id}'"
        await until_counted(client, f"{query} AND ExecutionStatus = 'Completed'", 3)
        await until_counted(client, f"{query} AND ExecutionStatus = 'Failed'", 2)
        await until_counted(client, f"{query} AND ExecutionStatus = 'Running'", 2)
        yield Instance(instance_id, ids)
        for workflow_id in ids.values():
            await terminate_if_running(client.get_workflow_handle(workflow_id), "test over")


async def test_counts_devices_and_reasons_come_from_temporal(
    client: Client, instance: Instance
) -> None:
    status = await instance_status(client, instance.instance_id)
    query = f"MdmInstanceId = '{instance.instance_id}'"
    for state, temporal in [
        ("completed", "Completed"),
        ("failed", "Failed"),
        ("running", "Running"),
    ]:
        assert status.counts[state] == await counted(
            client, f"{query} AND ExecutionStatus = '{temporal}'"
        )
    assert status.total == len(OUTCOMES)
    assert status.workflow == NAME
    assert status.summary() == (
        f"instance {instance.instance_id} of {NAME}: 7 devices — 3 completed, 2 failed, 2 running"
    )
    starts = [
        (await client.get_workflow_handle(w).describe()).start_time
        for w in instance.workflow_ids.values()
    ]
    assert status.started == min(starts)
    by_eid = {d.enrollment_id: d for d in status.devices}
    assert set(by_eid) == set(instance.workflow_ids)
    for eid, device in by_eid.items():
        assert device.workflow_id == instance.workflow_ids[eid]
        assert device.step == "ask"
        if "-fail-" in eid:
            assert device.state == "failed"
            assert device.failure == "Device answered Error to DeviceInformation."
        elif "-wait-" in eid:
            assert device.state == "running"
            assert device.outstanding is not None
            assert [c.request_type for c in device.outstanding] == ["DeviceInformation"]
            assert device.waiting_for == "the device to answer"
        else:
            assert device.state == "completed"
            assert device.failure is None


async def test_pages_cover_every_device_once(client: Client, instance: Instance) -> None:
    seen: list[str] = []
    token: str | None = None
    for _ in range(len(OUTCOMES)):
        page = await instance_status(client, instance.instance_id, 3, token)
        assert len(page.devices) <= 3
        assert page.total == len(OUTCOMES)
        seen.extend(d.workflow_id for d in page.devices)
        token = page.next_page_token
        if token is None:
            break
    assert sorted(seen) == sorted(instance.workflow_ids.values())


async def test_an_unknown_instance_is_unknown(client: Client) -> None:
    with pytest.raises(UnknownInstanceError):
        await instance_status(client, str(uuid.uuid4()))
    with pytest.raises(UnknownInstanceError):
        await instance_status(client, "x' OR MdmInstanceId IS NOT NULL OR 'x")


async def test_cancel_ends_the_running_ones_once_with_the_reason(
    client: Client, instance: Instance
) -> None:
    first = await cancel_instance(client, instance.instance_id, "inventory no longer needed")
    assert (first.cancelled, first.already_ended, first.not_found) == (2, 5, 0)
    query = f"MdmInstanceId = '{instance.instance_id}'"
    await until_counted(client, f"{query} AND ExecutionStatus = 'Canceled'", 2)
    [waiting, *_] = first.workflow_ids
    causes = [
        event.workflow_execution_cancel_requested_event_attributes.cause
        async for event in client.get_workflow_handle(waiting).fetch_history_events()
        if event.HasField("workflow_execution_cancel_requested_event_attributes")
    ]
    assert causes == ["inventory no longer needed"]
    again = await cancel_instance(client, instance.instance_id, "again")
    assert (again.cancelled, again.already_ended, again.not_found) == (0, 7, 0)
    status = await instance_status(client, instance.instance_id)
    assert status.counts["cancelled"] == 2
    assert status.counts["running"] == 0


async def test_a_device_whose_query_gets_no_answer_is_still_shown(client: Client) -> None:
    """No worker polls this queue, so the ``status`` query cannot be answered: the page still
    answers within its budget and says so for that device."""
    instance_id = str(uuid.uuid4())
    handle = await client.start_workflow(
        NAME,
        args=["wait", "lonely"],
        id=f"{NAME}/{instance_id}/lonely",
        task_queue=f"test-nobody-{instance_id}",
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search.ENROLLMENT_ID, "lonely"),
                SearchAttributePair(search.INSTANCE_ID, instance_id),
            ]
        ),
    )
    try:
        await until_counted(client, f"MdmInstanceId = '{instance_id}'", 1)
        loop = asyncio.get_running_loop()
        began = loop.time()
        status = await instance_status(client, instance_id)
        assert loop.time() - began < 2.0
        [device] = status.devices
        assert (device.state, device.outstanding) == ("running", None)
        assert device.query_error
    finally:
        await handle.terminate("test over")
