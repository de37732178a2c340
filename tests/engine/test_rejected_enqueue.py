"""An enqueue the MDM server refuses for good (here: wrong credentials, HTTP 401) fails the
workflow at once with the reason, whichever way the run enqueues: as a local activity (a
start by this version), whose failure reaches the workflow unwrapped, or as the regular
activity of a run started by earlier code, whose failure comes wrapped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from mdmflow.activities.models import ENQUEUE_ACTIVITY, EngineSettings
from mdmflow.failures import MDM_REJECTED
from mdmflow.workflows.devinfolog import DevInfoLogWorkflow
from mdmflow.workflows.models import WorkflowStart
from tests.support.history import events
from tests.support.stack import Stack, running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
PATIENCE_S = 60.0


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    settings = {"enqueue_api_key": "not-the-mdm-key"}
    async with running_stack(client, db_url, devices=1, settings=settings) as s:
        yield s


@pytest.mark.parametrize("local", [True, False], ids=["local", "regular"])
async def test_a_refused_enqueue_fails_the_workflow_with_the_reason(
    stack: Stack, local: bool
) -> None:
    eid = stack.sim.enrollment_ids()[0]
    engine = stack.settings.engine if local else EngineSettings()
    handle = await stack.client.start_workflow(
        DevInfoLogWorkflow.run,
        WorkflowStart(enrollment_id=eid, engine=engine),
        id=f"{DEVINFOLOG}/{eid}",
        task_queue=stack.task_queue,
    )
    # bounded: an enqueue failure taken for an outage would wait out the 3-day step timeout
    with pytest.raises(WorkflowFailureError) as failed:
        async with asyncio.timeout(PATIENCE_S):
            await handle.result()

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == MDM_REJECTED
    assert "refused the credentials" in cause.message
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in await events(handle)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ([] if local else [ENQUEUE_ACTIVITY])
