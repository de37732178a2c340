"""Bare Temporal step rounds: the budget mdmflow's own path is measured against.

Runs ``StepRoundsWorkflow`` on a plain client (default converter, no interceptors) and a
worker with nothing but that workflow and its trivial activity; the driver answers each step
with a signal as soon as the activity ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from bench.measure import FleetResult, RoundsResult, now, peak_rss_mb
from bench.rounds_activity import StepNotifier
from bench.rounds_workflow import RoundsInput, StepRoundsWorkflow
from mdmflow.starter.start import MAX_PARALLEL_STARTS


@dataclass
class RunMarks:
    """Times of one run: start called, start returned, each step activity ran, result."""

    called: float
    started: float = 0.0
    steps: list[float] = field(default_factory=list)
    done: float = 0.0
    failed: bool = False


class Baseline:
    """Drives bare step-round workflows on one task queue of the bench's worker."""

    def __init__(self, client: Client, task_queue: str, notifier: StepNotifier) -> None:
        self._client = client
        self._task_queue = task_queue
        self._notifier = notifier

    async def step_rounds(self, workflows: int, rounds: int) -> RoundsResult:
        """``workflows`` runs at once, each doing ``rounds`` rounds; a round's latency is from
        one step activity to the next (or, for the last, to the result)."""
        tag = uuid.uuid4().hex[:8]
        begin = now()
        runs = await asyncio.gather(
            *(self._run(f"bench-rounds-{tag}-{i}", rounds) for i in range(workflows))
        )
        seconds = now() - begin
        latencies = [
            later - earlier
            for run in runs
            if not run.failed
            for earlier, later in zip(run.steps, [*run.steps[1:], run.done], strict=True)
        ]
        return RoundsResult(
            name="baseline",
            rounds=workflows * rounds,
            seconds=seconds,
            latencies=latencies,
            failures=sum(run.failed for run in runs),
            peak_rss_mb=peak_rss_mb(),
        )

    async def restarted(self, workflows: int, rounds: int) -> RoundsResult:
        """Like devinfolog: one round per run, the same IDs started again after completion;
        a round's latency is from the start call to the result."""
        tag = uuid.uuid4().hex[:8]

        async def device(wid: str) -> list[RunMarks]:
            return [await self._run(wid, 1) for _ in range(rounds)]

        begin = now()
        per_device = await asyncio.gather(
            *(device(f"bench-restart-{tag}-{i}") for i in range(workflows))
        )
        seconds = now() - begin
        runs = [run for runs in per_device for run in runs]
        return RoundsResult(
            name="baseline-restart",
            rounds=len(runs),
            seconds=seconds,
            latencies=[run.done - run.called for run in runs if not run.failed],
            failures=sum(run.failed for run in runs),
            peak_rss_mb=peak_rss_mb(),
        )

    async def fleet(self, count: int) -> FleetResult:
        """``count`` one-round runs started with the same parallelism as ``start_workflows``."""
        tag = uuid.uuid4().hex[:8]
        gate = asyncio.Semaphore(MAX_PARALLEL_STARTS)
        begin = now()
        runs = await asyncio.gather(
            *(self._run(f"bench-fleet-{tag}-{i}", 1, gate) for i in range(count))
        )
        return FleetResult(
            name="fleet-baseline",
            workflows=count,
            start_seconds=max(run.started for run in runs) - begin,
            complete_seconds=max(run.done for run in runs) - begin,
            failures=sum(run.failed for run in runs),
            peak_rss_mb=peak_rss_mb(),
        )

    async def _run(
        self, workflow_id: str, rounds: int, gate: asyncio.Semaphore | None = None
    ) -> RunMarks:
        """Start one run, signal after each of its steps, wait for its result."""
        steps = self._notifier.watch(workflow_id)
        marks = RunMarks(called=now())
        try:
            async with gate or contextlib.nullcontext():
                handle = await self._client.start_workflow(
                    StepRoundsWorkflow.run,
                    RoundsInput(rounds=rounds),
                    id=workflow_id,
                    task_queue=self._task_queue,
                )
            marks.started = now()
            for _ in range(rounds):
                marks.steps.append(await steps.get())
                await handle.signal(StepRoundsWorkflow.report)
            try:
                await handle.result()
            except WorkflowFailureError:
                marks.failed = True
            marks.done = now()
        finally:
            self._notifier.forget(workflow_id)
        return marks


@contextlib.asynccontextmanager
async def running_baseline(client: Client) -> AsyncIterator[Baseline]:
    """A worker for the baseline workflow on its own task queue, for the block's duration."""
    notifier = StepNotifier()
    task_queue = f"bench-baseline-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[StepRoundsWorkflow],
        activities=[notifier.step],
        max_cached_workflows=2000,
    ):
        yield Baseline(client, task_queue, notifier)
