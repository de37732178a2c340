"""``io.micromdm.wf.cmdplan.v1``: send a command plan (profiles, apps, DeviceConfigured).

Usually started by an Enrollment event subscription: the context is the plan name, in which
``${param}`` / ``${param:fallback}`` are expanded from the enrollment's URL params (so one
subscription can pick a plan per site or department). One step sends an ``InstallProfile`` per
profile, an ``InstallApplication`` per manifest URL and, only for an Enrollment whose
TokenUpdate says ``AwaitingConfiguration`` (Setup Assistant is waiting), ``DeviceConfigured``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from mdmflow.activities.content_models import (
        CmdPlanRequirement,
        LoadedCmdPlan,
        StartRequirements,
    )
    from mdmflow.mdm.checkin import TokenUpdate
    from mdmflow.mdm.commands import (
        DeviceConfigured,
        InstallApplication,
        InstallProfile,
        MDMCommand,
    )
    from mdmflow.workflows.content import load_cmdplan
    from mdmflow.workflows.engine import MDMWorkflow, mdm_workflow
    from mdmflow.workflows.errors import ContextError
    from mdmflow.workflows.expand import expand_params
    from mdmflow.workflows.models import EventType, MDMEvent, StepResult, WorkflowStart
    from mdmflow.workflows.outcomes import CommandOutcome, outcome, status_counts

CMDPLAN = "io.micromdm.wf.cmdplan.v1"
MANAGED_APP = 1
"""``ManagementFlags`` NanoCMD sends: remove the app when the MDM profile is removed."""

DeviceConfiguredDecision = Literal["sent", "not in plan", "skipped"]


class CmdPlanStart(BaseModel):
    """The plan to send (its name expanded) and whether DeviceConfigured may be sent."""

    model_config = ConfigDict(frozen=True)
    plan: str
    template: str
    device_configured_allowed: bool

    def requirement(self) -> CmdPlanRequirement:
        return CmdPlanRequirement(
            name=self.plan, device_configured_allowed=self.device_configured_allowed
        )


class CmdPlanResult(BaseModel):
    """Per command, how it ended; plus what became of DeviceConfigured and why."""

    enrollment_id: str
    plan: str
    commands: list[CommandOutcome]
    device_configured: DeviceConfiguredDecision
    timed_out: bool = False
    counts: dict[str, int] = Field(default_factory=dict)


def awaiting_configuration(event: MDMEvent | None) -> bool:
    """NanoCMD's rule: an Enrollment event whose TokenUpdate has AwaitingConfiguration."""
    return (
        event is not None
        and event.type is EventType.ENROLLMENT
        and isinstance(event.checkin, TokenUpdate)
        and event.checkin.awaiting_configuration
    )


def parse_cmdplan_start(start: WorkflowStart) -> CmdPlanStart:
    if not start.context:
        raise ContextError("missing cmdplan name")
    plan = expand_params(start.context, start.url_params)
    if not plan:
        raise ContextError(
            f"cmdplan name {start.context!r} expands to nothing with URL params "
            f"{sorted(start.url_params) or 'none'}"
        )
    return CmdPlanStart(
        plan=plan,
        template=start.context,
        device_configured_allowed=awaiting_configuration(start.event),
    )


def plan_commands(
    plan: LoadedCmdPlan, device_configured_allowed: bool
) -> tuple[list[tuple[MDMCommand, str]], DeviceConfiguredDecision]:
    """The plan's commands in NanoCMD's order, each with what it is about."""
    commands: list[tuple[MDMCommand, str]] = [
        (InstallProfile.from_store(p.name), p.name) for p in plan.profiles
    ]
    commands += [
        (InstallApplication(manifest_url=url, management_flags=MANAGED_APP), url)
        for url in plan.manifest_urls
    ]
    decision: DeviceConfiguredDecision = "not in plan"
    if plan.device_configured:
        decision = "sent" if device_configured_allowed else "skipped"
        if device_configured_allowed:
            commands.append((DeviceConfigured(), ""))
    return commands, decision


def plan_result(
    start: CmdPlanStart,
    enrollment_id: str,
    targets: list[str],
    done: StepResult,
    device_configured: DeviceConfiguredDecision,
) -> CmdPlanResult:
    outcomes = [outcome(r, t) for r, t in zip(done.commands, targets, strict=True)]
    return CmdPlanResult(
        enrollment_id=enrollment_id,
        plan=start.plan,
        commands=outcomes,
        device_configured=device_configured,
        timed_out=done.timed_out,
        counts=status_counts(outcomes),
    )


@mdm_workflow(CMDPLAN, summary="Send a command plan (profiles, apps, DeviceConfigured)")
class CmdPlanWorkflow(MDMWorkflow[CmdPlanStart, CmdPlanResult]):
    """Load the plan and its profiles, send every command in one step, report each."""

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
