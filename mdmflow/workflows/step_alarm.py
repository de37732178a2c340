"""One workflow timer kept across steps, in place of a timer started and cancelled per step.

A step waits for its answers until its deadline or the next re-push, whichever is sooner.
Waiting with ``workflow.wait_condition(..., timeout=...)`` starts a timer for every step and
cancels it when the answers come: two commands and two history events per step, and a timer
the server files and then removes, for a wake-up that almost never happens (steps answer in
seconds; the timeout is days). The alarm keeps the timer it has while that timer rings no
later than the step needs: steps of one timeout taken one after another all rise later than
the first step's, so one timer serves them all. When it rings early the waiting step arms it
again for its own time; the cost is one spare wake-up per step timeout, not two commands per
step. A timer left pending when the workflow ends is dropped by the server with the run.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow


class StepAlarm:
    """The pending wake-up of a workflow's steps: when it rings, and whether it has."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._at = datetime.min

    @property
    def rang(self) -> bool:
        """True once the armed timer fired (and until the alarm is armed again)."""
        return self._task is not None and self._task.done()

    def arm(self, wake: datetime) -> None:
        """Make sure the alarm rings at ``wake`` or before (``wake`` is later than now): keep
        a pending timer that rings no later, else replace it, cancelling a later one so it
        cannot wake the run for nothing."""
        if self._task is not None and not self._task.done():
            if self._at <= wake:
                return
            self._task.cancel()
        delay = wake - workflow.now()
        self._task = asyncio.create_task(asyncio.sleep(delay.total_seconds()))
        self._at = wake
