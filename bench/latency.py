"""(e) mdmflow's latency at N=1: from a device's report leaving to the next step's enqueue.

One device runs ``bench.steps`` (K sequential steps), one run at a time, so nothing queues
behind anything: what is left is the path itself (webhook → intake → route → signal →
workflow task → next enqueue activity → HTTP enqueue). The bare counterpart is
``Baseline.latency``: signal call → next step activity.
"""

from __future__ import annotations

import bisect
from urllib.parse import urlsplit

from temporalio.client import WorkflowFailureError

from bench.mdmflow_path import exclusive_id
from bench.measure import LatencyResult
from bench.procs import bounded, time_limit
from bench.stack import MDMStack
from bench.steps_start import start_steps
from bench.steps_workflow import STEPS_WORKFLOW
from bench.timed_simulator import TimedSimulator
from mdmflow.mdm.reports import CommandStatus

ACKNOWLEDGED = CommandStatus.ACKNOWLEDGED.value


async def mdmflow_latency(stack: MDMStack, runs: int, steps: int) -> LatencyResult:
    """``runs`` runs of ``steps`` steps on the first device; K-1 samples per run."""
    result = LatencyResult(name="mdmflow")
    await bounded(
        f"mdmflow latency, {runs} runs of {steps} steps",
        time_limit(runs * steps),
        _runs(stack, runs, steps, result),
    )
    return result


async def _runs(stack: MDMStack, runs: int, steps: int, result: LatencyResult) -> None:
    sim = stack.sim
    eid = sim.enrollment_ids()[0]
    for _ in range(runs):
        sim.start_timing()
        try:
            _instance, started = await start_steps(stack.client, stack.task_queue, [eid], steps)
            if started:
                handle = stack.client.get_workflow_handle(exclusive_id(STEPS_WORKFLOW, eid))
                try:
                    await handle.result()
                except WorkflowFailureError:
                    result.failures += 1
            else:
                result.failures += 1
            await sim.wait_until_quiet()
        finally:
            sim.stop_timing()
        result.latencies += report_to_enqueue(sim, eid)


def report_to_enqueue(sim: TimedSimulator, eid: str) -> list[float]:
    """For each final answer the device posted, the time until the next enqueue arrived."""
    enqueue_path = urlsplit(sim.enqueue_url("http://sim")).path
    answers = [t for t, who, status in sim.posts if who == eid and status == ACKNOWLEDGED]
    enqueues = sorted(t for t, path in sim.arrivals if path.startswith(enqueue_path))
    samples = []
    for answered in answers:
        index = bisect.bisect_right(enqueues, answered)
        if index < len(enqueues):
            samples.append(enqueues[index] - answered)
    return samples
