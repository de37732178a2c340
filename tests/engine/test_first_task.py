"""What a device workflow's history holds besides its steps: a run started by mdmflow's
starter carries its engine settings and search attributes, so it records no patch marker and
upserts only its step; a bare ``temporal workflow start`` still gets the lean first task (by
the patch) and the search attributes the starter would have set."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from mdmflow.workflows import search
from mdmflow.workflows.engine import LEAN_START_PATCH
from mdmflow.workflows.models import WorkflowStart
from tests.replay.starts import started
from tests.support.history import events
from tests.support.stack import Stack, running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
MARKER = EventType.EVENT_TYPE_MARKER_RECORDED
UPSERT = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES


@pytest.fixture
async def stack(client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(client, f"sqlite+aiosqlite:///{tmp_path}/app.db", devices=1) as s:
        yield s


def upserted_keys(history: list[HistoryEvent]) -> list[list[str]]:
    """The search attribute names of each upsert, in history order."""
    return [
        sorted(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
        for e in history
        if e.event_type == UPSERT
    ]


def patch_markers(history: list[HistoryEvent]) -> list[str]:
    """The patch IDs of the history's patch markers (local activity markers left out)."""
    found = []
    for e in history:
        if e.event_type != MARKER:
            continue
        attrs = e.marker_recorded_event_attributes
        if attrs.marker_name == "core_patch":
            found.append(json.loads(attrs.details["patch-data"].payloads[0].data)["id"])
    return found


async def finished_history(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    await handle.result()
    return await events(handle)


async def test_a_starter_run_records_no_patch_and_upserts_only_its_step(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    handle = await started(stack, DEVINFOLOG, WorkflowStart(enrollment_id=eid))
    history = await finished_history(handle)

    assert patch_markers(history) == []
    assert upserted_keys(history) == [[search.STEP.name]]


async def test_a_start_without_engine_settings_is_lean_by_its_patch(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    handle = await stack.client.start_workflow(
        DEVINFOLOG,
        WorkflowStart(enrollment_id=eid),
        id=f"{DEVINFOLOG}/{eid}",
        task_queue=stack.task_queue,
    )
    history = await finished_history(handle)

    assert patch_markers(history) == [LEAN_START_PATCH]
    upserts = upserted_keys(history)
    start_keys = {search.ENROLLMENT_ID.name, search.WORKFLOW_NAME.name, search.INSTANCE_ID.name}
    assert any(start_keys <= set(keys) for keys in upserts), upserts
    # No local activity on the first task: the engine defaults come from the code.
    assert not any(
        e.event_type == MARKER and e.marker_recorded_event_attributes.marker_name != "core_patch"
        for e in history
    )
