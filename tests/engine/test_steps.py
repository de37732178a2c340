"""Engine step rules on a real Temporal dev server: completion per command, final statuses,
typed results, routing, status query, search attributes and Web UI details."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from mdmflow.mdm.reports import CommandStatus
from mdmflow.workflows import search
from mdmflow.workflows.models import (
    COMMAND_REPORT_SIGNAL,
    CommandReport,
    WorkflowStart,
    WorkflowStatus,
)
from tests.engine.probe import PROBES, MultiProbeWorkflow, ProbeOutcome
from tests.support.history import wait_for_event
from tests.support.reports import post_report
from tests.support.stack import Stack, running_stack

SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
TWO_COMMANDS = [{"name": "pair", "commands": ["DeviceInformation", "SecurityInfo"]}]


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """Devices answer NotNow, so each test decides the final answers itself."""
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=PROBES,
        simulator={"not_now_rate": 1.0},
    ) as running:
        yield running


async def start_probe(
    stack: Stack, steps: list[dict[str, Any]], *, workflow: str = "test.engine.probe"
) -> WorkflowHandle[Any, ProbeOutcome]:
    eid = stack.sim.enrollment_ids()[0]
    return await stack.client.start_workflow(
        workflow,
        WorkflowStart(
            enrollment_id=eid, instance_id="inst-1", context=json.dumps({"steps": steps})
        ),
        id=f"{workflow}/{eid}",
        task_queue=stack.task_queue,
        result_type=ProbeOutcome,
    )


async def waiting_status(handle: WorkflowHandle[Any, ProbeOutcome], notnows: int) -> WorkflowStatus:
    """The status once the device's NotNow answers have reached the workflow."""
    await wait_for_event(handle, SIGNALED, notnows)
    status: WorkflowStatus = await handle.query("status", result_type=WorkflowStatus)
    return status


async def test_step_completes_only_when_every_command_has_a_final_status(stack: Stack) -> None:
    handle = await start_probe(stack, TWO_COMMANDS)
    eid = stack.sim.enrollment_ids()[0]
    status = await waiting_status(handle, 2)
    uuids = {c.request_type: c.command_uuid for c in status.outstanding}
    assert {c.last_status for c in status.outstanding} == {CommandStatus.NOT_NOW}

    info = {
        "Status": "Acknowledged",
        "CommandUUID": uuids["DeviceInformation"],
        "QueryResponses": {"UDID": eid, "SerialNumber": "C02TEST0001"},
    }
    assert (await post_report(stack.bridge_url, eid, info, {"source": "first"})).status_code == 200
    after_one = await handle.query("status", result_type=WorkflowStatus)
    assert [c.request_type for c in after_one.outstanding] == ["SecurityInfo"]

    error = {
        "Status": "Error",
        "CommandUUID": uuids["SecurityInfo"],
        "ErrorChain": [
            {
                "ErrorCode": 12021,
                "ErrorDomain": "MCMDMErrorDomain",
                "LocalizedDescription": "Unknown request type",
            },
        ],
    }
    assert (await post_report(stack.bridge_url, eid, error, {"source": "last"})).status_code == 200
    [step] = (await handle.result()).results
    assert not step.timed_out
    assert step.url_params == {"source": "last"}
    by_type = {c.request_type: c for c in step.commands}
    assert by_type["DeviceInformation"].status is CommandStatus.ACKNOWLEDGED
    assert by_type["DeviceInformation"].payload["QueryResponses"] == {
        "UDID": eid,
        "SerialNumber": "C02TEST0001",
    }
    assert by_type["SecurityInfo"].status is CommandStatus.ERROR
    assert by_type["SecurityInfo"].error_chain[0].error_code == 12021


