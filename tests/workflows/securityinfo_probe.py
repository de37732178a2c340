"""A test-only workflow that sends nothing but ``SecurityInfo``: another workflow's SecurityInfo,
as FileVault's polls are, which the inventory's event handler must store as well."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.mdm.commands import SecurityInfo
    from mdmflow.workflows.engine import MDMWorkflow, mdm_workflow
    from mdmflow.workflows.models import StepResult, WorkflowStart

SECURITY_INFO_PROBE = "test.inventory.securityinfo"


@mdm_workflow(SECURITY_INFO_PROBE, summary="Send SecurityInfo only")
class SecurityInfoProbeWorkflow(MDMWorkflow[WorkflowStart, StepResult]):
    """One step with one SecurityInfo; the step result is the workflow's result."""

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> WorkflowStart:
        return start

    async def steps(self, start: WorkflowStart) -> StepResult:
        return await self.step("", [SecurityInfo()])
