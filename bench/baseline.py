"""Bare Temporal step rounds: the budget mdmflow's own path is measured against.

Runs ``StepRoundsWorkflow`` on a plain client (default converter, no interceptors) and a
worker with nothing but that workflow and its trivial activity; the driver answers each step
with a signal as soon as the activity ran. The worker runs in this process
(``running_baseline``) or in its own (``bare_worker``, fed back through ``notify_link``); the
driver is the same either way.

Fan-outs of thousands do not wait on ``handle.result()`` (one long poll each, beyond the dev
server's limit) but on visibility (``completion``), exactly as mdmflow's driver does.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.completion import Closed, wait_closed
from bench.measure import FleetResult, LatencyResult, RoundsResult, now, peak_rss_mb, wall
from bench.procs import bounded, time_limit
from bench.rounds_activity import BARE_MAX_CACHED, StepNotifier
from bench.rounds_workflow import RoundsInput, StepRoundsWorkflow
from mdmflow.activities.device_start import MAX_PARALLEL_STARTS


@dataclass
class RunMarks:
    """Times of one run: start called, start returned, each step activity ran, result."""

    called: float
    started: float = 0.0
    steps: list[float] = field(default_factory=list)
    done: float = 0.0
    failed: bool = False


@dataclass(frozen=True)
class FanOut:
    """Many runs started at once (starts as parallel as mdmflow's starter) and driven."""

    begin: float
    """Wall-clock time of the first start call."""
    starts_seconds: float
    """Until the last start was accepted."""
    closed: Closed

    @property
    def seconds(self) -> float:
        """Until the last run closed."""
        return self.closed.last_close - self.begin


class Baseline:
    """Drives bare step-round workflows on one task queue of a bare worker."""

    def __init__(self, client: Client, task_queue: str, notifier: StepNotifier) -> None:
        self._client = client
        self._task_queue = task_queue
        self._notifier = notifier

    async def k_steps(self, workflows: int, steps: int) -> RoundsResult:
        """(a) ``workflows`` runs at once, each doing ``steps`` rounds in one run."""
        fan = await self._fan_out("steps", workflows, steps)
        return RoundsResult(
            name="bare",
            devices=workflows,
            rounds=workflows * steps,
            seconds=fan.seconds,
            failures=fan.closed.failed,
            peak_rss_mb=peak_rss_mb(),
            events_per_workflow=fan.closed.events_per_workflow,
        )

    async def restarted(self, workflows: int, rounds: int) -> RoundsResult:
        """(b) Like devinfolog: one round per run, the same IDs started again after
        completion; a round's latency is from the start call to the result."""
        tag = uuid.uuid4().hex[:8]

        async def device(wid: str) -> list[RunMarks]:
            return [await self._run(wid, 1) for _ in range(rounds)]

        begin = now()
        per_device = await bounded(
            f"{workflows} bare devices doing {rounds} runs",
            time_limit(workflows * rounds),
            asyncio.gather(*(device(f"bench-restart-{tag}-{i}") for i in range(workflows))),
        )
        seconds = now() - begin
        runs = [run for runs in per_device for run in runs]
        return RoundsResult(
            name="bare-restart",
            devices=workflows,
            rounds=len(runs),
            seconds=seconds,
            latencies=[run.done - run.called for run in runs if not run.failed],
            failures=sum(run.failed for run in runs),
            peak_rss_mb=peak_rss_mb(),
        )

    async def fleet(self, count: int) -> FleetResult:
        """(c) ``count`` one-round runs started with the same parallelism as
        ``start_workflows``; until all are accepted, and until all are done."""
        fan = await self._fan_out("fleet", count, 1)
        return FleetResult(
            name="bare",
            workflows=count,
            start_seconds=fan.starts_seconds,
            complete_seconds=fan.seconds,
            failures=fan.closed.failed,
            peak_rss_mb=peak_rss_mb(),
            events_per_workflow=fan.closed.events_per_workflow,
        )

    async def latency(self, runs: int, steps: int) -> LatencyResult:
        """(e) One workflow at a time doing ``steps`` rounds: from the signal call to the
        next step activity's start, for every round but the last of each run."""
        result = LatencyResult(name="bare")
        await bounded(
            f"bare latency, {runs} runs of {steps} steps",
            time_limit(runs * steps),
            self._latency_runs(runs, steps, result),
        )
        return result

    async def _latency_runs(self, runs: int, steps: int, result: LatencyResult) -> None:
        tag = uuid.uuid4().hex[:8]
        for number in range(runs):
            wid = f"bench-latency-{tag}-{number}"
            steps_ran = self._notifier.watch(wid)
            try:
                handle = await self._client.start_workflow(
                    StepRoundsWorkflow.run,
                    RoundsInput(rounds=steps),
                    id=wid,
                    task_queue=self._task_queue,
                )
                signalled: float | None = None
                for _ in range(steps):
                    ran = await steps_ran.get()
                    if signalled is not None:
                        result.latencies.append(ran - signalled)
                    signalled = now()
                    await handle.signal(StepRoundsWorkflow.report)
                try:
                    await handle.result()
                except WorkflowFailureError:
                    result.failures += 1
            finally:
                self._notifier.forget(wid)

    async def park(self, count: int) -> float:
        """(d) Start ``count`` one-round runs and never answer: each runs its step and then
        waits on a signal for good. Returns the seconds until every step ran."""
        tag = uuid.uuid4().hex[:8]
        target = self._notifier.count + count
        gate = asyncio.Semaphore(MAX_PARALLEL_STARTS)

        async def start(number: int) -> None:
            async with gate:
                await self._client.start_workflow(
                    StepRoundsWorkflow.run,
                    RoundsInput(rounds=1),
                    id=f"bench-park-{tag}-{number}",
                    task_queue=self._task_queue,
                )

        async def all_parked() -> None:
            await asyncio.gather(*(start(i) for i in range(count)))
            await self._notifier.wait_count(target)

        begin = now()
        await bounded(f"parking {count} bare workflows", time_limit(count), all_parked())
        return now() - begin

    async def _fan_out(self, kind: str, count: int, steps: int) -> FanOut:
        """Start ``count`` runs of ``steps`` rounds, answer every step, wait until all closed."""
        prefix = f"bench-{kind}-{uuid.uuid4().hex[:8]}-"
        gate = asyncio.Semaphore(MAX_PARALLEL_STARTS)
        begin, begin_wall = now(), wall()

        async def drive(wid: str) -> float:
            steps_ran = self._notifier.watch(wid)
            try:
                async with gate:
                    handle = await self._client.start_workflow(
                        StepRoundsWorkflow.run,
                        RoundsInput(rounds=steps),
                        id=wid,
                        task_queue=self._task_queue,
                    )
                started = now()
                for _ in range(steps):
                    await steps_ran.get()
                    await handle.signal(StepRoundsWorkflow.report)
                return started
            finally:
                self._notifier.forget(wid)

        starts = await bounded(
            f"driving {count} bare runs of {steps} steps",
            time_limit(count * steps),
            asyncio.gather(*(drive(f"{prefix}{i}") for i in range(count))),
        )
        closed = await wait_closed(self._client, f"WorkflowId STARTS_WITH '{prefix}'", count)
        return FanOut(begin=begin_wall, starts_seconds=max(starts) - begin, closed=closed)

    async def _run(self, workflow_id: str, rounds: int) -> RunMarks:
        """Start one run, signal after each of its steps, wait for its result."""
        steps = self._notifier.watch(workflow_id)
        marks = RunMarks(called=now())
        try:
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
        max_cached_workflows=BARE_MAX_CACHED,
        workflow_runner=UnsandboxedWorkflowRunner(),  # as mdmflow's worker runs them
    ):
        yield Baseline(client, task_queue, notifier)
