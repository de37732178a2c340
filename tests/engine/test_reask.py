"""Re-ask, never re-do: a report lost before it reached any bridge, on the real dev server.

The simulated MDM server takes the device's answer and loses the webhook post (as NanoMDM does
while no bridge listens: it never retries). At the next re-push a read-only query is asked
again under a fresh CommandUUID; a command that changes the device is only marked.
"""

from __future__ import annotations

import json
import plistlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from mdmflow.mdm.reports import CommandStatus
from mdmflow.workflows.models import STATUS_QUERY, WorkflowStart, WorkflowStatus
from tests.engine.probe import PROBES, ProbeOutcome
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """One device; re-push (and so re-ask) every second."""
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=PROBES,
        settings={"repush_interval": 1},
    ) as running:
        yield running


async def start_probe(stack: Stack, steps: list[dict[str, Any]]) -> WorkflowHandle[Any, Any]:
    eid = stack.sim.enrollment_ids()[0]
    return await stack.client.start_workflow(
        "test.engine.probe",
        WorkflowStart(
            enrollment_id=eid,
            context=json.dumps({"steps": steps}),
            engine=stack.settings.engine,
        ),
        id=f"test.engine.probe/{eid}",
        task_queue=stack.task_queue,
        result_type=ProbeOutcome,
    )


def enqueued(stack: Stack) -> list[tuple[str, str]]:
    """(RequestType, CommandUUID) of every command enqueued to the simulated server."""
    found = []
    for request in stack.sim.requests:
        if request.path.startswith("/v1/enqueue/") and request.body:
            command = plistlib.loads(request.body)
            found.append((command["Command"]["RequestType"], command["CommandUUID"]))
    return found


async def test_a_lost_answer_to_a_query_is_asked_again_under_a_fresh_uuid(stack: Stack) -> None:
    stack.sim.reports_to_lose = 1
    handle = await start_probe(stack, [{"name": "ask", "commands": ["DeviceInformation"]}])
    outcome: ProbeOutcome = await handle.result()
    [step] = outcome.results
    assert not step.timed_out
    assert [c.status for c in step.commands] == [CommandStatus.ACKNOWLEDGED]
    assert step.commands[0].payload, "the re-asked query's answer reached the workflow"
    sent = enqueued(stack)
    assert [t for t, _ in sent] == ["DeviceInformation", "DeviceInformation"]
    assert len({u for _, u in sent}) == 2, "the query was asked again under a fresh UUID"
    assert stack.sim.stats.reports_lost == 1


async def test_a_command_that_changes_the_device_is_never_sent_again(stack: Stack) -> None:
    stack.sim.reports_to_lose = 1
    handle = await start_probe(
        stack, [{"name": "configure", "commands": ["DeviceConfigured"], "timeout_s": 4}]
    )
    await stack.sim.wait_for(lambda: stack.sim.stats.pushes >= 2)  # a re-push happened
    status = await handle.query(STATUS_QUERY, result_type=WorkflowStatus)
    [outstanding] = status.outstanding
    assert outstanding.answer_may_be_lost
    assert outstanding.resent_as == []
    outcome: ProbeOutcome = await handle.result()
    assert outcome.results[0].timed_out
    assert [t for t, _ in enqueued(stack)] == ["DeviceConfigured"]
