"""A test-only workflow that sends nothing but ``SecurityInfo``: another workflow's SecurityInfo,
as FileVault's polls are, which the inventory's event handler must store as well."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.mdm.commands import SecurityInfo
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.models import StepResult, WorkflowStart
    from mdmflow.workflows.workflow_config import WorkflowConfig

SECURITY_INFO_PROBE = "test.inventory.securityinfo"


@workflow.defn(name=SECURITY_INFO_PROBE, failure_exception_types=BAD_INPUT)
class SecurityInfoProbeWorkflow(MDMWorkflow[WorkflowStart, StepResult]):
    """One step with one SecurityInfo; the step result is the workflow's result."""

    config = WorkflowConfig(name=SECURITY_INFO_PROBE, summary="Send SecurityInfo only")

    @workflow.run
    async def run(self, start: WorkflowStart) -> StepResult:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> StepResult:
        return await self.step("", [SecurityInfo()])
