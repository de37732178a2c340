"""The same step rounds through mdmflow's real path, on simulated devices.

Each ``devinfolog`` run is one step round: ``start_workflows`` → enqueue activity (route
record, HTTP enqueue + push to the simulator) → the device's report to the bridge's webhook →
route lookup → signal → completion. All of it real, over loopback, in this process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.client import WorkflowFailureError

from bench.measure import FleetResult, RoundsResult, now, peak_rss_mb
from bench.stack import MDMStack
from mdmflow.starter.start import start_workflows
from mdmflow.workflows.devinfolog import DeviceInfoLog, DevInfoLogWorkflow

DEVINFOLOG = DevInfoLogWorkflow.name


@dataclass
class RunTimes:
    called: float
    done: float
    failed: bool


class MDMFlowPath:
    """Drives devinfolog on a running stack's simulated devices."""

    def __init__(self, stack: MDMStack, name: str = "mdmflow") -> None:
        self._stack = stack
        self._name = name

    async def device_rounds(self, devices: int, rounds: int) -> RoundsResult:
        """Every device runs devinfolog ``rounds`` times back to back (the ID is reusable once
        the previous run completed); a round's latency is from the start call to the result."""
        ids = self._stack.sim.enrollment_ids()[:devices]

        async def device(eid: str) -> list[RunTimes]:
            return [await self._run(eid) for _ in range(rounds)]

        begin = now()
        per_device = await asyncio.gather(*(device(eid) for eid in ids))
        seconds = now() - begin
        await self._stack.sim.wait_until_quiet()  # trailing Idle reports stay in this scenario
        runs = [run for runs in per_device for run in runs]
        return RoundsResult(
            name=self._name,
            rounds=len(runs),
            seconds=seconds,
            latencies=[run.done - run.called for run in runs if not run.failed],
            failures=sum(run.failed for run in runs),
            peak_rss_mb=peak_rss_mb(),
        )

    async def fleet(self, count: int) -> FleetResult:
        """One ``start_workflows`` call on ``count`` IDs, then every run to completion."""
        ids = self._stack.sim.enrollment_ids()[:count]
        begin = now()
        outcome = await start_workflows(self._stack.client, self._stack.task_queue, DEVINFOLOG, ids)
        started = now()
        results = await asyncio.gather(*(self._result(eid) for eid in outcome.started))
        done = now()
        await self._stack.sim.wait_until_quiet()
        return FleetResult(
            name="fleet-mdmflow",
            workflows=len(ids),
            start_seconds=started - begin,
            complete_seconds=done - begin,
            failures=len(outcome.already_running) + results.count(False),
            peak_rss_mb=peak_rss_mb(),
        )

    async def _run(self, eid: str) -> RunTimes:
        called = now()
        outcome = await start_workflows(
            self._stack.client, self._stack.task_queue, DEVINFOLOG, [eid]
        )
        ok = bool(outcome.started) and await self._result(eid)
        return RunTimes(called=called, done=now(), failed=not ok)

    async def _result(self, eid: str) -> bool:
        """Wait for the device's latest devinfolog run; False if it failed."""
        handle = self._stack.client.get_workflow_handle(
            DevInfoLogWorkflow.workflow_id(eid, ""), result_type=DeviceInfoLog
        )
        try:
            await handle.result()
        except WorkflowFailureError:
            return False
        return True