async def test_command_format_error_is_final_and_duplicates_are_ignored(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    handle = await start_probe(stack, TWO_COMMANDS)
    eid = stack.sim.enrollment_ids()[0]
    status = await waiting_status(handle, 2)
    uuids = {c.request_type: c.command_uuid for c in status.outstanding}
    ack = {
        "Status": "Acknowledged",
        "CommandUUID": uuids["DeviceInformation"],
        "QueryResponses": {"UDID": eid},
    }
    await post_report(stack.bridge_url, eid, ack)
    duplicate = await post_report(stack.bridge_url, eid, {**ack, "QueryResponses": {"UDID": "x"}})
    assert duplicate.status_code == 200
    await handle.signal(
        COMMAND_REPORT_SIGNAL,
        CommandReport(
            command_uuid="not-ours", enrollment_id=eid, status=CommandStatus.ACKNOWLEDGED
        ),
    )
    still = await handle.query("status", result_type=WorkflowStatus)
    assert [c.request_type for c in still.outstanding] == ["SecurityInfo"]
    fmt = {"Status": "CommandFormatError", "CommandUUID": uuids["SecurityInfo"]}
    await post_report(stack.bridge_url, eid, fmt)
    [step] = (await handle.result()).results
    statuses = {c.request_type: c.status for c in step.commands}
    assert statuses == {
        "DeviceInformation": CommandStatus.ACKNOWLEDGED,
        "SecurityInfo": CommandStatus.COMMAND_FORMAT_ERROR,
    }
    assert step.of_type("DeviceInformation").payload["QueryResponses"] == {"UDID": eid}
    # the report no step tracked was kept for a later step; the run ended, so it was ignored
    ignored = [
        r
        for r in caplog.records
        if r.getMessage().startswith("ignoring report for a command")
        and getattr(r, "command_uuid", None) == "not-ours"
    ]
    assert len(ignored) == 1


async def test_search_attributes_details_and_status_follow_the_step(stack: Stack) -> None:
    handle = await start_probe(stack, TWO_COMMANDS)
    eid = stack.sim.enrollment_ids()[0]
    status = await waiting_status(handle, 2)
    assert status.enrollment_id == eid
    assert status.instance_id == "inst-1"
    assert status.step == "pair"
    assert status.step_started_at is not None

    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(search.ENROLLMENT_ID) == eid
    assert attrs.get(search.WORKFLOW_NAME) == "test.engine.probe"
    assert attrs.get(search.INSTANCE_ID) == "inst-1"
    assert attrs.get(search.STEP) == "pair"

    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "**Step** `pair`" in meta.current_details
    assert "0 of 2 commands answered" in meta.current_details
    assert "NotNow" in meta.current_details

    for c in status.outstanding:
        await post_report(
            stack.bridge_url, eid, {"Status": "Acknowledged", "CommandUUID": c.command_uuid}
        )
    await handle.result()
    final = (await handle.describe()).typed_search_attributes
    assert final.get(search.STEP) == "pair", "a closed workflow keeps its last step"
    done = await handle.query("status", result_type=WorkflowStatus)
    assert done.steps_completed == ["pair"]
    assert done.outstanding == []
    meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert meta.current_details == "**Done** after 1 step(s):\n\n1. pair"


async def test_multiple_simultaneous_instances_get_their_own_workflow_ids(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    steps = json.dumps({"steps": [{"name": "a", "commands": ["SecurityInfo"], "timeout_s": 1}]})
    handles = [
        await stack.client.start_workflow(
            MultiProbeWorkflow.config.name,
            WorkflowStart(enrollment_id=eid, instance_id=inst, context=steps),
            id=MultiProbeWorkflow.config.workflow_id(eid, inst),
            task_queue=stack.task_queue,
            result_type=ProbeOutcome,
        )
        for inst in ("one", "two")
    ]
    assert {h.id for h in handles} == {
        f"test.engine.probe.multi/{eid}/one",
        f"test.engine.probe.multi/{eid}/two",
    }
    for h in handles:
        assert (await h.result()).results[0].timed_out


async def test_bad_context_fails_the_workflow_at_once(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    handle = await stack.client.start_workflow(
        "test.engine.probe",
        WorkflowStart(enrollment_id=eid, context="not json"),
        id=f"bad/{eid}",
        task_queue=stack.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidContext"
    assert stack.sim.requests == []


async def test_input_without_enrollment_id_fails_instead_of_retrying(stack: Stack) -> None:
    handle = await stack.client.start_workflow(
        "io.micromdm.wf.devinfolog.v1",
        {"context": "x"},
        id="no-enrollment",
        task_queue=stack.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert "enrollment_id" in str(failure.value.cause)


async def test_mdm_server_rejection_fails_the_workflow_with_the_reason(stack: Stack) -> None:
    handle = await stack.client.start_workflow(
        "io.micromdm.wf.devinfolog.v1",
        WorkflowStart(enrollment_id="NOT-ENROLLED-1"),
        id="io.micromdm.wf.devinfolog.v1/NOT-ENROLLED-1",
        task_queue=stack.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "MDMRejected"
    assert "NOT-ENROLLED-1" in cause.message
