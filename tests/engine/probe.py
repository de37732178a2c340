"""Test-only workflows that exercise every engine rule through the public ``step`` API."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ValidationError
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.mdm.commands import (
        DeviceConfigured,
        DeviceInformation,
        MDMCommand,
        ProfileList,
        SecurityInfo,
    )
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.errors import ContextError
    from mdmflow.workflows.models import StepResult, WorkflowStart
    from mdmflow.workflows.workflow_config import WorkflowConfig

COMMANDS: dict[str, MDMCommand] = {
    "DeviceInformation": DeviceInformation(queries=["UDID", "SerialNumber"]),
    "SecurityInfo": SecurityInfo(),
    "ProfileList": ProfileList(managed_only=True),
    "DeviceConfigured": DeviceConfigured(),
}


class ProbeStep(BaseModel):
    name: str
    commands: list[str]
    timeout_s: int | None = None
    not_until_s: int | None = None


class ProbeStart(BaseModel):
    steps: list[ProbeStep]


class ProbeOutcome(BaseModel):
    results: list[StepResult]


def parse_probe(start: WorkflowStart) -> ProbeStart:
    try:
        return ProbeStart.model_validate_json(start.context)
    except ValidationError as exc:
        raise ContextError(str(exc)) from None


class _ProbeBase(MDMWorkflow[ProbeStart, ProbeOutcome]):
    @classmethod
    def parse_start(cls, start: WorkflowStart) -> ProbeStart:
        return parse_probe(start)

    async def steps(self, start: ProbeStart) -> ProbeOutcome:
        results = []
        for spec in start.steps:
            not_until = None
            if spec.not_until_s is not None:
                not_until = workflow.now() + timedelta(seconds=spec.not_until_s)
            results.append(
                await self.step(
                    spec.name,
                    [COMMANDS[c] for c in spec.commands],
                    timeout=timedelta(seconds=spec.timeout_s) if spec.timeout_s else None,
                    not_until=not_until,
                )
            )
        return ProbeOutcome(results=results)


@workflow.defn(name="test.engine.probe", failure_exception_types=BAD_INPUT)
class ProbeWorkflow(_ProbeBase):
    """Sends the steps its JSON context lists and returns every StepResult."""

    config = WorkflowConfig(name="test.engine.probe", summary="Engine probe")

    @workflow.run
    async def run(self, start: WorkflowStart) -> ProbeOutcome:
        return await self.execute(start)


@workflow.defn(name="test.engine.probe.slow", failure_exception_types=BAD_INPUT)
class SlowProbeWorkflow(_ProbeBase):
    """The same, with a workflow-level step timeout between the step's and the engine's."""

    config = WorkflowConfig(
        name="test.engine.probe.slow",
        summary="Engine probe with a workflow step timeout",
        step_timeout=timedelta(hours=5),
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> ProbeOutcome:
        return await self.execute(start)


@workflow.defn(name="test.engine.probe.multi", failure_exception_types=BAD_INPUT)
class MultiProbeWorkflow(_ProbeBase):
    """The same, but NanoCMD's MultipleSimultaneous: instances may overlap per enrollment."""

    config = WorkflowConfig(
        name="test.engine.probe.multi",
        summary="Engine probe, MultipleSimultaneous",
        exclusive=False,
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> ProbeOutcome:
        return await self.execute(start)


PROBES = (ProbeWorkflow, SlowProbeWorkflow, MultiProbeWorkflow)
