"""``bench.steps``: one device doing K DeviceInformation steps in ONE workflow (bench only).

mdmflow has no production workflow of K identical steps, yet that is what the bare K-step loop
(``bench.StepRounds`` with K rounds) measures: a step's cost without a start and a completion
around each. This is that loop written as mdmflow workflows are, on the engine's public
``step`` API, so the engine's per-step cost can be compared like with like. It is registered
with the bench's worker through ``build_worker(extra_workflows=...)`` and never with mdmflow's.

Kept like a production workflow module (its imports passed through), so the sandbox's work
per run is what mdmflow's own workflows cost, not more.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.mdm.commands import DeviceInformation
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.errors import ContextError
    from mdmflow.workflows.models import StepError, WorkflowStart
    from mdmflow.workflows.workflow_config import WorkflowConfig

STEPS_WORKFLOW = "bench.steps"
QUERIES = ["UDID", "SerialNumber", "Model", "ModelName", "DeviceName", "OSVersion", "BuildVersion"]
"""The same queries as devinfolog, so each step's command and answer are a real one's size."""


def _step(number: int) -> str:
    """The name of the ``number``-th step (from 1); the first is set by the starter, as every
    production workflow's ``first_step`` is."""
    return f"step {number}"


@workflow.defn(name=STEPS_WORKFLOW, failure_exception_types=BAD_INPUT)
class BenchStepsWorkflow(MDMWorkflow[int, int]):
    """The start context is K; every step must be acknowledged; the result is K."""

    config = WorkflowConfig(
        name=STEPS_WORKFLOW, summary="Bench: K DeviceInformation steps", first_step=_step(1)
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> int:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> int:
        try:
            steps = int(start.context)
        except ValueError:
            raise ContextError(
                f"the context must be the number of steps, got {start.context!r}"
            ) from None
        if steps < 1:
            raise ContextError(f"the number of steps must be at least 1, got {steps}")
        return steps

    async def steps(self, start: int) -> int:
        for number in range(1, start + 1):
            answer = await self.step(_step(number), [DeviceInformation(queries=QUERIES)])
            if answer.timed_out:
                raise StepError(f"step {number}: no answer before the step timeout")
            info = answer.of_type("DeviceInformation")
            if not info.acknowledged:
                raise StepError(f"step {number}: DeviceInformation answered {info.status}")
        return start
