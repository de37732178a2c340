"""``mdmflow.fleetstart.v1``: start one MDM workflow on thousands of devices, durably.

The bridge answers a large start at once and leaves the fan-out to this workflow. Each page
of IDs (read from the app database, where the starter left them) is one activity, which
starts the page's device workflows from the worker as a synchronous start would. A run
starts ``pages_per_run`` pages, two at a time, so the next page is already starting while
one finishes (one page at a time, each page's end and the next one's start cost a round trip
through the server, and a continue-as-new per page one more), and then continues as new, so
the history stays bounded however large the fleet. The device workflows are the same as a
small start's (workflow ID, search attributes, summary).

The activity heartbeats how far it got and checks, when retried, which devices it started
before a crash, so a killed worker neither starts a device twice nor misses one. A start rate
(``MDMFLOW_START_RATE``) is kept by the activity; without one each page starts as fast as
Temporal takes the starts. Progress, counted per page, is in the ``progress`` query and the
Web UI's details. Cancelling the fan-out waits until the activity has stopped starting.

Fan-outs begun before the page activity started every device as an abandoned child, at the
pace of the one fan-out history (a fifth of the client start rate); their runs keep doing so
(:data:`PAGE_ACTIVITY_PATCH`). Runs begun before pages overlapped keep one page per run
(:data:`PAGE_WINDOW_PATCH`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    WorkflowAlreadyStartedError,
    is_cancelled_exception,
)
from temporalio.workflow import ActivityCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.fleet import FleetActivities
    from mdmflow.activities.fleet_models import (
        ALREADY_RUNNING_SAMPLE,
        FLEET_START_WORKFLOW,
        FleetPage,
        FleetPageStart,
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
PAGE_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
"""A worker killed mid-page is noticed within this; its beat is every second."""
PAGE_MIN_TIMEOUT = timedelta(minutes=10)
PAGE_ACTIVITY_PATCH = "fleet-start-page-activity"
PAGE_WINDOW_PATCH = "fleet-start-page-window"
PAGE_WINDOW = 2
"""Pages starting at once; they share the fleet's start rate and the worker's start gate."""
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
                if workflow.patched(PAGE_WINDOW_PATCH):
                    await self._start_pages(start)
                else:
                    await self._start_page(start, self._progress.pages_done)
                    self._progress.pages_done += 1
                    self._show(start)
                if self._progress.pages_done < start.pages:
                    workflow.continue_as_new(start.model_copy(update={"progress": self._progress}))
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError) or is_cancelled_exception(exc):
                await self._forget(start)
            raise
        await self._forget(start)
        self._progress.done = True
        self._show(start)
        return self._progress

    @workflow.query
    def progress(self) -> FleetProgress:
        return self._progress

    async def _start_pages(self, start: FleetStartInput) -> None:
        """This run's pages, :data:`PAGE_WINDOW` at a time. If one fails, the others are
        cancelled and awaited before the failure is raised, so none goes on starting."""
        first = self._progress.pages_done
        pages = range(first, min(start.pages, first + start.pages_per_run))
        share = min(PAGE_WINDOW, len(pages))
        window = asyncio.Semaphore(share)

        async def page(number: int) -> None:
            async with window:
                await self._start_page(start, number, share)
            self._progress.pages_done += 1
            self._show(start)

        tasks = [asyncio.create_task(page(number)) for number in pages]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _start_page(self, start: FleetStartInput, page: int, share: int = 1) -> None:
        if not workflow.patched(PAGE_ACTIVITY_PATCH):
            await self._start_page_as_children(start, page)
            return
        request = FleetPageStart(fleet=start, page=page, rate_share=share)
        starting = workflow.start_activity_method(
            FleetActivities.start_page,
            request,
            start_to_close_timeout=_page_timeout(request),
            heartbeat_timeout=PAGE_HEARTBEAT_TIMEOUT,
            retry_policy=STORE_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=f"start page {page + 1} of {start.pages}",
        )
        try:
            self._progress.add(await asyncio.shield(starting))
        except asyncio.CancelledError:
            # The activity may finish its page before it hears of the cancel; awaited
            # directly, its result would swallow the cancel and the fan-out would go on.
            starting.cancel()
            with contextlib.suppress(ActivityError):
                self._progress.add(await starting)
            raise

    async def _start_page_as_children(self, start: FleetStartInput, page: int) -> None:
        """The first design, kept for fan-out runs begun before the page activity."""
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


def _page_timeout(request: FleetPageStart) -> timedelta:
    """Room for a page at its start rate, twice over; the heartbeat, not this, notices a
    dead worker."""
    fleet = request.fleet
    per_page = -(-fleet.progress.total // fleet.pages)
    if request.rate <= 0:
        return PAGE_MIN_TIMEOUT
    return max(PAGE_MIN_TIMEOUT, timedelta(seconds=2 * per_page / request.rate))
