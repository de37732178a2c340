"""``io.micromdm.wf.cmdplan.v1``: send a command plan (profiles, apps, DeviceConfigured).

Usually started by an Enrollment event subscription: the context is the plan name, in which
``${param}`` / ``${param:fallback}`` are expanded from the enrollment's URL params (so one
subscription can pick a plan per site or department). One step sends an ``InstallProfile`` per
profile, an ``InstallApplication`` per manifest URL and, only for an Enrollment whose
TokenUpdate says ``AwaitingConfiguration`` (Setup Assistant is waiting), ``DeviceConfigured``.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.content_models import StartRequirements
    from mdmflow.workflows.cmdplan_plan import (
        CMDPLAN,
        CmdPlanResult,
        CmdPlanStart,
        parse_cmdplan_start,
        plan_commands,
        plan_result,
    )
    from mdmflow.workflows.content import load_cmdplan
    from mdmflow.workflows.engine import BAD_INPUT, MDMWorkflow
    from mdmflow.workflows.models import WorkflowStart
    from mdmflow.workflows.workflow_config import WorkflowConfig


@workflow.defn(name=CMDPLAN, failure_exception_types=BAD_INPUT)
class CmdPlanWorkflow(MDMWorkflow[CmdPlanStart, CmdPlanResult]):
    """Load the plan and its profiles, send every command in one step, report each."""

    config = WorkflowConfig(
        name=CMDPLAN,
        summary="Send a command plan (profiles, apps, DeviceConfigured)",
        first_step="plan",
    )

    @workflow.run
    async def run(self, start: WorkflowStart) -> CmdPlanResult:
        return await self.execute(start)

    @classmethod
    def parse_start(cls, start: WorkflowStart) -> CmdPlanStart:
        return parse_cmdplan_start(start)

    @classmethod
    def requirements(cls, start: CmdPlanStart) -> StartRequirements:
        return StartRequirements(cmdplan=start.requirement())

    async def steps(self, start: CmdPlanStart) -> CmdPlanResult:
        plan = await load_cmdplan(start.requirement())
        commands, device_configured = plan_commands(plan, start.device_configured_allowed)
        if device_configured == "skipped":
            workflow.logger.info(
                "DeviceConfigured skipped: not an Enrollment awaiting configuration",
                extra={"enrollment_id": self.enrollment_id, "cmdplan": start.plan},
            )
        done = await self.step("plan", [command for command, _ in commands])
        result = plan_result(
            start, self.enrollment_id, [t for _, t in commands], done, device_configured
        )
        counts = {f"count_{status}": n for status, n in result.counts.items()}
        workflow.logger.info("cmdplan sent", extra={"cmdplan": start.plan, **counts})
        return result
