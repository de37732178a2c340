"""The baseline: a bare Temporal workflow doing what one MDM step costs Temporal.

Each round runs one trivial activity and then waits for one signal, like an MDM step
(enqueue activity, then the device's report as a signal), with none of our code around it.
Only temporalio is imported: the worker's sandbox re-imports this module for every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

STEP_ACTIVITY = "bench.step"
REPORT_SIGNAL = "bench.report"
WORKFLOW_NAME = "bench.StepRounds"


@dataclass(frozen=True)
class RoundsInput:
    """How many step rounds one run performs (1 = a run per step, like devinfolog)."""

    rounds: int


@workflow.defn(name=WORKFLOW_NAME)
class StepRoundsWorkflow:
    """Per round: run the step activity, then wait for the driver's report signal."""

    def __init__(self) -> None:
        self._reports = 0
        self._round = 0

    @workflow.run
    async def run(self, params: RoundsInput) -> int:
        for current in range(1, params.rounds + 1):
            self._round = current
            await workflow.execute_activity(
                STEP_ACTIVITY, start_to_close_timeout=timedelta(seconds=60)
            )
            await workflow.wait_condition(self._answered)
        return self._reports

    def _answered(self) -> bool:
        return self._reports >= self._round

    @workflow.signal(name=REPORT_SIGNAL)
    def report(self) -> None:
        self._reports += 1
