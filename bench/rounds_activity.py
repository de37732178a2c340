"""The baseline's step activity and its hand-off to the driver that plays the device.

The activity does nothing but tell the waiting driver "the step ran" through an asyncio
queue, so the driver signals at once: no polling, no sleeps, and no HTTP in between.
"""

from __future__ import annotations

import asyncio

from temporalio import activity

from bench.measure import now
from bench.rounds_workflow import STEP_ACTIVITY


class StepNotifier:
    """Per workflow ID, a queue of the times its step activity ran."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[float]] = {}

    def watch(self, workflow_id: str) -> asyncio.Queue[float]:
        """Register before starting the workflow, so its first step is never missed."""
        queue: asyncio.Queue[float] = asyncio.Queue()
        self._queues[workflow_id] = queue
        return queue

    def forget(self, workflow_id: str) -> None:
        self._queues.pop(workflow_id, None)

    @activity.defn(name=STEP_ACTIVITY)
    async def step(self) -> None:
        workflow_id = activity.info().workflow_id
        queue = self._queues.get(workflow_id) if workflow_id else None
        if queue is not None:
            queue.put_nowait(now())
