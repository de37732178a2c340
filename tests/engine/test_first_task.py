"""What a device workflow's history holds besides its steps: a run started by mdmflow's
starter carries its engine settings and search attributes (its first step's included), so it
records no patch marker (neither the lean first task's nor lock's PIN by reference) and
upserts nothing until its step changes, and it enqueues as a local activity; a bare
``temporal workflow start`` still gets the lean first task and the local enqueue (by their
patches) and the search attributes the starter would have set. Every declared first step is
the one its workflow's recorded run took."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from bench.steps_start import start_steps
from bench.steps_workflow import BenchStepsWorkflow
from mdmflow.activities.lock_models import LOCK_WORKFLOW
from mdmflow.activities.models import ENQUEUE_ACTIVITY
from mdmflow.workflows import search
from mdmflow.workflows.engine import (
    LEAN_START_PATCH,
    LOCAL_ENQUEUE_PATCH,
    ROUTES_IN_UUIDS_PATCH,
    STEP_ALARM_PATCH,
)
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.registry import WORKFLOWS, workflow_class
from mdmflow.workflows.workflow_config import device_workflow_id
from tests.replay.record import GENERATION, HISTORIES
from tests.replay.starts import started
from tests.support.history import LOCAL_ACTIVITY_MARKER, events, patch_markers
from tests.support.stack import Stack, running_stack

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
SHORT = {name: name.split(".")[-2] for name in WORKFLOWS}
"""A workflow's name in recorded history file names: ``io.micromdm.wf.lock.v1`` -> ``lock``."""
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


def local_activity_types(history: list[HistoryEvent]) -> list[str]:
    """The activity type of each local activity marker, in history order."""
    return [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)[
            "activity_type"
        ]
        for e in history
        if e.event_type == MARKER
        and e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    ]


def scheduled_activity_types(history: list[HistoryEvent]) -> list[str]:
    """The activity type of each regular (scheduled) activity, in history order."""
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def finished_history(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    await handle.result()
    return await events(handle)


@pytest.mark.parametrize("name", [DEVINFOLOG, LOCK_WORKFLOW])
async def test_a_starter_run_records_no_patch_and_upserts_nothing(stack: Stack, name: str) -> None:
    """Lock's PIN by reference is a patch as old as the lean first task: neither is marked."""
    eid = stack.sim.enrollment_ids()[0]
    handle = await started(stack, name, WorkflowStart(enrollment_id=eid))
    history = await finished_history(handle)

    assert patch_markers(history) == []
    assert upserted_keys(history) == []
    assert ENQUEUE_ACTIVITY in local_activity_types(history)
    assert ENQUEUE_ACTIVITY not in scheduled_activity_types(history)
    step = (await handle.describe()).typed_search_attributes.get(search.STEP)
    assert step == workflow_class(name).config.first_step != ""


DECLARED = sorted(n for n, cls in WORKFLOWS.items() if cls.config.first_step)


@pytest.mark.parametrize("name", DECLARED)
def test_the_declared_first_step_is_the_first_step_taken(name: str) -> None:
    """In the latest recorded history of each workflow declaring a first step, the starter
    set it, and no ``MdmStep`` upsert comes before the first enqueue: a wrong declaration
    would show as an upsert there, since a step is entered before it enqueues. (That replay
    agrees is the replay test's.)"""
    recorded = sorted(HISTORIES.glob(f"{GENERATION}-{SHORT[name]}-*.json"))
    assert recorded, f"no {GENERATION} history of {name}"
    for path in recorded:
        events = json.loads(path.read_text())["events"]
        started_with = events[0]["workflowExecutionStartedEventAttributes"]
        if "continuedExecutionRunId" in started_with:
            continue  # a continued run carries its predecessor's attributes
        assert step_value(started_with["searchAttributes"]) == WORKFLOWS[name].config.first_step
        first_enqueue = next(n for n, e in enumerate(events) if is_enqueue(e))
        upserted = [
            step_value(e["upsertWorkflowSearchAttributesEventAttributes"]["searchAttributes"])
            for e in events[:first_enqueue]
            if e["eventType"] == "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"
        ]
        assert [v for v in upserted if v is not None] == [], path.name


def is_enqueue(event: dict[str, Any]) -> bool:
    """Whether a JSON history event records an enqueue: a scheduled activity, or a local
    activity's marker (whose ``data`` detail names its type)."""
    scheduled = event.get("activityTaskScheduledEventAttributes", {})
    if scheduled.get("activityType", {}).get("name") == ENQUEUE_ACTIVITY:
        return True
    marker = event.get("markerRecordedEventAttributes", {})
    if marker.get("markerName") != LOCAL_ACTIVITY_MARKER:
        return False
    payload = marker["details"]["data"]["payloads"][0]["data"]
    return bool(json.loads(base64.b64decode(payload))["activity_type"] == ENQUEUE_ACTIVITY)


def step_value(attributes: dict[str, Any]) -> str | None:
    """``MdmStep`` from a JSON history's search attributes, None when absent."""
    field = attributes.get("indexedFields", {}).get(search.STEP.name)
    if field is None:
        return None
    value: str = json.loads(base64.b64decode(field["data"]))
    return value


async def test_a_start_without_engine_settings_is_lean_by_its_patch(stack: Stack) -> None:
    eid = stack.sim.enrollment_ids()[0]
    handle = await stack.client.start_workflow(
        DEVINFOLOG,
        WorkflowStart(enrollment_id=eid),
        id=f"{DEVINFOLOG}/{eid}",
        task_queue=stack.task_queue,
    )
    history = await finished_history(handle)

    assert patch_markers(history) == [
        LEAN_START_PATCH,
        ROUTES_IN_UUIDS_PATCH,
        LOCAL_ENQUEUE_PATCH,
        STEP_ALARM_PATCH,
    ]
    upserts = upserted_keys(history)
    start_keys = {search.ENROLLMENT_ID.name, search.WORKFLOW_NAME.name, search.INSTANCE_ID.name}
    assert any(start_keys <= set(keys) for keys in upserts), upserts
    # The enqueue is the only local activity: the engine defaults come from the code, and
    # the last-started record travels with the first enqueue.
    assert set(local_activity_types(history)) == {ENQUEUE_ACTIVITY}
    assert ENQUEUE_ACTIVITY not in scheduled_activity_types(history)


async def test_the_benchs_steps_start_as_the_product_starts(client: Client, tmp_path: Path) -> None:
    """The bench's (a) and (e) start ``bench.steps`` through the product's starter, so its
    runs are a new start's (no patch marker) and upsert ``MdmStep`` only for the steps after
    the first, which the starter set: what bare Temporal is compared with is mdmflow's path."""
    async with running_stack(
        client,
        f"sqlite+aiosqlite:///{tmp_path}/app.db",
        devices=1,
        extra_workflows=[BenchStepsWorkflow],
    ) as stack:
        eid = stack.sim.enrollment_ids()[0]
        instance_id, started_ids = await start_steps(stack.client, stack.task_queue, [eid], 3)
        assert started_ids == [eid]
        config = BenchStepsWorkflow.config
        handle = stack.client.get_workflow_handle(
            device_workflow_id(config.name, config.exclusive, eid, instance_id)
        )
        history = await finished_history(handle)

    assert patch_markers(history) == []
    assert upserted_keys(history) == [[search.STEP.name], [search.STEP.name]]
    assert local_activity_types(history) == [ENQUEUE_ACTIVITY] * 3
