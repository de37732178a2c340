"""The baseline's step activity and its hand-off to the driver that plays the device.

The activity does nothing but tell the waiting driver "the step ran" through an asyncio
queue, so the driver signals at once: no polling, no sleeps, and no HTTP in between. When the
bare worker runs in its own process, the same notifier is fed from a socket instead (see
``notify_link``); the driver does not know the difference.
"""

from __future__ import annotations

import asyncio

from temporalio import activity

from bench.measure import now
from bench.rounds_workflow import STEP_ACTIVITY

BARE_MAX_CACHED = 2000
"""The bare worker's workflow cache: the size mdmflow's ``build_worker`` uses (at the time of
writing), so parked-workflow memory compares the same caching, not two policies."""


class StepNotifier:
    """Per workflow ID, a queue of the times its step activity ran; and how many ran at all."""

    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[float]] = {}
        self._count = 0
        self._changed = asyncio.Event()

    def watch(self, workflow_id: str) -> asyncio.Queue[float]:
        """Register before starting the workflow, so its first step is never missed."""
        queue: asyncio.Queue[float] = asyncio.Queue()
        self._queues[workflow_id] = queue
        return queue

    def forget(self, workflow_id: str) -> None:
        self._queues.pop(workflow_id, None)

    def notify(self, workflow_id: str, at: float) -> None:
        """A step of ``workflow_id`` ran at ``at``; watched or not, it is counted."""
        queue = self._queues.get(workflow_id)
        if queue is not None:
            queue.put_nowait(at)
        self._count += 1
        self._changed.set()

    @property
    def count(self) -> int:
        return self._count

    async def wait_count(self, target: int) -> None:
        """Until at least ``target`` steps ran in all (parked workflows are only counted)."""
        while self._count < target:
            self._changed.clear()
            await self._changed.wait()

    @activity.defn(name=STEP_ACTIVITY)
    async def step(self) -> None:
        workflow_id = activity.info().workflow_id
        if workflow_id:
            self.notify(workflow_id, now())
