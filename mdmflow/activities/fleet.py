"""The fan-out's activities: start one page of a fleet start's devices, forget the IDs at the end.

One activity starts a whole page from the worker, so a fleet start runs at the rate Temporal
takes client starts. (Starting each device as a child of the fan-out ran at a fifth of it:
every child's start and close is recorded in the one fan-out history and wakes it.) The
fan-out runs two pages at once, so the next page is already starting while one finishes; the
page activities of a worker share one gate of ``FAN_OUT_PARALLEL_STARTS`` starts at a time,
twice a synchronous start's (measured: the fan-out needs more in flight to keep its pace).

The activity heartbeats how far it got. A retry (the worker died, Temporal was unreachable)
resumes after the IDs the last heartbeat counted, and first asks Temporal about each ID it
was not sure of: one whose latest workflow run belongs to this instance was started before
the crash, and is counted, not started again, even if its workflow has ended since.

A page that is gone is a non-retryable failure: retrying cannot bring it back, and the
fan-out should fail saying so rather than wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from mdmflow.activities.device_start import FAN_OUT_PARALLEL_STARTS, start_device, started_for
from mdmflow.activities.fleet_models import (
    ALREADY_RUNNING_SAMPLE,
    FLEET_FORGET_ACTIVITY,
    FLEET_PAGE_ACTIVITY,
    FLEET_START_PAGE_ACTIVITY,
    FleetPage,
    FleetPageOutcome,
    FleetPageStart,
)
from mdmflow.activities.heartbeat import heartbeating
from mdmflow.failures import FLEET_PAGE_MISSING
from mdmflow.store.fleet_ids import FleetIdStore, MissingPageError
from mdmflow.workflows.models import WorkflowStart
from mdmflow.workflows.workflow_config import device_workflow_id


class FleetActivities:
    def __init__(self, store: FleetIdStore) -> None:
        self._store = store
        self._gate = asyncio.Semaphore(FAN_OUT_PARALLEL_STARTS)
        """Device starts in flight from this worker, whichever pages they belong to."""

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for the worker's registration."""
        return [self.start_page, self.read_page, self.forget]

    @activity.defn(name=FLEET_START_PAGE_ACTIVITY)
    async def start_page(self, request: FleetPageStart) -> FleetPageOutcome:
        """Start every device of the page, at most ``request.rate`` per second if one is set."""
        fleet = request.fleet
        ids = await self._page(fleet.instance_id, request.page)
        info = activity.info()
        tally = PageTally(_resumed_from(info.heartbeat_details))
        client = activity.client()
        unsure = info.attempt > 1

        async def one(index: int) -> None:
            eid = ids[index]
            start = WorkflowStart(
                enrollment_id=eid,
                instance_id=fleet.instance_id,
                context=fleet.context,
                engine=fleet.engine,
            )
            workflow_id = device_workflow_id(
                fleet.workflow, fleet.exclusive, eid, fleet.instance_id
            )
            if unsure and await started_for(client, workflow_id, fleet.instance_id):
                tally.record(index, eid, started=True)
                return
            started = await start_device(
                client,
                fleet.task_queue or info.task_queue,
                start,
                name=fleet.workflow,
                exclusive=fleet.exclusive,
                summary=fleet.device_summary,
                first_step=fleet.first_step,
            )
            tally.record(index, eid, started=started)

        loop = asyncio.get_running_loop()
        began = loop.time()
        rate = request.rate

        async def paced(n: int, index: int) -> None:
            """The page's ``n``-th start: not before its time at ``rate``, then as soon as
            the gate has room. Every start waits on the gate itself, so a freed slot goes
            straight to the next waiter (first come, first served), as in a synchronous start;
            a loop that took the slot and then created the start's task idled it for two turns
            of a busy event loop, about a tenth of the rate measured with 3,000 devices."""
            if rate > 0:
                await asyncio.sleep(max(0.0, began + n / rate - loop.time()))
            async with self._gate:
                await one(index)

        async with heartbeating(details=tally.outcome), asyncio.TaskGroup() as group:
            for n, index in enumerate(range(tally.handled, len(ids))):
                group.create_task(paced(n, index), name=f"start {ids[index]}")
        return tally.outcome()

    @activity.defn(name=FLEET_PAGE_ACTIVITY)
    async def read_page(self, request: FleetPage) -> list[str]:
        return await self._page(request.instance_id, request.page)

    @activity.defn(name=FLEET_FORGET_ACTIVITY)
    async def forget(self, instance_id: str) -> None:
        """Delete the instance's pages; deleting what is gone already is no error."""
        await self._store.forget(instance_id)

    async def _page(self, instance_id: str, page: int) -> list[str]:
        try:
            return await self._store.page(instance_id, page)
        except MissingPageError as exc:
            raise ApplicationError(str(exc), type=FLEET_PAGE_MISSING, non_retryable=True) from None


class PageTally:
    """Counts a page's starts in page order, though they finish in any order: the outcome
    covers the first ``handled`` IDs, every one of them done, so a retry may skip exactly
    those."""

    def __init__(self, resumed: FleetPageOutcome) -> None:
        self._done: dict[int, tuple[str, bool]] = {}
        self._outcome = resumed.model_copy(deep=True)

    @property
    def handled(self) -> int:
        return self._outcome.handled

    def record(self, index: int, enrollment_id: str, *, started: bool) -> None:
        self._done[index] = (enrollment_id, started)
        out = self._outcome
        while out.handled in self._done:
            eid, ok = self._done.pop(out.handled)
            out.handled += 1
            if ok:
                out.started += 1
            else:
                out.already_running += 1
                if len(out.already_running_ids) < ALREADY_RUNNING_SAMPLE:
                    out.already_running_ids.append(eid)

    def outcome(self) -> FleetPageOutcome:
        return self._outcome.model_copy(deep=True)


def _resumed_from(details: Sequence[Any]) -> FleetPageOutcome:
    """The last heartbeat's outcome of an earlier attempt, or a fresh one."""
    if not details:
        return FleetPageOutcome()
    return FleetPageOutcome.model_validate(details[0])
