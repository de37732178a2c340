"""``mdmflow.fleetstart.v1``: start one MDM workflow on thousands of devices, durably.

The bridge answers a large start at once and leaves the fan-out to this workflow. Each device
workflow is started as a child with ``ParentClosePolicy.ABANDON``: Temporal records every child
start in this history, so a worker killed mid-fan-out is replaced and the replay neither
starts a device twice nor misses one, with no deduplication of ours. The device workflows are
the same as a small start's (workflow ID, search attributes, summary); being children only
links them to this fan-out in the Web UI, and they outlive it.

One run handles one page of IDs (read from the app database, where the starter left them)
and continues as new, so the history stays bounded however large the fleet. A start rate
(``MDMFLOW_START_RATE``) is kept with timers; without one each page starts all at once and
Temporal sets the pace. Progress is in the ``progress`` query and the Web UI's details.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.fleet import FleetActivities
    from mdmflow.activities.fleet_models import (
        ALREADY_RUNNING_SAMPLE,
        FLEET_START_WORKFLOW,
        FleetPage,
        FleetProgress,
        FleetStartInput,
    )
    from mdmflow.workflows import search
    from mdmflow.workflows.models import WorkflowStart
    from mdmflow.workflows.workflow_config import (
        WORKFLOW_TASK_TIMEOUT,
        device_details,
        device_workflow_id,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


@workflow.defn(name=FLEET_START_WORKFLOW)
class FleetStartWorkflow:
    """Starts the instance's device workflows page by page; returns the final progress."""

    def __init__(self) -> None:
        self._progress = FleetProgress(workflow="", total=0)

    @workflow.run
    async def run(self, start: FleetStartInput) -> FleetProgress:
        self._progress = start.progress.model_copy(deep=True)
        self._show(start)
        try:
            if self._progress.pages_done < start.pages:
                await self._start_page(start, self._progress.pages_done)
                self._progress.pages_done += 1
                self._show(start)
                if self._progress.pages_done < start.pages:
                    workflow.continue_as_new(start.model_copy(update={"progress": self._progress}))
        except asyncio.CancelledError:
            await self._forget(start)
            raise
        await self._forget(start)
        self._progress.done = True
        self._show(start)
        return self._progress

    @workflow.query
    def progress(self) -> FleetProgress:
        return self._progress

    async def _start_page(self, start: FleetStartInput, page: int) -> None:
        ids = await workflow.execute_activity_method(
            FleetActivities.read_page,
            FleetPage(instance_id=start.instance_id, page=page),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary=f"read page {page + 1} of {start.pages}",
        )
        batch = len(ids) if start.rate <= 0 else max(1, min(len(ids), int(start.rate)))
        for first in range(0, len(ids), batch):
            began = workflow.now()
            chunk = ids[first : first + batch]
            await asyncio.gather(*(self._start_device(start, eid) for eid in chunk))
            self._show(start)
            if start.rate > 0:
                paced = began + timedelta(seconds=len(chunk) / start.rate) - workflow.now()
                if paced > timedelta(0):
                    await workflow.sleep(paced, summary="keep the start rate")

    async def _start_device(self, start: FleetStartInput, enrollment_id: str) -> None:
        device = WorkflowStart(
            enrollment_id=enrollment_id,
            instance_id=start.instance_id,
            context=start.context,
            engine=start.engine,
        )
        try:
            await workflow.start_child_workflow(
                start.workflow,
                device,
                id=device_workflow_id(
                    start.workflow, start.exclusive, enrollment_id, start.instance_id
                ),
                search_attributes=search.start_attributes(
                    start.workflow, enrollment_id, start.instance_id
                ),
                static_summary=f"{start.device_summary} on {enrollment_id}",
                static_details=device_details(start.instance_id, start.context),
                parent_close_policy=ParentClosePolicy.ABANDON,
                task_timeout=WORKFLOW_TASK_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            self._progress.already_running += 1
            if len(self._progress.already_running_ids) < ALREADY_RUNNING_SAMPLE:
                self._progress.already_running_ids.append(enrollment_id)
            return
        self._progress.started += 1

    async def _forget(self, start: FleetStartInput) -> None:
        await workflow.execute_activity_method(
            FleetActivities.forget,
            start.instance_id,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="delete the start's stored IDs",
        )

    def _show(self, start: FleetStartInput) -> None:
        workflow.set_current_details(
            f"{self._progress.summary()}; page {min(self._progress.pages_done + 1, start.pages)}"
            f" of {start.pages}" + (f"; at most {start.rate:g} starts/s" if start.rate else "")
        )
