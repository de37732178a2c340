"""Synchronise tests on a workflow's own history (long-polled), never on sleeps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle


async def wait_for_event(
    handle: WorkflowHandle[Any, Any], event_type: EventType.ValueType, count: int = 1
) -> HistoryEvent:
    """Block until the history holds ``count`` events of ``event_type``; return the last."""
    seen = 0
    async for event in handle.fetch_history_events(wait_new_event=True):
        if event.event_type == event_type:
            seen += 1
            if seen >= count:
                return event
    raise AssertionError(f"history ended before {count} events of type {event_type}")


async def events(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return [e async for e in handle.fetch_history_events()]


def event_time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime()


def elapsed(history: list[HistoryEvent], event_type: EventType.ValueType) -> timedelta:
    """Time from the workflow's start to the first event of ``event_type``."""
    first = next(e for e in history if e.event_type == event_type)
    return event_time(first) - event_time(history[0])


LOCAL_ACTIVITY_MARKER = "core_local_activity"


def activity_types(history: list[HistoryEvent]) -> list[str]:
    """Every activity the workflow ran, in history order: scheduled activities and local
    activities (recorded as markers whose ``data`` detail names the type)."""
    names: list[str] = []
    for event in history:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                data = json.loads(marker.details["data"].payloads[0].data)
                names.append(str(data["activity_type"]))
    return names


def upserted(history: list[HistoryEvent], name: str) -> list[Any]:
    """The value each search-attribute upsert gave ``name``, in history order (None: unset).
    Search attributes are plain JSON in history: the codec does not encrypt them."""
    values: list[Any] = []
    for event in history:
        if event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            continue
        attrs = event.upsert_workflow_search_attributes_event_attributes
        fields = attrs.search_attributes.indexed_fields
        if name in fields:
            values.append(json.loads(fields[name].data) if fields[name].data else None)
    return values


def patch_markers(history: list[HistoryEvent]) -> list[str]:
    """The patch IDs of the history's patch markers (local activity markers left out)."""
    found = []
    for event in history:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name == "core_patch":
            found.append(json.loads(attrs.details["patch-data"].payloads[0].data)["id"])
    return found
