"""The same step rounds through mdmflow's real path, on simulated devices.

Each step round is: enqueue activity (route record, HTTP enqueue + push to the simulator) →
the device's report to the bridge's webhook → intake → route lookup → signal → the workflow
goes on. All of it real, over loopback, in this process or (``cpu``) in separate ones; the
driver only starts workflows and learns when they are done.

Fan-outs wait on visibility (``completion``) like the bare driver; the restart scenario, at
most a few hundred devices, waits on each run's result because it must start the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from temporalio.client import Client, WorkflowFailureError

from bench.completion import wait_closed
from bench.measure import FleetResult, RoundsResult, now, peak_rss_mb, wall
from bench.procs import bounded, time_limit
from bench.stack import MDMStack
from bench.steps_start import start_steps
from mdmflow.starter.start import start_workflows

DEVINFOLOG = "io.micromdm.wf.devinfolog.v1"
"""NanoCMD's name: the one thing the bench needs to know of the workflow it starts."""


@dataclass
class RunTimes:
    called: float
    done: float
    failed: bool


class MDMFlowPath:
    """Drives mdmflow workflows on simulated devices served by some running stack."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        ids: Sequence[str],
        quiet: Callable[[], Awaitable[None]],
        name: str = "mdmflow",
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._ids = list(ids)
        self._quiet = quiet
        self._name = name

    @classmethod
    def of(cls, stack: MDMStack, name: str = "mdmflow") -> MDMFlowPath:
        """On an in-process stack: its trailing Idle reports are awaited after each scenario."""
        sim = stack.sim
        return cls(stack.client, stack.task_queue, sim.enrollment_ids(), sim.wait_until_quiet, name)

    async def k_steps(self, devices: int, steps: int) -> RoundsResult:
        """(a) ``devices`` devices at once, each doing ``steps`` steps in one ``bench.steps``."""
        ids = self._ids[:devices]
        begin = wall()
        instance_id, started = await start_steps(self._client, self._task_queue, ids, steps)
        closed = await wait_closed(self._client, instance_query(instance_id), len(started))
        await self._quiet()
        return RoundsResult(
            name=self._name,
            devices=devices,
            rounds=devices * steps,
            seconds=closed.last_close - begin,
            failures=closed.failed + len(ids) - len(started),
            peak_rss_mb=peak_rss_mb(),
            events_per_workflow=closed.events_per_workflow,
        )

    async def device_rounds(self, devices: int, rounds: int) -> RoundsResult:
        """(b) Every device runs devinfolog ``rounds`` times back to back (the ID is reusable
        once the previous run completed); a round's latency is from the start call to the
        result."""
        ids = self._ids[:devices]

        async def device(eid: str) -> list[RunTimes]:
            return [await self._run(eid) for _ in range(rounds)]

        begin = now()
        per_device = await bounded(
            f"{devices} devices doing {rounds} devinfolog runs",
            time_limit(devices * rounds),
            asyncio.gather(*(device(eid) for eid in ids)),
        )
        seconds = now() - begin
        await self._quiet()  # trailing Idle reports stay in this scenario
        runs = [run for runs in per_device for run in runs]
        return RoundsResult(
            name=self._name,
            devices=devices,
            rounds=len(runs),
            seconds=seconds,
            latencies=[run.done - run.called for run in runs if not run.failed],
            failures=sum(run.failed for run in runs),
            peak_rss_mb=peak_rss_mb(),
        )

    async def fleet(self, count: int) -> FleetResult:
        """(c) One ``start_workflows`` call on ``count`` IDs, then every run to completion."""
        ids = self._ids[:count]
        begin, begin_wall = now(), wall()
        outcome = await start_workflows(self._client, self._task_queue, DEVINFOLOG, ids)
        started = now()
        closed = await wait_closed(
            self._client, instance_query(outcome.instance_id), len(outcome.started)
        )
        await self._quiet()
        return FleetResult(
            name=self._name,
            workflows=len(ids),
            start_seconds=started - begin,
            complete_seconds=closed.last_close - begin_wall,
            failures=len(outcome.already_running) + closed.failed,
            peak_rss_mb=peak_rss_mb(),
            events_per_workflow=closed.events_per_workflow,
        )

    async def _run(self, eid: str) -> RunTimes:
        called = now()
        outcome = await start_workflows(self._client, self._task_queue, DEVINFOLOG, [eid])
        ok = bool(outcome.started) and await self._result(eid)
        return RunTimes(called=called, done=now(), failed=not ok)

    async def _result(self, eid: str) -> bool:
        """Wait for the device's latest devinfolog run; False if it failed."""
        handle = self._client.get_workflow_handle(exclusive_id(DEVINFOLOG, eid))
        try:
            await handle.result()
        except WorkflowFailureError:
            return False
        return True


def exclusive_id(name: str, enrollment_id: str) -> str:
    """The workflow ID of an exclusive MDM workflow (NanoCMD's one run per device)."""
    return f"{name}/{enrollment_id}"


def instance_query(instance_id: str) -> str:
    """Every workflow one start call made: they share the instance ID search attribute."""
    return f"MdmInstanceId = '{instance_id}'"
